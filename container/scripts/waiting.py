"""Follows the agent's notification file (container/watch.py: WaitingWatcher), run in the
session AS THE AGENT as `python3 -I -S -c SOURCE PATH`: the file and /tmp are the agent's to
plant links or FIFOs in; root never opens them.

Regular files only, opened without following links and without blocking; only the tail of
what was appended is read, and at most its last complete line is passed on, cut short: at most
two short lines a second whatever the agent writes. It ends when its stdin closes, i.e. when
the dashboard's connection goes (the engine keeps an exec running after its client left).
"""

from __future__ import annotations

import os
import select
import stat
import sys


def main() -> None:
    path, tick, tail, width = sys.argv[1], 0.5, 4096, 200
    seen: tuple[int, int] | None = None
    pos, first = 0, True
    while True:
        if select.select([0], [], [], tick)[0] and not os.read(0, 512):
            break
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError:
            seen, first = None, False
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                seen, first = None, False
                continue
            if (st.st_dev, st.st_ino) != seen:
                seen, pos = (st.st_dev, st.st_ino), (st.st_size if first else 0)
            first = False
            if st.st_size < pos:
                pos = 0
            if st.st_size == pos:
                continue
            start = max(pos, st.st_size - tail)
            data = os.pread(fd, st.st_size - start, start)
        finally:
            os.close(fd)
        end = data.rfind(b"\n")
        if end < 0:
            pos = start + len(data) if len(data) >= tail else pos
            continue
        pos = start + end + 1
        line = data[:end].rsplit(b"\n", 1)[-1][:width]
        sys.stdout.buffer.write(line + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
