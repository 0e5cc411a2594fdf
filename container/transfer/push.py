"""Push: host files into a session, as a tar archive streamed through the Engine API.

One exec lists what already exists under the names being pushed, so existing files are
skipped (or, with force, replaced) file by file, also inside directories that merge. Regular
files travel under temporary names and are renamed into place by a second exec once the whole
archive is in: a cancelled push leaves no partial file under a final name. The engine writes
the archive as root, following links on the way, so the session is paused while it does, after
checking that no folder on the way became a link (the agent owns them all); every other step
(checks, renames, cleanup) runs as the agent user.

Cancelling: pass a `CancelToken` (or a progress callback that raises); the archive is a
generator made as it is sent, so the push stops between chunks. Whatever ends a push, the
session is resumed and its staged files are removed (container/transfer/staging.py).
"""

from __future__ import annotations

import contextlib
import posixpath
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from container import scripts
from container.engine import engine_errors
from container.errors import ClaudexError, SessionNotRunning, UsageError
from container.transfer.cancel import Cancelled, CancelToken, uninterrupted
from container.transfer.common import (
    GO_SYMLINK,
    MANIFEST_PREFIX,
    Progress,
    TransferReport,
    container_path,
    counter,
    is_dir_stat,
    run_script,
    stat_path,
)
from container.transfer.push_archive import Item, PushArchive, plan
from container.transfer.staging import cleanup, host_dir

if TYPE_CHECKING:
    from docker import APIClient


_CHECK_SCRIPT = scripts.source("push_check.sh")


# Staged files onto their final names, as the agent user (never overwriting without force).
_RENAME_SCRIPT = scripts.source("push_rename.sh")


def _existing(
    api: APIClient, container_id: str, dest: str, names: list[str], user: str
) -> dict[str, str]:
    """Type letter (find's %y) of every existing path under `names` in `dest`; checks that
    `dest` is a directory the agent user can write."""
    code, out, err = run_script(api, container_id, _CHECK_SCRIPT, dest, *names, user=user)
    if code == 10:
        raise UsageError(f"{dest} does not exist in the session", "create it, or pick --to DIR")
    if code == 11:
        raise UsageError(f"{dest} in the session is not a directory")
    if code == 12:
        raise UsageError(
            f"the agent user cannot write into {dest} in the session",
            "pick a directory the agent can write (e.g. /workspace or one of its mounts)",
        )
    if code:
        raise ClaudexError(f"cannot look into {dest} in the session: {err or code}")
    found: dict[str, str] = {}
    for record in out.split(b"\0"):
        if record:
            kind, _, rel = record.decode(errors="surrogateescape").partition("\t")
            found[rel.removeprefix("./")] = kind
    return found


@contextlib.contextmanager
def _frozen(api: APIClient, container_id: str) -> Iterator[None]:
    """The session paused: the engine writes the archive as root, resolving `dest` and the
    folders it merges into as they are at that moment, and the agent owns them. Running, it
    could swap one for a link to a root folder between the check and the write (a pushed
    `bin/` would then hand it /usr/local/bin). Paused, nothing changes until the write ends."""
    paused = False
    try:
        with uninterrupted(), engine_errors("pausing the session for the copy"):
            api.pause(container_id)
            paused = True
        yield
    finally:
        if paused:
            with uninterrupted(), engine_errors("resuming the session after the copy"):
                _unpause(api, container_id)


def _unpause(api: APIClient, container_id: str) -> None:
    """Resume the session unless it is no longer paused (stopped, destroyed meanwhile)."""
    from docker.errors import APIError, NotFound

    try:
        api.unpause(container_id)
    except NotFound:
        return
    except APIError:
        try:
            state = api.inspect_container(container_id).get("State") or {}
        except NotFound:
            return
        if state.get("Paused"):
            raise


def _merged_into(items: list[Item], existing: dict[str, str]) -> list[str]:
    """Existing folders (relative to dest) that the archive writes into."""
    merged: set[str] = set()
    for item in items:
        parent = posixpath.dirname(item.arcname)
        while parent and parent not in merged and existing.get(parent) == "d":
            merged.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(merged)


def _still_directories(api: APIClient, container_id: str, dest: str, merged: list[str]) -> None:
    """With the session paused: `dest`, every folder above it, and the folders merged into
    are real directories (no link anywhere on the way), as when the agent user checked."""
    parts = dest.strip("/").split("/")
    paths = ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1) if parts[0]]
    paths += [posixpath.join(dest, rel) for rel in merged]
    for path in paths:
        st = stat_path(api, container_id, path)
        if st is None or not is_dir_stat(st) or int(st.get("mode", 0)) & GO_SYMLINK:
            raise UsageError(
                f"{path} in the session is no longer a directory (a link or something else is "
                "there now); nothing was copied",
                "push to the real path of the directory",
            )


def _put(api: APIClient, container_id: str, dest: str, data: PushArchive) -> None:
    url = api._url("/containers/{0}/archive", container_id)
    # noOverwriteDirNonDir: the engine must never replace a directory by a file or the
    # reverse (it would delete the whole directory); the plan already refuses those.
    params = {"path": dest, "noOverwriteDirNonDir": "1"}
    with engine_errors(f"copying into {dest}"):
        res = api._put(url, params=params, data=data)
        api._raise_for_status(res)


def push(
    api: APIClient,
    container_id: str,
    sources: list[str],
    dest: str,
    *,
    uid: int,
    gid: int,
    force: bool = False,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    names: list[str] | None = None,
) -> TransferReport:
    """Copy host paths into `dest` (a container directory the agent can write), owned by the
    agent user. `names` gives each source another name in `dest` (default: its basename)."""
    tops: list[tuple[Path, str]] = []
    for i, s in enumerate(sources):
        p = Path(s)
        if not p.exists() and not p.is_symlink():
            raise UsageError(f"no such file or directory: {p}")
        if p.name in ("", ".", ".."):
            p = p.resolve()
        name = names[i] if names else p.name
        if not name or "/" in name or name in (".", ".."):
            raise UsageError(f"invalid name in the session: {name!r}")
        tops.append((p, name))
    dest = container_path(dest)
    if cancel:
        cancel.check()
    user = f"{uid}:{gid}"
    existing = _existing(api, container_id, dest, [n for _, n in tops], user)
    host = host_dir(api, container_id, dest)
    token = secrets.token_hex(6)
    items, report, total = plan(tops, existing, force, token)
    report.skipped = [posixpath.join(dest, rel) for rel in report.skipped]
    report.written = [posixpath.join(dest, i.arcname) for i in items]
    if not items:
        return report
    staged = [(i.temp, i.arcname) for i in items if i.temp]
    manifest_name = f"{MANIFEST_PREFIX}{token}"
    manifest = None
    if staged:
        data = b"".join(f"{t}\0{f}\0".encode(errors="surrogateescape") for t, f in staged)
        manifest = (manifest_name, data)
    advance = counter(total, progress, cancel)
    archive = PushArchive(items, manifest, uid, gid, advance)
    dirs = [n for p, n in tops if p.is_dir() and not p.is_symlink()]
    try:
        with _frozen(api, container_id):
            _still_directories(api, container_id, dest, _merged_into(items, existing))
            _put(api, container_id, dest, archive)
        if cancel:
            cancel.check()
    except BaseException as exc:
        with uninterrupted():
            cleanup(api, container_id, dest, token, dirs, user, host)
            _session_gone(api, container_id, exc)
        raise
    if staged:
        try:
            with uninterrupted():  # a few renames: once begun, they end
                code, out, err = run_script(
                    api,
                    container_id,
                    _RENAME_SCRIPT,
                    dest,
                    manifest_name,
                    "1" if force else "0",
                    user=user,
                )
        except BaseException as exc:
            with uninterrupted():
                cleanup(api, container_id, dest, token, dirs, user, host)
                _session_gone(api, container_id, exc)
            raise
        problems: set[str] = set()
        for record in out.split(b"\0"):
            if record:
                what, _, rel = record.decode(errors="surrogateescape").partition("\t")
                problems.add(rel)
                if what == "S":
                    report.skipped.append(posixpath.join(dest, rel))
                else:
                    report.refused.append(f"{rel}: the agent user cannot write it")
        if problems or code:
            with uninterrupted():
                cleanup(api, container_id, dest, token, dirs, user, host)
        if code:
            with uninterrupted():  # killed with the session, it says nothing: say why
                _session_gone(api, container_id, ClaudexError(err))
            reason = err or f"exit code {code}"
            raise ClaudexError(f"cannot move the pushed files into place in {dest}: {reason}")
        report.written = [
            posixpath.join(dest, i.arcname) for i in items if i.arcname not in problems
        ]
    report.bytes = total
    return report


def _session_gone(api: APIClient, container_id: str, exc: BaseException) -> None:
    """An engine error because the session stopped or went mid-way says so."""
    stopped = isinstance(exc, ClaudexError) and not isinstance(exc, Cancelled)
    if stopped and not _running_after_a_moment(api, container_id):
        raise SessionNotRunning(
            "the session stopped or was removed during the push; nothing partial was left",
            "start it and push again",
        ) from None


def _running_after_a_moment(api: APIClient, container_id: str, wait: float = 3.0) -> bool:
    """A session being stopped still shows running for up to its stop timeout after its
    commands were killed: an error path can afford to look until it settles."""
    deadline = time.monotonic() + wait
    while _running(api, container_id):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)
    return False


def _running(api: APIClient, container_id: str) -> bool:
    try:
        return bool((api.inspect_container(container_id).get("State") or {}).get("Running"))
    except Exception:
        return False
