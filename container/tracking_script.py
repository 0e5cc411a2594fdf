"""The tracking repository's side of container/tracking.py: runs INSIDE a session, as root.

Sent with `python3 -c SOURCE COMMAND [ARGS...]` (standard library only, Python 3.11 as in
Debian bookworm), so the image needs nothing extra and every operation is one docker exec.

The repository is GIT_DIR=/var/lib/claudex/track.git with the work tree /workspace. Only root
can enter /var/lib/claudex (0700), so the agent can neither rewrite the history nor the
baseline id, which is read from a file there (never from a ref) for every diff. No git command
ever runs with a user's own `.git` as its GIT_DIR: git never tracks a `.git` entry, and a
directory holding a repository of its own (which `git add` would record as a gitlink) has its
files listed from the inside and added one by one with `update-index`.

Exit codes: 0 ok, 2 failure (message on stderr), 3 no baseline yet.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import heapq
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import IO

ROOT = os.environ.get("CLAUDEX_TRACK_ROOT", "/var/lib/claudex")
WORK_TREE = os.environ.get("CLAUDEX_TRACK_WORK_TREE", "/workspace")
GIT_DIR = f"{ROOT}/track.git"
BASELINE_FILE = f"{ROOT}/baseline"
LOCK_FILE = f"{ROOT}/lock"
NO_INDEX = f"{ROOT}/no-index"  # never created: an empty index, to list a nested repo's files
MAIN = "refs/heads/main"
BASELINE_REF = "refs/claudex/baseline"
ZERO = "0" * 40

# Speed and predictability: no fsmonitor daemon, no auto gc in the middle of a refresh, no
# hooks, no user or system config (only this command line and the repository's own).
GIT = [
    "git",
    "-c", "core.fsmonitor=false",
    "-c", "core.quotePath=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.autocrlf=false",
    "-c", "core.preloadIndex=true",
    "-c", "gc.auto=0",
    "-c", "safe.directory=*",
    "-c", "user.name=claudex",
    "-c", "user.email=claudex@localhost",
    "-c", "commit.gpgSign=false",
]  # fmt: skip


class Failure(Exception):
    """An error to report on stderr (exit 2)."""


class NoBaseline(Failure):
    """The baseline snapshot has not been taken (exit 3)."""


def _env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": ROOT,
        "GIT_DIR": GIT_DIR,
        "GIT_WORK_TREE": WORK_TREE,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "LC_ALL": "C",
        # glibc would hand the heap back after every file (zlib's state is freed and grows
        # again), and the page faults of growing it cost more system time than the hashing.
        "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=16777216",
    }
    env.update(extra)
    return env


def git(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
        cwd: str = WORK_TREE) -> bytes:  # fmt: skip
    proc = subprocess.run(
        [*GIT, *args], input=stdin, env=env or _env(), cwd=cwd, capture_output=True
    )
    if proc.returncode:
        text = proc.stderr.decode(errors="replace").strip()
        raise Failure(f"git {args[0]} failed: {text}")
    return proc.stdout


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One operation at a time (the dashboard refreshes while the CLI runs)."""
    ensure_repo()
    with open(LOCK_FILE, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def ensure_repo() -> None:
    os.makedirs(ROOT, mode=0o700, exist_ok=True)
    os.chmod(ROOT, 0o700)
    if os.path.exists(f"{GIT_DIR}/HEAD"):
        return
    tmp = f"{GIT_DIR}.new"
    shutil.rmtree(tmp, ignore_errors=True)
    env = {k: v for k, v in _env().items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    git("init", "-q", "--bare", "-b", "main", tmp, env=env, cwd="/")
    for key, value in (("core.bare", "false"), ("core.logAllRefUpdates", "true")):
        git("config", "-f", f"{tmp}/config", key, value, env=env, cwd="/")
    os.rename(tmp, GIT_DIR)


def baseline() -> str:
    try:
        with open(BASELINE_FILE) as fh:
            return fh.read().strip()
    except FileNotFoundError:
        raise NoBaseline("no baseline yet") from None


def _untracked(work_tree: bytes, index: str | None) -> list[bytes]:
    env = _env(GIT_WORK_TREE=os.fsdecode(work_tree))
    if index:
        env["GIT_INDEX_FILE"] = index
    out = git("ls-files", "-o", "--exclude-standard", "-z", env=env, cwd=os.fsdecode(work_tree))
    return [p for p in out.split(b"\0") if p]


def refresh() -> None:
    """Bring the index up to the work tree: changed, deleted, and new not-ignored files."""
    git("add", "-u")
    root = os.fsencode(WORK_TREE)
    pending = _untracked(root, None)
    paths: list[bytes] = []
    while pending:
        path = pending.pop()
        if path.endswith(b"/"):
            # A repository of its own, not yet in our index: git would stop here (gitlink).
            # List its files from the inside, where its own .gitignore rules apply.
            inner = _untracked(root + b"/" + path.rstrip(b"/"), NO_INDEX)
            pending.extend(path + p for p in inner)
        else:
            paths.append(path)
    if paths:
        add_paths(sorted(paths))


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
    parts = [f"{GIT_DIR}/index.part{n}" for n in range(len(slices))]
    jobs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    try:
        for part, chunk in zip(parts, slices, strict=True):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)
            jobs.append(_start_update_index(part, chunk))
        for proc, errors in jobs:
            if proc.wait():
                errors.seek(0)
                text = errors.read().decode(errors="replace").strip()
                raise Failure(f"git update-index failed: {text}")
        main = f"{GIT_DIR}/index"
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


def _start_update_index(
    index: str, paths: list[bytes]
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """`git update-index` of PATHS into INDEX, started; its stderr goes to the file returned.

    The paths come from a file, not a pipe: a pipe would make each git wait for us in turn.
    """
    errors = tempfile.TemporaryFile(dir=ROOT)  # noqa: SIM115 - add_paths closes it
    with tempfile.TemporaryFile(dir=ROOT) as stdin:
        stdin.write(b"\0".join(paths) + b"\0")
        stdin.seek(0)
        proc = subprocess.Popen(
            [*GIT, "update-index", "--add", "--remove", "-z", "--stdin"],
            env=_env(GIT_INDEX_FILE=index),
            cwd=WORK_TREE,
            stdin=stdin,
            stderr=errors,
        )
    return proc, errors


def _update_index(paths: list[bytes]) -> None:
    git("update-index", "--add", "--remove", "-z", "--stdin", stdin=b"\0".join(paths) + b"\0")


INDEX_ENTRY_FIXED = 62  # stat data, mode, ids, size, object id and flags, before the path


def read_index_entries(path: str) -> list[tuple[bytes, bytes]] | None:
    """(path, raw entry) pairs of a version 2 index with SHA-1 ids, sorted as git sorts them.

    None when the file is anything else (another version, a required extension, a bad
    checksum): the caller then lets git do the work. Optional extensions (the cache tree,
    the untracked cache) are dropped; git rebuilds them when it needs them.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 32 or data[:4] != b"DIRC" or int.from_bytes(data[4:8], "big") != 2:
        return None
    if hashlib.sha1(data[:-20]).digest() != data[-20:]:
        return None
    count = int.from_bytes(data[8:12], "big")
    entries = []
    pos = 12
    for _ in range(count):
        end = data.index(b"\0", pos + INDEX_ENTRY_FIXED)
        name = data[pos + INDEX_ENTRY_FIXED : end]
        size = (INDEX_ENTRY_FIXED + len(name) + 8) // 8 * 8
        entries.append((name, data[pos : pos + size]))
        pos += size
    while pos < len(data) - 20:  # extensions: 4-byte signature, 4-byte length, data
        signature = data[pos : pos + 4]
        if not b"A" <= signature[:1] <= b"Z":
            return None  # required to read the index right (a split index, say)
        pos += 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
    return entries


def write_index(path: str, entries: Iterator[tuple[bytes, bytes]]) -> None:
    body = bytearray()
    count = 0
    last = None
    for name, raw in entries:
        if name == last:
            raise Failure(f"index merge: {os.fsdecode(name)} twice")
        body += raw
        last = name
        count += 1
    data = b"DIRC" + (2).to_bytes(4, "big") + count.to_bytes(4, "big") + bytes(body)
    tmp = f"{path}.claudex-merge"
    with open(tmp, "wb") as fh:
        fh.write(data + hashlib.sha1(data).digest())
    os.replace(tmp, path)


def write_tree() -> str:
    return git("write-tree").decode().strip()


def rev(name: str) -> str | None:
    try:
        return git("rev-parse", "-q", "--verify", name).decode().strip()
    except Failure:
        return None


def commit(tree: str, message: str, parent: str | None) -> str:
    args = ["commit-tree", tree, "-m", message]
    if parent:
        args += ["-p", parent]
    return git(*args).decode().strip()


def count_files() -> int:
    return git("ls-files", "-z").count(b"\0")


def emit(data: object) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


# -- commands ------------------------------------------------------------------------------


def cmd_status() -> None:
    ensure_repo()
    base = None
    with contextlib.suppress(NoBaseline):
        base = baseline()
    emit({"baseline": base, "head": rev(MAIN)})


def cmd_baseline() -> None:
    with locked():
        with contextlib.suppress(NoBaseline):
            emit({"created": False, "commit": baseline(), "files": None, "seconds": 0})
            return
        start = time.monotonic()
        refresh()
        head = commit(write_tree(), "claudex baseline: the files as they were at start", None)
        git("update-ref", MAIN, head, ZERO)
        git("update-ref", BASELINE_REF, head, ZERO)
        tmp = f"{BASELINE_FILE}.tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(head + "\n")
        os.replace(tmp, BASELINE_FILE)
        emit(
            {
                "created": True,
                "commit": head,
                "files": count_files(),
                "seconds": round(time.monotonic() - start, 3),
            }
        )


def cmd_changes(*paths: str) -> None:
    """Raw + numstat records of baseline -> now, for container/tracking.py to parse."""
    with locked():
        base = baseline()
        refresh()
        tree = write_tree()
    out = git("diff-tree", "-r", "-z", "-M", "--raw", "--numstat", base, tree, "--", *paths)
    sys.stdout.buffer.write(out)


def cmd_diff(mode: str, color: str, *paths: str) -> None:
    """The patch (or --stat / --name-only) of baseline -> now, streamed."""
    with locked():
        base = baseline()
        refresh()
        tree = write_tree()
    args = ["diff-tree", "-r", "-M", f"--color={color}"]
    args += {"patch": ["-p"], "stat": ["--stat=100"], "name-only": ["--name-only"]}[mode]
    sys.stdout.flush()
    proc = subprocess.run([*GIT, *args, base, tree, "--", *paths], env=_env(), cwd=WORK_TREE)
    if proc.returncode:
        raise Failure("git diff-tree failed")


def cmd_checkpoint(message: str) -> None:
    with locked():
        baseline()
        refresh()
        tree = write_tree()
        head = rev(MAIN)
        if head and rev(f"{head}^{{tree}}") == tree:
            emit({"commit": head, "created": False})
            return
        new = commit(tree, message, head)
        git("update-ref", MAIN, new, head or ZERO)
        emit({"commit": new, "created": True})


def cmd_log() -> None:
    ensure_repo()
    base = baseline()
    out = git("log", "--format=%H%x1f%ct%x1f%s%x1e", MAIN).decode(errors="replace")
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
        head = rev(MAIN) or now
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
    root = WORK_TREE
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
        head = rev(MAIN)
        if head and rev(f"{head}^{{tree}}") != tree:
            new = commit(tree, "claudex: the files when the session was destroyed", head)
            git("update-ref", MAIN, new, head)
        sys.stdout.flush()
        proc = subprocess.run(
            [*GIT, "bundle", "create", "-q", "-", "--all"], env=_env(), cwd=WORK_TREE
        )
        if proc.returncode:
            raise Failure("git bundle create failed")


def cmd_outside(*mount_names: str) -> None:
    """Files under /workspace outside the mounted directories (lost when the session goes)."""
    skip = set(mount_names)
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(WORK_TREE):
        if dirpath == WORK_TREE:
            dirnames[:] = [d for d in dirnames if d not in skip]
        dirnames.sort()
        rel = os.path.relpath(dirpath, WORK_TREE)
        for name in sorted(filenames):
            files.append(name if rel == "." else f"{rel}/{name}")
    emit({"files": files})


COMMANDS: dict[str, Callable[..., None]] = {
    "status": cmd_status,
    "baseline": cmd_baseline,
    "changes": cmd_changes,
    "diff": cmd_diff,
    "checkpoint": cmd_checkpoint,
    "log": cmd_log,
    "revert": cmd_revert,
    "bundle": cmd_bundle,
    "outside": cmd_outside,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(f"usage: COMMAND [ARGS...]; commands: {', '.join(COMMANDS)}\n")
        return 2
    try:
        COMMANDS[argv[0]](*argv[1:])
    except NoBaseline as exc:
        sys.stderr.write(f"{exc}\n")
        return 3
    except Failure as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"{exc.strerror}: {exc.filename}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
