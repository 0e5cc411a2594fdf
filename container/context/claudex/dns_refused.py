"""Names the session firewall's DNS refused, aggregated into one small file.

firewall.sh starts this as the DNS user (never root, never the agent), reading dnsmasq's query
log from a FIFO on stdin. The agent chooses what gets logged (any name it asks for, as often as
it likes), so everything here is bounded whatever it sends: names are escaped to printable
ASCII and cut, only the KEEP most recently refused names are kept (the others are counted),
lines are read in fixed-size chunks, and the summary is rewritten at most four times a second.

The summary (replaced atomically; read by `firewall.sh status`):

    claudex-refused 1
    total <refusals counted>
    others <names dropped to stay within KEEP>
    <count> <last refusal, epoch seconds> <name>      (most recent first)

    python3 -I -S dns_refused.py SUMMARY <FIFO
"""

import contextlib
import fcntl
import os
import re
import select
import stat
import sys
import time
from collections import OrderedDict

KEEP = 1000
NAME_MAX = 200  # characters of the escaped name
LINE_MAX = 4096  # a longer line (never dnsmasq's) is dropped
READ_MAX = 512 * 1024  # of a summary left by an earlier start
WRITE_EVERY = 0.25  # seconds between summary writes, at most
F_SETPIPE_SZ = 1031
REFUSED = re.compile(rb": config (.+) is (?:NXDOMAIN|NODATA)")
PLAIN = re.compile(rb"[\x21-\x5b\x5d-\x7e]{1,%d}" % NAME_MAX)
HEADER = "claudex-refused 1"


def escape(raw: bytes) -> str:
    """Printable ASCII only (no spaces, no backslash): nothing reaches a terminal raw."""
    if PLAIN.fullmatch(raw):
        return raw.decode("ascii")
    out = "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x5C else f"\\x{b:02x}" for b in raw)
    return out if len(out) <= NAME_MAX else out[: NAME_MAX - 3] + "..."


class Refused:
    def __init__(self) -> None:
        self.names: OrderedDict[str, list[int]] = OrderedDict()  # oldest first
        self.total = 0
        self.others = 0

    def add(self, name: str, now: int, count: int = 1) -> None:
        entry = self.names.get(name)
        if entry is None:
            if len(self.names) >= KEEP:
                self.names.popitem(last=False)
                self.others += 1
            entry = self.names[name] = [0, 0]
        else:
            self.names.move_to_end(name)
        entry[0] += count
        entry[1] = max(entry[1], now)

    def load(self, path: str) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return
            data = os.read(fd, READ_MAX)
        finally:
            os.close(fd)
        lines = data.decode("ascii", "replace").splitlines()
        if not lines or lines[0] != HEADER:
            return
        rows = []
        for line in lines[1:]:
            parts = line.split(" ")
            if len(parts) == 2 and parts[0] in ("total", "others") and parts[1].isdigit():
                setattr(self, parts[0], int(parts[1]))
            elif len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit() and parts[2]:
                rows.append((int(parts[1]), int(parts[0]), parts[2][:NAME_MAX]))
        for last, count, name in sorted(rows)[-KEEP:]:
            self.add(name, last, count)

    def save(self, path: str) -> None:
        lines = [HEADER, f"total {self.total}", f"others {self.others}"]
        lines += [f"{c} {t} {n}" for n, (c, t) in reversed(self.names.items())]
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)


def main(path: str) -> None:
    refused = Refused()
    refused.load(path)
    with contextlib.suppress(OSError):  # room for bursts: dnsmasq blocks on a full pipe
        fcntl.fcntl(0, F_SETPIPE_SZ, 1 << 20)
    pending = b""
    dirty, written = True, 0.0
    while True:
        ready, _, _ = select.select([0], [], [], WRITE_EVERY)
        if ready:
            chunk = os.read(0, 65536)
            if not chunk:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            if len(pending) > LINE_MAX:
                pending = b""
            now = int(time.time())
            for line in lines:
                if b": config " not in line:
                    continue
                m = REFUSED.search(line)
                if m:
                    refused.add(escape(m.group(1)), now)
                    refused.total += 1
                    dirty = True
        if dirty and time.monotonic() - written >= WRITE_EVERY:
            refused.save(path)
            dirty, written = False, time.monotonic()
    refused.save(path)


if __name__ == "__main__":
    main(sys.argv[1])
