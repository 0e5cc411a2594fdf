"""The refresh: the index brought up to the work tree (changed, deleted and new
files), mounted repositories listed from the inside, names git refuses left out."""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import shutil
import stat
import subprocess
import tempfile
from typing import IO

from . import layout
from .errors import Blocked, Failure
from .fifo_watch import WATCH_TICKS, FifoWatch
from .git_run import GIT, git, git_env, git_failed
from .ignores import ALWAYS_SHOWN, exclude_file
from .index_file import read_index_entries, write_index

# A push's staging files (container/transfer/common.py: TEMP_PREFIX or MANIFEST_PREFIX, a random
# 12-hex token) are never recorded, wherever they are: a refresh while a push writes (a
# checkpoint, a destroy racing the push) would put them in the history and the audit bundle.
# Given with --exclude, which git ranks above every ignore file: no `!` rule brings them back.
_TOKEN = "[0-9a-f]" * 12
NEVER_RECORDED = [f".claudex-part-{_TOKEN}-[0-9]*", f".claudex-manifest-{_TOKEN}"]
REFRESH_TRIES = 3


def _untracked(base: bytes, index: str | None, current_rules: bool) -> list[bytes]:
    """New files under `base` ("" or "dir/"), listed from there. At the baseline the work
    tree's own ignore rules are the baseline's; afterwards only the recorded ones count."""
    work = os.fsdecode(os.fsencode(layout.WORK_TREE) + b"/" + base.rstrip(b"/"))
    if base and not _real_dirs(base.rstrip(b"/"), {}):
        return []  # replaced by a link since it was listed: nothing to list through it
    env = git_env(GIT_WORK_TREE=work)
    if index:
        env["GIT_INDEX_FILE"] = index
    if current_rules:
        rules = ["--exclude-standard", *(f"--exclude={os.fsdecode(r)}" for r in ALWAYS_SHOWN)]
    else:
        rules = [f"--exclude-from={exclude_file(base)}"]
    rules += [f"--exclude={r}" for r in NEVER_RECORDED]
    out = git("ls-files", "-o", "-z", *rules, env=env, cwd=work, tree=True)
    return [p for p in out.split(b"\0") if p]


def _real_dirs(path: bytes, known: dict[bytes, bool]) -> bool:
    """Whether `path` and each directory above it (in the work tree) is a directory, not a
    link: git records nothing behind a symlinked directory."""
    if not path:
        return True
    if path not in known:
        parent = path.rpartition(b"/")[0]
        try:
            st = os.lstat(os.fsencode(layout.WORK_TREE) + b"/" + path)
            known[path] = stat.S_ISDIR(st.st_mode) and _real_dirs(parent, known)
        except OSError:
            known[path] = False
    return known[path]


def refused(path: bytes, is_link: bool | None = None) -> bool:
    """Whether git refuses to record `path` (a `.git` part in any case; a symlink named
    `.gitmodules`). `is_link` None: look."""
    lowered = path.lower()
    if b".git" not in lowered:
        return False  # the common case, quickly
    parts = lowered.split(b"/")
    if b".git" in parts:
        return True
    if parts[-1] == b".gitmodules":
        if is_link is None:
            try:
                is_link = stat.S_ISLNK(
                    os.lstat(os.fsencode(layout.WORK_TREE) + b"/" + path).st_mode
                )
            except OSError:
                return False
        return is_link
    return False


def refresh(current_rules: bool = False) -> None:
    """Bring the index up to the work tree: changed, deleted, and new not-ignored files.

    The agent may change files while they are read: a git that fails is run again (a named
    pipe that holds git is not: it would hold it again)."""
    for attempt in range(REFRESH_TRIES):
        try:
            _refresh(current_rules)
            return
        except Blocked:
            raise
        except Failure:
            if attempt == REFRESH_TRIES - 1:
                raise


def _refresh(current_rules: bool) -> None:
    _clear_stale_locks()
    _update_tracked()
    pending = _untracked(b"", None, current_rules)
    paths: list[bytes] = []
    skipped: list[bytes] = []
    while pending:
        path = pending.pop()
        if path.endswith(b"/"):
            # A repository of its own, not yet in our index: git would stop here (gitlink).
            # List its files from the inside, with the rules below it.
            inner = _untracked(path, layout.NO_INDEX, current_rules)
            pending.extend(path + p for p in inner)
        elif refused(path):
            skipped.append(path)
        else:
            paths.append(path)
    _note_refused(skipped)
    if paths:
        add_paths(sorted(paths))


def _clear_stale_locks() -> None:
    """Locks a git left when it died (a signal gives it no time to clean up: SIGBUS when the
    agent truncates a file git has mapped). Only this script uses the repository, one run at a
    time (`locked`), so any lock found here is stale."""
    for name in os.listdir(layout.GIT_DIR):
        if name.endswith(".lock") or name.startswith("index.part"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{layout.GIT_DIR}/{name}")


def _update_tracked() -> None:
    """Tracked files that changed: hashed again, or removed when gone, no longer a regular
    file or a link (a FIFO, a socket, a directory), or behind a symlinked directory."""
    out = git("diff-files", "-z", "--name-only", tree=True)
    changed = [p for p in out.split(b"\0") if p]
    update: list[bytes] = []
    gone: list[bytes] = []
    dirs: dict[bytes, bool] = {}
    root = os.fsencode(layout.WORK_TREE) + b"/"
    for path in changed:
        try:
            mode = os.lstat(root + path).st_mode
            keep = (stat.S_ISREG(mode) or stat.S_ISLNK(mode)) and _real_dirs(
                path.rpartition(b"/")[0], dirs
            )
        except OSError:
            keep = False
        (update if keep else gone).append(path)
    if update:
        _update_index(update)
    if gone:
        stdin = b"\0".join(gone) + b"\0"
        git("update-index", "--force-remove", "-z", "--stdin", stdin=stdin, tree=True)


def _note_refused(paths: list[bytes]) -> None:
    """Keep the names git refused for the report (bounded)."""
    if not paths and not os.path.exists(layout.REFUSED_FILE):
        return
    names = sorted(os.fsdecode(p) for p in paths)
    with open(f"{layout.REFUSED_FILE}.tmp", "w") as fh:
        json.dump({"count": len(names), "names": names[:20]}, fh)
    os.replace(f"{layout.REFUSED_FILE}.tmp", layout.REFUSED_FILE)


# Below this many new files one `update-index` is quicker than starting several.
PARALLEL_MIN = 2000


def add_paths(paths: list[bytes]) -> None:
    """Hash new files into objects and the index: in parallel when there are many.

    git hashes and compresses on one core. Contiguous slices of the sorted paths go to one
    `update-index` each with an index of its own; their entries (disjoint, each sorted) are then
    merged with the main index's, keeping the stat data that makes the next refresh cheap.
    """
    workers = min(len(os.sched_getaffinity(0)), 8)
    if len(paths) < PARALLEL_MIN or workers < 2:
        _update_index(paths)
        return
    size = -(-len(paths) // workers)
    slices = [paths[i : i + size] for i in range(0, len(paths), size)]
    parts = [f"{layout.GIT_DIR}/index.part{n}" for n in range(len(slices))]
    jobs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    try:
        for part, chunk in zip(parts, slices, strict=True):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)
            jobs.append(_start_update_index(part, chunk))
        try:
            _wait_all(jobs)
        except Blocked:
            raise
        except Failure:
            _add_copies(paths)
            return
        main = f"{layout.GIT_DIR}/index"
        sources = [main, *parts] if os.path.exists(main) else parts
        parsed = [read_index_entries(path) for path in sources]
        known = [entries for entries in parsed if entries is not None]
        if len(known) < len(parsed):
            _update_index(paths)  # a format this merge does not know: the slow way
            return
        write_index(main, heapq.merge(*known))
    finally:
        for proc, errors in jobs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            errors.close()
        for part in parts:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)


def _wait_all(jobs: list[tuple[subprocess.Popen[bytes], IO[bytes]]]) -> None:
    """Until every job ends, each watched for named pipes; the first failure is raised."""
    watches = [FifoWatch() for _ in jobs]
    tick = WATCH_TICKS[0]
    for proc, errors in jobs:
        while True:
            try:
                proc.wait(timeout=tick)
                break
            except subprocess.TimeoutExpired:
                for (other, _), watch in zip(jobs, watches, strict=True):
                    if other.poll() is None:
                        watch.check(other.pid)
                tick = min(tick * 2, WATCH_TICKS[1])
        if proc.returncode:
            errors.seek(0)
            raise Failure(git_failed("update-index", proc.returncode, errors.read()))


def _start_update_index(
    index: str, paths: list[bytes]
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """`git update-index` of PATHS into INDEX, started; its stderr goes to the file returned.

    The paths come from a file, not a pipe: a pipe would make each git wait for us in turn.
    """
    errors = tempfile.TemporaryFile(dir=layout.ROOT)  # noqa: SIM115 - add_paths closes it
    with tempfile.TemporaryFile(dir=layout.ROOT) as stdin:
        stdin.write(b"\0".join(paths) + b"\0")
        stdin.seek(0)
        proc = subprocess.Popen(
            [*GIT, "update-index", "--add", "--remove", "-z", "--stdin"],
            env=git_env(GIT_INDEX_FILE=index),
            cwd=layout.WORK_TREE,
            stdin=stdin,
            stderr=errors,
        )
    return proc, errors


def _update_index(paths: list[bytes]) -> None:
    stdin = b"\0".join(paths) + b"\0"
    try:
        git("update-index", "--add", "--remove", "-z", "--stdin", stdin=stdin, tree=True)
    except Blocked:
        raise
    except Failure:
        _add_copies(paths)


def _add_copies(paths: list[bytes]) -> None:
    """Record each path from a copy taken now, when git could not hash it in place: a file
    the agent rewrites while git reads it fails git (a short read), or kills it (SIGBUS, when
    git had mapped it and the agent truncated it). The copy is root's: stable while hashed.
    The entries get no stat data, so the next refresh looks at them again."""
    _clear_stale_locks()
    folder = tempfile.mkdtemp(dir=layout.ROOT)
    try:
        entries: list[tuple[str, str, bytes]] = []
        gone: list[bytes] = []
        dirs: dict[bytes, bool] = {}
        root = os.fsencode(layout.WORK_TREE) + b"/"
        for n, path in enumerate(paths):
            copy = f"{folder}/{n}"
            mode = _real_dirs(path.rpartition(b"/")[0], dirs) and _copy_out(root + path, copy)
            if mode:
                entries.append((mode, copy, path))
            else:
                gone.append(path)
        if entries:
            names = "".join(f"{copy}\n" for _, copy, _ in entries).encode()
            shas = git("hash-object", "-w", "--no-filters", "--stdin-paths", stdin=names).split()
            info = b"".join(
                f"{mode} {sha.decode()}\t".encode() + path + b"\0"
                for (mode, _, path), sha in zip(entries, shas, strict=True)
            )
            git("update-index", "-z", "--index-info", stdin=info, tree=True)
        if gone:
            stdin = b"\0".join(gone) + b"\0"
            git("update-index", "--force-remove", "-z", "--stdin", stdin=stdin, tree=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_out(path: bytes, copy: str) -> str | None:
    """Copy a regular file or a link's target to `copy` without following a link or waiting
    on a FIFO; its git mode, or None when it is neither (or gone)."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            with open(copy, "wb") as out:
                out.write(os.readlink(path))
            return "120000"
        if not stat.S_ISREG(st.st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            with open(copy, "wb") as out:
                while chunk := os.read(fd, 1 << 20):
                    out.write(chunk)
        finally:
            os.close(fd)
    except OSError:
        return None
    return "100755" if st.st_mode & stat.S_IXUSR else "100644"
