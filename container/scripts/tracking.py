"""The tracking repository's side of container/tracking.py: runs INSIDE a session, as root.

Sent with `python3 -I -c SOURCE COMMAND [ARGS...]` (standard library only, Python 3.11 as in
Debian bookworm), so the image needs nothing extra and every operation is one docker exec.

The repository is GIT_DIR=/var/lib/claudex/track.git with the work tree /workspace. Only root
can enter /var/lib/claudex (0700), so the agent can neither rewrite the history nor the
baseline id, which is read from a file there (never from a ref) for every diff. No git command
ever runs with a user's own `.git` as its GIT_DIR: git never tracks a `.git` entry, and a
directory holding a repository of its own (which `git add` would record as a gitlink) has its
files listed from the inside and added one by one with `update-index`.

Everything in the work tree is the agent's, so nothing there may steer what is recorded:
- Attributes: `info/attributes` of the tracking repository (git's highest precedence) resets
  every attribute for every path, so no `.gitattributes` can turn a text file binary, pick a
  diff driver or textconv, or convert contents on the way in; diffs run as in a bare
  repository (no work tree: no `.gitattributes` is even read) with --no-ext-diff --no-textconv.
- Ignores: new files are listed with the ignore rules of the BASELINE (the user's `.gitignore`
  files as recorded then, rewritten into one exclude file per listing root), never the work
  tree's current ones; `.gitignore` and `.gitattributes` files themselves are never ignored,
  so editing them shows. The user's `core.excludesFile` and `.git/info/exclude` are not read.
- Named pipes: git opens work-tree files after checking they are regular (a file swapped for
  a FIFO in between, a FIFO `.gitattributes` or `.git/HEAD`): a watch on each git that reads
  the work tree wakes a FIFO open with an empty write end, and stops git (with a message
  naming the pipe) when something holds the pipe open without writing.
- Names git refuses (`.GIT/x`, a symlinked `.gitmodules`) cannot be recorded: they are left
  out, counted and named in the repositories report, never a failed refresh.
- A file replaced by a FIFO, a socket or a directory, or behind a symlinked directory, is
  recorded as deleted; a file that changes while hashed makes the refresh start again.
- The mounted repositories' own refs and the files in `.git` that make git run programs are
  read by a child running as the AGENT (never root): at the baseline, then for the report.

Exit codes: 0 ok, 2 failure (message on stderr), 3 no baseline yet.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import heapq
import json
import os
import platform
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

ROOT = os.environ.get("CLAUDEX_TRACK_ROOT", "/var/lib/claudex")
WORK_TREE = os.environ.get("CLAUDEX_TRACK_WORK_TREE", "/workspace")
GIT_DIR = f"{ROOT}/track.git"
BASELINE_FILE = f"{ROOT}/baseline"
LOCK_FILE = f"{ROOT}/lock"
NO_INDEX = f"{ROOT}/no-index"  # never created: an empty index, to list a nested repo's files
EXCLUDES = f"{ROOT}/excludes"  # the baseline's ignore rules, one file per listing root
REPOS_FILE = f"{ROOT}/repos.json"  # the mounted repositories at the baseline
REFUSED_FILE = f"{ROOT}/refused.json"  # names git would not record, from the last refresh
MAIN = "refs/heads/main"
BASELINE_REF = "refs/claudex/baseline"
ZERO = "0" * 40

# Speed and predictability: no fsmonitor daemon, no auto gc in the middle of a refresh, no
# hooks, no user or system config (only this command line and the repository's own). Windows
# and macOS name rules off: only `.git` itself is a name git refuses to record.
GIT = [
    "git",
    "-c", "core.fsmonitor=false",
    "-c", "core.quotePath=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.autocrlf=false",
    "-c", "core.preloadIndex=true",
    "-c", "core.protectNTFS=false",
    "-c", "core.protectHFS=false",
    "-c", "gc.auto=0",
    "-c", "safe.directory=*",
    "-c", "user.name=claudex",
    "-c", "user.email=claudex@localhost",
    "-c", "commit.gpgSign=false",
]  # fmt: skip
# Every attribute unspecified for every path (`binary` is a macro for -diff -merge -text).
ATTRIBUTES = (
    b"* !diff !text !eol !crlf !filter !ident !working-tree-encoding !merge !binary !delta\n"
)
DIFF_OPTIONS = ["--no-ext-diff", "--no-textconv"]
IGNORE_FILE_MAX = 1 << 20  # a larger .gitignore in the baseline is not used
ALWAYS_SHOWN = [b"!.gitignore", b"!.gitattributes"]  # never ignored, wherever they are
# A push's staging files (container/transfer/common.py: TEMP_PREFIX or MANIFEST_PREFIX, a random
# 12-hex token) are never recorded, wherever they are: a refresh while a push writes (a
# checkpoint, a destroy racing the push) would put them in the history and the audit bundle.
# Given with --exclude, which git ranks above every ignore file: no `!` rule brings them back.
_TOKEN = "[0-9a-f]" * 12
NEVER_RECORDED = [f".claudex-part-{_TOKEN}-[0-9]*", f".claudex-manifest-{_TOKEN}"]
REFRESH_TRIES = 3
WATCH_TICKS = (0.01, 0.2)  # seconds between looks at a running git: first, then at most
HOLD_SECONDS = 0.5  # on the same named pipe this long: held


class Failure(Exception):
    """An error to report on stderr (exit 2)."""


class NoBaseline(Failure):
    """The baseline snapshot has not been taken (exit 3)."""


class Blocked(Failure):
    """A named pipe in the work tree held git: trying again would only wait again."""


def _env(tree: bool = True, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": ROOT,
        "GIT_DIR": GIT_DIR,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "LC_ALL": "C",
        # glibc would hand the heap back after every file (zlib's state is freed and grows
        # again), and the page faults of growing it cost more system time than the hashing.
        "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=16777216",
    }
    if tree:
        env["GIT_WORK_TREE"] = WORK_TREE
    env.update(extra)
    return env


def git(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
        cwd: str | None = None, tree: bool = False) -> bytes:  # fmt: skip
    """Run git; its stdout. `tree`: it reads the work tree (watched for named pipes);
    otherwise it runs as in a bare repository and reads nothing the agent wrote."""
    if tree:
        code, out, err = _watched([*GIT, *args], env or _env(), cwd or WORK_TREE, stdin)
    else:
        proc = subprocess.run(
            [*GIT, "-c", "core.bare=true", *args],
            input=stdin,
            env=env or _env(tree=False),
            cwd=cwd or ROOT,
            capture_output=True,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    if code:
        raise Failure(_failed(args[0], code, err))
    return out


def _failed(what: str, code: int, err: bytes) -> str:
    text = err.decode(errors="replace").strip()
    if code < 0:  # e.g. SIGBUS: a file it had mapped was truncated under it
        text = f"killed by signal {-code}" + (f": {text}" if text else "")
    return f"git {what} failed: {text}"


# -- named pipes ---------------------------------------------------------------------------

# open(2)-like system calls: number -> (index of the dirfd argument or None, of the path).
_OPEN_CALLS_BY_MACHINE: dict[str, dict[int, tuple[int | None, int]]] = {
    "x86_64": {2: (None, 0), 257: (0, 1), 437: (0, 1)},
    "aarch64": {56: (0, 1), 437: (0, 1)},
}
_OPEN_CALLS = _OPEN_CALLS_BY_MACHINE.get(platform.machine(), {})
AT_FDCWD = -100


def _shown(path: bytes | str) -> str:
    """A path for a message: control characters escaped."""
    return repr(os.fsdecode(path))[1:-1]


class FifoWatch:
    """Looks at one running git: wakes an open(2) waiting on a FIFO of the work tree (with a
    write end opened and closed at once, git reads it as empty), and fails when git stays on
    the same FIFO (held open by someone who never writes, or one outside the work tree)."""

    def __init__(self) -> None:
        self.since: dict[str, float] = {}

    def check(self, pid: int) -> None:
        stuck = set()
        opening = _blocked_open(pid)
        if opening is not None and not _wake(opening):
            stuck.add(os.fsdecode(opening))
        stuck |= _named_fifos(pid)
        now = time.monotonic()
        self.since = {name: self.since.get(name, now) for name in stuck}
        held = sorted(name for name, since in self.since.items() if now - since >= HOLD_SECONDS)
        if held:
            name = held[0]
            if name.startswith(WORK_TREE + "/"):
                name = name[len(WORK_TREE) + 1 :]
            raise Blocked(
                f"the named pipe {_shown(name)} in /workspace held git (something keeps it "
                "open and writes nothing): remove it to see the changes"
            )


def _blocked_open(pid: int) -> bytes | None:
    """The path git waits to open, when it is in an open(2) that has not returned."""
    try:
        with open(f"/proc/{pid}/syscall") as fh:
            fields = fh.read().split()
        spec = _OPEN_CALLS.get(int(fields[0])) if fields and fields[0].isdigit() else None
        if spec is None:
            return None
        dirfd_arg, path_arg = spec
        args = [int(x, 16) for x in fields[1:7]]
        path = _read_string(pid, args[path_arg])
        if path is None or path.startswith(b"/"):
            return path
        dirfd = AT_FDCWD if dirfd_arg is None else _signed(args[dirfd_arg])
        where = f"/proc/{pid}/cwd" if dirfd == AT_FDCWD else f"/proc/{pid}/fd/{dirfd}"
        return os.fsencode(os.readlink(where)) + b"/" + path
    except (OSError, ValueError, IndexError):
        return None


def _signed(value: int) -> int:
    if value >= 1 << 63:
        return value - (1 << 64)
    if value >= 1 << 31:
        return value - (1 << 32)
    return value


def _read_string(pid: int, address: int, limit: int = 4096) -> bytes | None:
    data = b""
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            while len(data) < limit:
                mem.seek(address + len(data))
                page_left = 4096 - (address + len(data)) % 4096
                chunk = mem.read(page_left)
                if not chunk:
                    return None
                if b"\0" in chunk:
                    return data + chunk.split(b"\0", 1)[0]
                data += chunk
    except (OSError, ValueError, OverflowError):
        return None
    return None


def _wake(path: bytes) -> bool:
    """Open and close a write end of the FIFO at `path` (in the work tree only); True when
    done, False when it is not such a FIFO."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW)
    except OSError:
        return True  # gone already
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return True
        where = os.readlink(f"/proc/self/fd/{fd}")
        if not where.startswith(WORK_TREE + "/"):
            return False
        # Through the O_PATH descriptor: the very FIFO checked, whatever the path is now.
        os.close(os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK))
        return True
    except OSError:
        return True  # no reader any more: git went on
    finally:
        os.close(fd)


def _named_fifos(pid: int) -> set[str]:
    """Named pipes git has open (it reads one until every writer closes it)."""
    held: set[str] = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return held
    for name in names:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{name}")
            if link.startswith("/") and stat.S_ISFIFO(os.stat(f"/proc/{pid}/fd/{name}").st_mode):
                held.add(link)
        except OSError:
            continue
    return held


def _watched(
    cmd: list[str], env: dict[str, str], cwd: str, stdin: bytes | None
) -> tuple[int, bytes, bytes]:
    # The input comes from a file: communicate() with a timeout writes its input only on its
    # first call, so a retry after a timeout would leave git waiting on a half-written pipe.
    with contextlib.ExitStack() as stack:
        source: Any = subprocess.DEVNULL
        if stdin is not None:
            source = stack.enter_context(tempfile.TemporaryFile(dir=ROOT))
            source.write(stdin)
            source.seek(0)
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    watch = FifoWatch()
    tick = WATCH_TICKS[0]
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=tick)
                return proc.returncode, out, err
            except subprocess.TimeoutExpired:
                watch.check(proc.pid)
                tick = min(tick * 2, WATCH_TICKS[1])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


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
        _write_attributes(GIT_DIR)  # repositories made before it existed get it too
        return
    tmp = f"{GIT_DIR}.new"
    shutil.rmtree(tmp, ignore_errors=True)
    env = {k: v for k, v in _env(tree=False).items() if k != "GIT_DIR"}
    git("init", "-q", "--bare", "-b", "main", tmp, env=env, cwd="/")
    for key, value in (("core.bare", "false"), ("core.logAllRefUpdates", "true")):
        git("config", "-f", f"{tmp}/config", key, value, env=env, cwd="/")
    _write_attributes(tmp)
    os.rename(tmp, GIT_DIR)


def _write_attributes(git_dir: str) -> None:
    path = f"{git_dir}/info/attributes"
    with contextlib.suppress(OSError), open(path, "rb") as fh:
        if fh.read() == ATTRIBUTES:
            return
    os.makedirs(f"{git_dir}/info", exist_ok=True)
    with open(f"{path}.tmp", "wb") as fh:
        fh.write(ATTRIBUTES)
    os.replace(f"{path}.tmp", path)


def baseline() -> str:
    try:
        with open(BASELINE_FILE) as fh:
            return fh.read().strip()
    except FileNotFoundError:
        raise NoBaseline("no baseline yet") from None


# -- the ignore rules of the baseline -------------------------------------------------------


def _trim_trailing_spaces(line: bytes) -> bytes:
    """As git does: trailing spaces go unless escaped with a backslash."""
    last_space = None
    i = 0
    while i < len(line):
        c = line[i : i + 1]
        if c == b" ":
            if last_space is None:
                last_space = i
        elif c == b"\\":
            i += 1
            if i >= len(line):
                return line
            last_space = None
        else:
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def _glob_escape(path: bytes) -> bytes:
    out = bytearray()
    for byte in path:
        if byte in b"*?[\\":
            out += b"\\"
        out.append(byte)
    return bytes(out)


def rewrite_ignore(directory: bytes, data: bytes) -> list[bytes]:
    """The patterns of `directory`/.gitignore, each rewritten to mean the same from the top.

    A pattern with a slash before its end is anchored to the file's directory (`/D/pat`);
    one without matches at any depth below it (`/D/**/pat`); `!` and a trailing `/` are kept.
    A directory whose name cannot be written in a pattern (a newline) gives nothing: fewer
    ignores only ever show more.
    """
    if b"\n" in directory or b"\r" in directory:
        return []
    prefix = b"/" + _glob_escape(directory) + b"/" if directory else b""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    for raw in data.split(b"\n"):
        line = raw.split(b"\0", 1)[0]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line or line.startswith(b"#"):
            continue
        line = _trim_trailing_spaces(line)
        negate = line.startswith(b"!")
        body = line[1:] if negate else line
        stem = body[:-1] if body.endswith(b"/") else body
        if not stem:
            continue
        if prefix:
            if b"/" in stem:
                body = prefix + (body[1:] if body.startswith(b"/") else body)
            else:
                body = prefix + b"**/" + body
        out.append((b"!" if negate else b"") + body)
    return out


@functools.cache
def _baseline_ignores() -> list[tuple[bytes, bytes]]:
    """(directory, contents) of each regular .gitignore in the baseline, top first."""
    listing = git("ls-tree", "-r", "-z", baseline())  # no sizes: they would read every blob
    wanted: list[tuple[bytes, str]] = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, _kind, sha = meta.split()
        if path != b".gitignore" and not path.endswith(b"/.gitignore"):
            continue
        if mode in (b"100644", b"100755"):
            wanted.append((path[: -len(b".gitignore")].rstrip(b"/"), sha.decode()))
    blobs = _blobs([sha for _, sha in wanted])
    rules = [(directory, blobs[sha]) for directory, sha in wanted if sha in blobs]
    rules.sort(key=lambda r: (r[0].count(b"/") + 1 if r[0] else 0, r[0]))
    return rules


def _blobs(shas: list[str]) -> dict[str, bytes]:
    """The contents of these blobs, but for those over IGNORE_FILE_MAX."""
    if not shas:
        return {}
    unique = sorted(set(shas))
    stdin = "".join(f"{sha}\n" for sha in unique).encode()
    sizes = git("cat-file", "--batch-check=%(objectname) %(objectsize)", stdin=stdin)
    small = [
        fields[0].decode()
        for fields in (line.split() for line in sizes.splitlines())
        if len(fields) == 2 and fields[1].isdigit() and int(fields[1]) <= IGNORE_FILE_MAX
    ]
    if not small:
        return {}
    out = git("cat-file", "--batch", stdin="".join(f"{sha}\n" for sha in small).encode())
    blobs = {}
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        sha, _kind, size = out[pos:end].split()
        start = end + 1
        blobs[sha.decode()] = out[start : start + int(size)]
        pos = start + int(size) + 1
    return blobs


def exclude_rules(base: bytes, ignores: list[tuple[bytes, bytes]]) -> bytes:
    """An exclude file for a listing rooted at `base` ("" or "dir/"): the rules of every
    .gitignore at or below it, deeper ones later (git gives them precedence)."""
    lines: list[bytes] = []
    inner = base.rstrip(b"/")
    for directory, data in ignores:
        if base and directory != inner and not directory.startswith(base):
            continue
        lines += rewrite_ignore(directory[len(base) :] if base else directory, data)
    return b"\n".join([*lines, *ALWAYS_SHOWN]) + b"\n"


def _exclude_file(base: bytes) -> str:
    """The exclude file of `base`, made once per session (the baseline never changes)."""
    path = f"{EXCLUDES}/{hashlib.sha256(base).hexdigest()[:24]}"
    if not os.path.exists(path):
        os.makedirs(EXCLUDES, mode=0o700, exist_ok=True)
        with open(f"{path}.tmp", "wb") as fh:
            fh.write(exclude_rules(base, _baseline_ignores()))
        os.replace(f"{path}.tmp", path)
    return path


# -- refresh: the index brought up to the work tree ----------------------------------------


def _untracked(base: bytes, index: str | None, current_rules: bool) -> list[bytes]:
    """New files under `base` ("" or "dir/"), listed from there. At the baseline the work
    tree's own ignore rules are the baseline's; afterwards only the recorded ones count."""
    work = os.fsdecode(os.fsencode(WORK_TREE) + b"/" + base.rstrip(b"/"))
    if base and not _real_dirs(base.rstrip(b"/"), {}):
        return []  # replaced by a link since it was listed: nothing to list through it
    env = _env(GIT_WORK_TREE=work)
    if index:
        env["GIT_INDEX_FILE"] = index
    if current_rules:
        rules = ["--exclude-standard", *(f"--exclude={os.fsdecode(r)}" for r in ALWAYS_SHOWN)]
    else:
        rules = [f"--exclude-from={_exclude_file(base)}"]
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
            st = os.lstat(os.fsencode(WORK_TREE) + b"/" + path)
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
                is_link = stat.S_ISLNK(os.lstat(os.fsencode(WORK_TREE) + b"/" + path).st_mode)
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
            inner = _untracked(path, NO_INDEX, current_rules)
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
    for name in os.listdir(GIT_DIR):
        if name.endswith(".lock") or name.startswith("index.part"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{GIT_DIR}/{name}")


def _update_tracked() -> None:
    """Tracked files that changed: hashed again, or removed when gone, no longer a regular
    file or a link (a FIFO, a socket, a directory), or behind a symlinked directory."""
    out = git("diff-files", "-z", "--name-only", tree=True)
    changed = [p for p in out.split(b"\0") if p]
    update: list[bytes] = []
    gone: list[bytes] = []
    dirs: dict[bytes, bool] = {}
    root = os.fsencode(WORK_TREE) + b"/"
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
    if not paths and not os.path.exists(REFUSED_FILE):
        return
    names = sorted(os.fsdecode(p) for p in paths)
    with open(f"{REFUSED_FILE}.tmp", "w") as fh:
        json.dump({"count": len(names), "names": names[:20]}, fh)
    os.replace(f"{REFUSED_FILE}.tmp", REFUSED_FILE)


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
        try:
            _wait_all(jobs)
        except Blocked:
            raise
        except Failure:
            _add_copies(paths)
            return
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
            raise Failure(_failed("update-index", proc.returncode, errors.read()))


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
    folder = tempfile.mkdtemp(dir=ROOT)
    try:
        entries: list[tuple[str, str, bytes]] = []
        gone: list[bytes] = []
        dirs: dict[bytes, bool] = {}
        root = os.fsencode(WORK_TREE) + b"/"
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
            _save_repos(int(uid), int(gid or uid))
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
        return rev(MAIN) or base, args[1:]
    return base, args


def cmd_changes(*args: str) -> None:
    """Raw + numstat records of baseline (or last checkpoint) -> now, for tracking.py."""
    with locked():
        base, args = _since(args)
        paths, extra = _pathspecs(args)
        refresh()
        tree = write_tree()
    diff = ["diff-tree", "-r", "-z", "-M", "--raw", "--numstat", *DIFF_OPTIONS]
    out = git(*diff, base, tree, "--", *paths, env=_env(tree=False, **extra))
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
        env=_env(tree=False, **extra),
        cwd=ROOT,
    )
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
            [*GIT, "-c", "core.bare=true", "bundle", "create", "-q", "-", "--all"],
            env=_env(tree=False),
            cwd=ROOT,
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


# -- the mounted repositories: refs and what makes git run programs ------------------------
#
# Read by a child that runs as the agent user (never root: the agent owns every path here),
# without git for the files (so nothing in them is run), and with git only to count commits,
# as the agent, with no user or system config and a time limit.

REPO_SUBDIRS_MAX = 200  # subdirectories of each mounted directory looked at for a .git
REFS_MAX = 20_000
GUARD_FILES_MAX = 5_000
REF_EVENTS_MAX = 30
AGENT_OUTPUT_MAX = 16 << 20
AGENT_SECONDS = 60.0
AGENT_GIT_SECONDS = 10.0
# In a .git directory: files git reads as config or runs, by name or by the folder they are in.
GUARD_NAMES = {"config", "config.worktree", "commondir", "gitdir"}
GUARD_FOLDERS = {"hooks", "info"}
GUARD_PRUNE = {"objects", "refs", "logs", "lfs", "rr-cache"}


def _as_agent(uid: int, gid: int, func: Callable[[bytes], bytes], payload: bytes) -> bytes:
    """`func(payload)` in a child running as uid:gid; its result, bounded in size and time."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(in_w)
            os.close(out_r)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            with os.fdopen(in_r, "rb") as src:
                data = src.read()
            result = func(data)
            with os.fdopen(out_w, "wb") as dst:
                dst.write(result)
        except BaseException as exc:
            sys.stderr.write(f"reading the repositories: {exc}\n")
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(in_r)
    os.close(out_w)
    try:
        with os.fdopen(in_w, "wb") as dst:
            dst.write(payload)
        result = _read_bounded(out_r, AGENT_OUTPUT_MAX, time.monotonic() + AGENT_SECONDS)
    except Failure:
        os.kill(pid, 9)
        raise
    finally:
        os.close(out_r)
        _pid, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise Failure("reading the repositories failed")
    return result


def _read_bounded(fd: int, limit: int, deadline: float) -> bytes:
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise Failure("reading the repositories took too long")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise Failure("reading the repositories gave too much")


def _read_small(path: str, limit: int) -> bytes | None:
    """A regular file's first `limit` bytes, opened without following a link or waiting."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def _fingerprint(path: str) -> str:
    try:
        st = os.lstat(path)
    except OSError:
        return "missing"
    if stat.S_ISLNK(st.st_mode):
        return "link:" + os.fsdecode(os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if not stat.S_ISREG(st.st_mode):
        return "special"
    data = _read_small(path, 4 << 20)
    digest = hashlib.sha256(data).hexdigest() if data is not None else "unreadable"
    return f"{stat.S_IMODE(st.st_mode):o}:{st.st_size}:{digest}"


def _subdirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as it:
            found = [e.path for e in it if e.is_dir(follow_symlinks=False) and e.name != ".git"]
    except OSError:
        return []
    return sorted(found)


def _guard(git_dir: str) -> dict[str, str]:
    """Fingerprints of the files in a .git directory that git runs or reads as config."""
    out: dict[str, str] = {}
    seen = 0
    for dirpath, dirnames, filenames in os.walk(git_dir):
        rel_dir = os.path.relpath(dirpath, git_dir)
        folders = set() if rel_dir == "." else set(rel_dir.split(os.sep))
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(d for d in dirnames if d not in GUARD_PRUNE and d not in links)
        for name in sorted(filenames + links):
            seen += 1
            if seen > GUARD_FILES_MAX:
                out["..."] = "too many files to look at"
                return out
            if name in GUARD_NAMES or name in GUARD_FOLDERS or folders & GUARD_FOLDERS:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                out[rel] = _fingerprint(os.path.join(dirpath, name))
    return out


def _refs(git_dir: str) -> tuple[str | None, dict[str, str], str | None]:
    """HEAD, every ref (name -> value), and a note when they could not all be read."""
    head_data = _read_small(f"{git_dir}/HEAD", 512)
    head = head_data.decode(errors="replace").strip() if head_data is not None else None
    refs: dict[str, str] = {}
    note = None
    if os.path.isdir(f"{git_dir}/reftable"):
        note = "its refs are in the reftable format, which claudex does not read"
    packed = _read_small(f"{git_dir}/packed-refs", 64 << 20) or b""
    for line in packed.decode(errors="replace").splitlines():
        if line[:1] in ("#", "^") or " " not in line:
            continue
        value, name = line.split(" ", 1)
        refs[name] = value
    for dirpath, dirnames, filenames in os.walk(f"{git_dir}/refs"):
        dirnames.sort()
        for name in sorted(filenames):
            if len(refs) >= REFS_MAX:
                return head, refs, f"more than {REFS_MAX} refs: not all were read"
            path = os.path.join(dirpath, name)
            data = _read_small(path, 512)
            if data is not None:
                refs[os.path.relpath(path, git_dir)] = data.decode(errors="replace").strip()
    return head, refs, note


def repos_now() -> dict[str, dict[str, Any]]:
    """Each directory at the top of /workspace (the mounts) and each of their subdirectories
    that has a .git: what it is, its refs, the fingerprints of its guarded files."""
    repos: dict[str, dict[str, Any]] = {}
    for top in _subdirs(WORK_TREE):
        for folder in [top, *_subdirs(top)[:REPO_SUBDIRS_MAX]]:
            dot_git = f"{folder}/.git"
            try:
                mode = os.lstat(dot_git).st_mode
            except OSError:
                continue
            name = os.path.relpath(folder, WORK_TREE)
            if stat.S_ISDIR(mode):
                head, refs, note = _refs(dot_git)
                repos[name] = {
                    "kind": "dir",
                    "head": head,
                    "refs": refs,
                    "note": note,
                    "guard": _guard(dot_git),
                }
            else:
                repos[name] = {"kind": "file", "guard": {".git": _fingerprint(dot_git)}}
    return repos


def _save_repos(uid: int, gid: int) -> None:
    try:
        data = _as_agent(uid, gid, lambda _payload: json.dumps(repos_now()).encode(), b"")
        json.loads(data)
    except (Failure, ValueError) as exc:
        data = json.dumps({"error": str(exc)}).encode()
    with open(f"{REPOS_FILE}.tmp", "wb") as fh:
        fh.write(data)
    os.replace(f"{REPOS_FILE}.tmp", REPOS_FILE)


def _agent_git(git_dir: str, *args: str, stdin: bytes = b"") -> str | None:
    """git as the agent in its repository: no user or system config, no fsmonitor or hooks,
    no replace refs, a time limit; its output, or None."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "GIT_DIR": git_dir,
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "LC_ALL": "C",
    }
    cmd = ["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"]
    cmd += ["-c", "core.bare=true", "-c", "safe.directory=*", *args]
    try:
        proc = subprocess.run(
            cmd, input=stdin, env=env, cwd="/", capture_output=True, timeout=AGENT_GIT_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else None


def _ref_label(name: str) -> str:
    for prefix, label in (("refs/heads/", "branch "), ("refs/tags/", "tag ")):
        if name.startswith(prefix):
            return label + name[len(prefix) :]
    if name.startswith("refs/remotes/"):
        return "remote-tracking branch " + name[len("refs/remotes/") :]
    return name


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _is_sha(value: str) -> bool:
    return len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)


def _head_name(head: str | None) -> str:
    if head is None:
        return "nothing"
    if head.startswith("ref: "):
        target = head[5:]
        return target[len("refs/heads/") :] if target.startswith("refs/heads/") else target
    return f"{head[:12]} (detached)"


def ref_events(git_dir: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What happened to the refs of one repository since the baseline, in words."""
    events: list[str] = []
    if old.get("head") != new.get("head"):
        events.append(
            f"HEAD moved from {_head_name(old.get('head'))} to {_head_name(new.get('head'))}"
        )
    before: dict[str, str] = old.get("refs") or {}
    after: dict[str, str] = new.get("refs") or {}
    known = sorted({v for v in before.values() if _is_sha(v)})
    names = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
    for name in names[:REF_EVENTS_MAX]:
        was, now = before.get(name), after.get(name)
        label = _ref_label(name)
        if now is None:
            events.append(f"{label} deleted (was {str(was)[:12]})")
        elif was is None:
            count = None
            if _is_sha(now) and name.startswith("refs/heads/"):
                out = _agent_git(
                    git_dir, "rev-list", "--count", "--stdin", stdin=_revs([now], known)
                )
                count = out.strip() if out and out.strip() != "0" else None
            suffix = f" ({_plural(int(count), 'commit')} since the start)" if count else ""
            events.append(f"{label} created{suffix}")
        else:
            out = None
            if _is_sha(was) and _is_sha(now):
                out = _agent_git(git_dir, "rev-list", "--left-right", "--count", f"{was}...{now}")
            parts = out.split() if out else []
            if len(parts) != 2:
                events.append(f"{label} moved from {was[:12]} to {now[:12]}")
                continue
            dropped, added = int(parts[0]), int(parts[1])
            if not dropped:
                events.append(f"{_plural(added, 'commit')} on {label} since the start")
            elif not added:
                events.append(f"{label} moved back: {_plural(dropped, 'commit')} dropped")
            else:
                events.append(
                    f"{label} rewritten: {_plural(dropped, 'commit')} dropped, {added} new"
                )
    if len(names) > REF_EVENTS_MAX:
        events.append(f"and {len(names) - REF_EVENTS_MAX} more ref changes")
    return events


def _revs(include: list[str], exclude: list[str]) -> bytes:
    return "".join([*(f"{r}\n" for r in include), *(f"^{r}\n" for r in exclude)]).encode()


def _guard_event(rel: str, was: str | None, now: str | None) -> str:
    verb = "created" if was is None else "removed" if now is None else "changed"
    name = f".git/{rel}" if rel != ".git" else ".git"
    parts = rel.split("/")
    if rel == ".git":
        why = "it says where the repository is: git would use another one's config and hooks"
    elif parts[-1] == "commondir":
        why = "git would take the config and hooks of another repository, which can run programs"
    elif parts[-1] in ("config", "config.worktree"):
        why = "git reads it as config, which can run programs"
    elif "hooks" in parts:
        why = "a hook: git runs it"
    elif parts[-1] == "gitdir":
        why = "it says where a worktree is"
    else:
        why = "it changes what git ignores or how it reads files"
    return f"the agent {verb} {name} ({why})"


def repo_report(baseline_repos: dict[str, Any]) -> list[dict[str, Any]]:
    """Differences between the repositories at the baseline and now; runs as the agent."""
    report: list[dict[str, Any]] = []
    now = repos_now()
    for name in sorted(set(baseline_repos) | set(now)):
        old, new = baseline_repos.get(name), now.get(name)

        def add(text: str, danger: bool, repo: str = name) -> None:
            report.append({"repo": repo, "text": text, "danger": danger})

        if old is None:
            add(
                "a new .git appeared in the session: its config and hooks are the agent's, and "
                "git commands run there can run programs",
                True,
            )
            continue
        if new is None:
            add("its .git is gone", True)
            continue
        if old.get("kind") != new.get("kind"):
            add(f"its .git was a {old.get('kind')}, it is now a {new.get('kind')}", True)
        was_guard, now_guard = old.get("guard") or {}, new.get("guard") or {}
        for rel in sorted(set(was_guard) | set(now_guard)):
            if was_guard.get(rel) != now_guard.get(rel):
                add(_guard_event(rel, was_guard.get(rel), now_guard.get(rel)), True)
        if new.get("kind") == "dir" and old.get("kind") == "dir":
            if new.get("note"):
                add(str(new["note"]), False)
            for event in ref_events(f"{WORK_TREE}/{name}/.git", old, new):
                add(event, False)
    return report


def cmd_repos(uid: str, gid: str) -> None:
    """The report on the mounted repositories (JSON list of {repo, text, danger})."""
    ensure_repo()
    baseline()
    report: list[dict[str, Any]] = []
    try:
        with open(REPOS_FILE, "rb") as fh:
            recorded = json.load(fh)
    except FileNotFoundError:
        recorded = {"error": "the repositories were not recorded at the start"}
    except ValueError:
        recorded = {"error": "the record of the repositories is damaged"}
    if "error" in recorded:
        report.append({"repo": "", "text": str(recorded["error"]), "danger": False})
    else:
        data = _as_agent(
            int(uid),
            int(gid or uid),
            lambda payload: json.dumps(repo_report(json.loads(payload))).encode(),
            json.dumps(recorded).encode(),
        )
        report += json.loads(data)
    with contextlib.suppress(FileNotFoundError, ValueError):
        with open(REFUSED_FILE) as fh:
            refused_names = json.load(fh)
        if refused_names["count"]:
            shown = ", ".join(refused_names["names"][:5])
            more = refused_names["count"] - min(5, len(refused_names["names"]))
            report.append(
                {
                    "repo": "",
                    "text": f"{_plural(refused_names['count'], 'file')} whose names git cannot "
                    f"record are NOT in the diff: {shown}"
                    + (f" and {more} more" if more > 0 else ""),
                    "danger": True,
                }
            )
    emit(report)


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
    "repos": cmd_repos,
}


def _end_with_stdin() -> None:
    """With CLAUDEX_TRACK_HANGUP=1 (container/tracking.py's execs), end when stdin ends: the
    engine closes an exec's stdin when its client goes (gave up after its deadline, quit,
    crashed), and a run nobody reads would hold the lock for the next ones. Its gits go too."""
    if os.environ.get("CLAUDEX_TRACK_HANGUP") != "1":
        return

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        me = str(os.getpid())
        for entry in os.listdir("/proc"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as fh:
                    parent = fh.read().rsplit(")", 1)[1].split()[1]
                if parent == me:
                    os.kill(int(entry), 9)
        os._exit(2)

    import threading

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(f"usage: COMMAND [ARGS...]; commands: {', '.join(COMMANDS)}\n")
        return 2
    _end_with_stdin()
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
