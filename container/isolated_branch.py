"""`claudex apply --branch`: the commits an isolated session made on `claudex/<session>`,
fetched into the user's repository as that branch (the only write to the user's `.git`).

The session's clone is agent-written, so the host never runs git in it (no upload-pack, no
config or hooks of its own): git makes a bundle of the branch INSIDE the session, as the
agent, and the host keeps only its bytes (size-capped). Those bytes are unpacked into a
quarantine repository of claudex's own (host side, borrowing the user's objects through
alternates), and the user's repository fetches the branch from there with every object
checked (`transfer.fsckObjects`): a malformed object is refused before anything lands. The
refspec names that one branch, without `+` (a branch the user moved on is never rewound),
no tags, no FETCH_HEAD; git runs with hooks off and no fsmonitor.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from container import labels
from container.errors import ClaudexError, UsageError
from container.isolated import _git, base_of, check_copy_path, copies_of, git_head, session_folder
from container.isolated_base import GitBase, open_base
from container.sizes import human_bytes

BUNDLE_SECONDS = 600.0
SPARE = 64 << 20  # bytes left free on the host beyond the bundle


def branch_ref(session: str) -> str:
    ref = f"refs/heads/claudex/{session}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", session) or ".." in session:
        raise UsageError(f"session name {session!r} cannot be a git branch name")
    if session.endswith((".", ".lock")):
        raise UsageError(f"session name {session!r} cannot be a git branch name")
    return ref


def _started_from(directory: str, copy: str) -> str:
    """The commit the user's repository had checked out when the copy was made (the base's
    parent: claudex's own repository, trusted); the user's HEAD now if the base is a copy."""
    base = open_base(base_of(copy))
    if isinstance(base, GitBase):
        proc = _git("--git-dir", base.repo, "rev-parse", "--verify", "-q", base.commit + "^1")
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    head = git_head(directory)
    if head is None:
        raise ClaudexError(f"{directory} is not a git repository with a commit any more")
    return head


def _target_of(api: Any, session: labels.SessionInfo, copy: str) -> str:
    """Where `copy` is mounted in the session, from the engine (never from a file)."""
    info = api.inspect_container(session.id)
    if not (info.get("State") or {}).get("Running"):
        raise ClaudexError(
            f"session {session.name} is not running: its branch is bundled inside it",
            f"start it (`claudex --name {session.name}`), then apply again",
        )
    for m in info.get("Mounts") or []:
        if m.get("Source") == copy and m.get("Destination"):
            return str(m["Destination"])
    raise ClaudexError(f"session {session.name} does not mount its copy {copy}")


def _bundle(api: Any, session: labels.SessionInfo, target: str, ref: str, since: str,
            out_path: str, limit: int) -> None:  # fmt: skip
    """`git bundle create - REF --not SINCE` run as the agent in the session, its output
    written to `out_path` (at most `limit` bytes, within BUNDLE_SECONDS)."""
    user = labels.agent_user(session.labels)
    if user is None:
        raise ClaudexError(f"session {session.name} has no agent user to make the bundle as")
    cmd = ["git", "-c", "core.fsmonitor=false", "-C", target, "bundle", "create", "-", ref,
           "--not", since]  # fmt: skip
    exec_id = api.exec_create(session.id, cmd, stdout=True, stderr=True, user=user, workdir="/")
    stream = api.exec_start(exec_id["Id"], stream=True, demux=True)
    why: list[str] = []

    def end(reason: str) -> None:
        why.append(reason)
        with suppress(Exception):
            stream.close()

    timer = threading.Timer(BUNDLE_SECONDS, end, (f"took more than {BUNDLE_SECONDS:.0f}s",))
    timer.daemon = True
    timer.start()
    err = bytearray()
    size = 0
    try:
        with open(out_path, "wb") as fh:
            for chunk_out, chunk_err in stream:
                if chunk_out:
                    size += len(chunk_out)
                    if size > limit:
                        end(f"is larger than {human_bytes(limit)}, the space free for it")
                        break
                    fh.write(chunk_out)
                if chunk_err and len(err) < 4096:
                    err += chunk_err
    except Exception:
        if not why:
            raise
    finally:
        timer.cancel()
        with suppress(Exception):
            stream.close()
    if why:
        raise ClaudexError(f"the bundle of {ref} in {session.name} {why[0]}")
    code = api.exec_inspect(exec_id["Id"]).get("ExitCode")
    if code:
        from container.diff_text import printable

        text = printable(err.decode(errors="replace").strip())[:300]
        if "empty bundle" in text:
            raise ClaudexError(
                f"the session made no commits on claudex/{session.name}",
                "its uncommitted changes are applied as files: `claudex apply`",
            )
        raise ClaudexError(f"cannot bundle claudex/{session.name} in the session: {text}")


def _quarantine(directory: str, folder: str) -> str:
    """A bare repository of claudex's own that borrows the user's objects (read only)."""
    q = os.path.join(folder, "quarantine.git")
    proc = _git("init", "-q", "--bare", "--template=", q)
    if proc.returncode != 0:
        raise ClaudexError(f"cannot make a repository in {folder}: {proc.stderr.strip()}")
    objects = os.path.realpath(os.path.join(directory, ".git", "objects"))
    with open(os.path.join(q, "objects", "info", "alternates"), "w") as fh:
        fh.write(objects + "\n")
    return q


def fetch_bundle(directory: str, bundle: str, session: str, folder: str) -> None:
    """Branch claudex/<session> of the (hostile) bundle file fetched into the user's
    repository at `directory`, every object checked; nothing else of the bundle is written.
    `folder` (host side, claudex's) holds the quarantine repository meanwhile."""
    ref = branch_ref(session)
    q = _quarantine(directory, folder)
    try:
        proc = _git("--git-dir", q, "fetch", "-q", "--no-tags", "--no-write-fetch-head",
                    bundle, f"+{ref}:{ref}")  # fmt: skip
        if proc.returncode != 0:
            raise ClaudexError(
                f"the session's bundle of claudex/{session} cannot be read",
                proc.stderr.strip()[-500:] or None,
            )
        # (the user's config stays, but nothing runs or is written beyond the one ref)
        # (fetch.fsckObjects too: the user's own config may turn it off, and it wins)
        proc = _git("-C", directory, "-c", "transfer.fsckObjects=true",
                    "-c", "fetch.fsckObjects=true", "-c", "gc.auto=0",
                    "-c", "maintenance.auto=false", "-c", "fetch.writeCommitGraph=false",
                    "fetch", "-q", "--no-tags", "--no-prune", "--no-write-fetch-head",
                    "--no-recurse-submodules", q, f"{ref}:{ref}")  # fmt: skip
        if proc.returncode != 0:
            err = proc.stderr.strip()
            if "non-fast-forward" in err or "rejected" in err:
                raise ClaudexError(
                    f"{directory}: branch claudex/{session} has commits that are not "
                    "the session's: nothing was written",
                    "rename or delete that branch, then apply --branch again",
                )
            raise ClaudexError(
                f"{directory}: the session's commits were refused, nothing was written",
                err[-500:] or None,
            )
    finally:
        shutil.rmtree(q, ignore_errors=True)


def fetch_branch(
    client: Any, session: labels.SessionInfo, step: Callable[[str], None] = lambda _m: None
) -> int:
    """Fetch the session's branch into each of its git repositories; how many were updated."""
    api = getattr(client, "api", client)
    ref = branch_ref(session.name)
    copies = copies_of(session.labels)
    repos = {d: c for d, c in sorted(copies.items()) if git_head(d) is not None}
    if not repos:
        raise UsageError(
            f"session {session.name} works on no git repository",
            "`claudex apply` brings its files in",
        )
    fetched = 0
    for directory, copy in repos.items():
        check_copy_path(session.name, copy)
        since = _started_from(directory, copy)
        target = _target_of(api, session, copy)
        folder = session_folder(session.name)
        with tempfile.TemporaryDirectory(prefix="branch-", dir=folder) as tmp:
            st = os.statvfs(tmp)
            limit = max(0, st.f_bavail * st.f_frsize - SPARE) // 2  # the bundle, then its pack
            bundle = os.path.join(tmp, "session.bundle")
            _bundle(api, session, target, ref, since, bundle, limit)
            fetch_bundle(directory, bundle, session.name, tmp)
        step(f"{directory}: branch claudex/{session.name} has the session's commits")
        fetched += 1
    return fetched
