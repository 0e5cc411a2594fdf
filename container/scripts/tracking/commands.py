"""The commands container/tracking.py runs: each reads or records under the lock and
prints JSON (or git's own output) on stdout."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time

from . import layout
from .errors import Failure, NoBaseline
from .git_run import GIT, git, git_env
from .mounted_repos import save_repos, stored_report
from .refresh import refresh
from .repository import baseline, commit, count_files, ensure_repo, locked, rev, write_tree

DIFF_OPTIONS = ["--no-ext-diff", "--no-textconv"]


def emit(data: object) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


# -- commands ------------------------------------------------------------------------------


def cmd_status() -> None:
    ensure_repo()
    base = None
    with contextlib.suppress(NoBaseline):
        base = baseline()
    emit({"baseline": base, "head": rev(layout.MAIN)})


def cmd_baseline(uid: str = "", gid: str = "") -> None:
    """The files as they are now, once; with UID/GID, the mounted repositories too (read as
    that user)."""
    with locked():
        with contextlib.suppress(NoBaseline):
            emit({"created": False, "commit": baseline(), "files": None, "seconds": 0})
            return
        start = time.monotonic()
        refresh(current_rules=True)
        if uid:
            save_repos(int(uid), int(gid or uid))
        head = commit(write_tree(), "claudex baseline: the files as they were at start", None)
        git("update-ref", layout.MAIN, head, layout.ZERO)
        git("update-ref", layout.BASELINE_REF, head, layout.ZERO)
        tmp = f"{layout.BASELINE_FILE}.tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(head + "\n")
        os.replace(tmp, layout.BASELINE_FILE)
        emit(
            {
                "created": True,
                "commit": head,
                "files": count_files(),
                "seconds": round(time.monotonic() - start, 3),
            }
        )


def _pathspecs(args: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Paths after the command: `pattern` or `literal` (names, not git patterns), then each
    path as hex (a name need not be UTF-8, and no path can pass for an option)."""
    if not args:
        return [], {}
    extra = {"GIT_LITERAL_PATHSPECS": "1"} if args[0] == "literal" else {}
    try:
        return [os.fsdecode(bytes.fromhex(p)) for p in args[1:]], extra
    except ValueError:
        raise Failure("paths must be given in hex") from None


def _since(args: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The commit a diff starts from: the baseline, or with a leading `checkpoint` the last
    checkpoint (what a revert restores); and the rest of the arguments."""
    base = baseline()
    if args and args[0] == "checkpoint":
        return rev(layout.MAIN) or base, args[1:]
    return base, args


def cmd_changes(*args: str) -> None:
    """Raw + numstat records of baseline (or last checkpoint) -> now, for tracking.py."""
    with locked():
        base, args = _since(args)
        paths, extra = _pathspecs(args)
        refresh()
        tree = write_tree()
    diff = ["diff-tree", "-r", "-z", "-M", "--raw", "--numstat", *DIFF_OPTIONS]
    out = git(*diff, base, tree, "--", *paths, env=git_env(tree=False, **extra))
    sys.stdout.buffer.write(out)


def cmd_diff(mode: str, color: str, *args: str) -> None:
    """The patch (or --stat / --name-only) of baseline (or last checkpoint) -> now, streamed."""
    with locked():
        base, args = _since(args)
        paths, extra = _pathspecs(args)
        refresh()
        tree = write_tree()
    diff = ["diff-tree", "-r", "-M", f"--color={color}", *DIFF_OPTIONS]
    diff += {"patch": ["-p"], "stat": ["--stat=100"], "name-only": ["--name-only"]}[mode]
    sys.stdout.flush()
    proc = subprocess.run(
        [*GIT, "-c", "core.bare=true", *diff, base, tree, "--", *paths],
        env=git_env(tree=False, **extra),
        cwd=layout.ROOT,
    )
    if proc.returncode:
        raise Failure("git diff-tree failed")


def cmd_checkpoint(message: str) -> None:
    with locked():
        baseline()
        refresh()
        tree = write_tree()
        head = rev(layout.MAIN)
        if head and rev(f"{head}^{{tree}}") == tree:
            emit({"commit": head, "created": False})
            return
        new = commit(tree, message, head)
        git("update-ref", layout.MAIN, new, head or layout.ZERO)
        emit({"commit": new, "created": True})


def cmd_log() -> None:
    ensure_repo()
    base = baseline()
    out = git("log", "--format=%H%x1f%ct%x1f%s%x1e", layout.MAIN).decode(errors="replace")
    entries = []
    for record in out.split("\x1e"):
        fields = record.strip().split("\x1f")
        if len(fields) == 3:
            sha, when, subject = fields
            entries.append(
                {"commit": sha, "time": int(when), "message": subject, "baseline": sha == base}
            )
    emit(entries)


def _tree_entries(treeish: str, paths: list[str]) -> dict[bytes, tuple[str, str]]:
    out = git("ls-tree", "-r", "-z", treeish, "--", *paths)
    entries = {}
    for record in out.split(b"\0"):
        if record:
            meta, path = record.split(b"\t", 1)
            mode, _kind, sha = meta.decode().split()
            entries[path] = (mode, sha)
    return entries


def cmd_revert(uid: str, gid: str, dry_run: str, *paths: str) -> None:
    """Files under PATHS back to the last checkpoint: written and deleted as the agent user."""
    with locked():
        baseline()
        refresh()
        now = write_tree()
        head = rev(layout.MAIN) or now
        target = _tree_entries(head, list(paths))
        current = _tree_entries(now, list(paths))
        restore = sorted(p for p, e in target.items() if current.get(p) != e and e[0] != "160000")
        delete = sorted(p for p in current if p not in target)
        if dry_run != "1" and (restore or delete):
            _apply_as(int(uid), int(gid), [(p, *target[p]) for p in restore], delete)
            refresh()
    emit(
        {
            "restored": [os.fsdecode(p) for p in restore],
            "deleted": [os.fsdecode(p) for p in delete],
            "matched": bool(target or current),
        }
    )


def _apply_as(
    uid: int, gid: int, writes: list[tuple[bytes, str, str]], deletes: list[bytes]
) -> None:
    """A child that drops to the agent's uid does the writing, so a symlink the agent planted
    cannot make root write outside what the agent may write anyway. Contents come by pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(write_fd)
        code = 0
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            with os.fdopen(read_fd, "rb") as stream:
                _apply_records(stream)
        except BaseException as exc:
            sys.stderr.write(f"revert: {exc}\n")
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(read_fd)
    with os.fdopen(write_fd, "wb") as pipe:
        for path in deletes:
            _record(pipe, {"op": "rm", "path": os.fsdecode(path)}, b"")
        for path, mode, sha in writes:
            data = git("cat-file", "blob", sha)
            op = "link" if mode == "120000" else "write"
            _record(pipe, {"op": op, "path": os.fsdecode(path), "exec": mode == "100755"}, data)
    _pid, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise Failure("some files could not be restored (see above)")


def _record(pipe: object, header: dict[str, object], data: bytes) -> None:
    header["size"] = len(data)
    pipe.write(json.dumps(header).encode() + b"\n" + data)  # type: ignore[attr-defined]


def _apply_records(stream: object) -> None:
    root = layout.WORK_TREE
    while line := stream.readline():  # type: ignore[attr-defined]
        header = json.loads(line)
        data = stream.read(header["size"])  # type: ignore[attr-defined]
        full = os.path.join(root, header["path"])
        if header["op"] == "rm":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(full)
            continue
        parent = os.path.dirname(full)
        os.makedirs(parent, exist_ok=True)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        tmp = os.path.join(parent, f".{os.path.basename(full)}.claudex-revert")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if header["op"] == "link":
            os.symlink(os.fsdecode(data), tmp)
        else:
            mode = 0o755 if header["exec"] else 0o644
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp, mode)
        os.replace(tmp, full)


def cmd_bundle() -> None:
    """Record the current state, then stream a bundle of the whole history to stdout."""
    with locked():
        baseline()
        refresh()
        tree = write_tree()
        head = rev(layout.MAIN)
        if head and rev(f"{head}^{{tree}}") != tree:
            new = commit(tree, "claudex: the files when the session was destroyed", head)
            git("update-ref", layout.MAIN, new, head)
        sys.stdout.flush()
        proc = subprocess.run(
            [*GIT, "-c", "core.bare=true", "bundle", "create", "-q", "-", "--all"],
            env=git_env(tree=False),
            cwd=layout.ROOT,
        )
        if proc.returncode:
            raise Failure("git bundle create failed")


def cmd_outside(*mount_names: str) -> None:
    """Files under /workspace outside the mounted directories (lost when the session goes)."""
    skip = set(mount_names)
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(layout.WORK_TREE):
        if dirpath == layout.WORK_TREE:
            dirnames[:] = [d for d in dirnames if d not in skip]
        dirnames.sort()
        rel = os.path.relpath(dirpath, layout.WORK_TREE)
        for name in sorted(filenames):
            files.append(name if rel == "." else f"{rel}/{name}")
    emit({"files": files})


def cmd_repos(uid: str, gid: str) -> None:
    """The report on the mounted repositories (JSON list of {repo, text, danger})."""
    emit(stored_report(uid, gid))
