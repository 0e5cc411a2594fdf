"""The watch on a running git for named pipes of the work tree.

git opens work-tree files after checking they are regular, so a file swapped for
a FIFO in between (or a FIFO `.gitattributes`) would hold it forever: the watch
wakes an open(2) waiting on such a FIFO and stops git when one stays held."""

from __future__ import annotations

import os
import platform
import stat
import time

from . import layout
from .errors import Blocked

WATCH_TICKS = (0.01, 0.2)  # seconds between looks at a running git: first, then at most
HOLD_SECONDS = 0.5  # on the same named pipe this long: held


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
            if name.startswith(layout.WORK_TREE + "/"):
                name = name[len(layout.WORK_TREE) + 1 :]
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
        if not where.startswith(layout.WORK_TREE + "/"):
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
