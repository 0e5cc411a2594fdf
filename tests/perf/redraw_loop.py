"""An agent's live area, redrawn like Claude Code's: 20 times a second, erase the last frame's
13 lines and draw a coloured frame inside synchronized output (DEC 2026), about 40 KB/s.

Runs inside a session (Debian's python3, standard library only), typed into the agent's tmux
by bench_dashboard.py:  python3 redraw_loop.py LABEL
The benchmark imports `frame` too, to print the rate it loads each session with.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

FPS = 20
LINES = 13
WIDTH = 64  # visible columns: fits the dashboard's terminal (about 80 wide in 120x40)
SPINNER = "·✢✳✶✻✽"
WORDS = ("read", "edit", "bash", "grep", "test", "build", "diff", "plan", "write", "check")


def _rgb(n: int) -> str:
    return f"\x1b[38;2;{80 + n * 37 % 170};{90 + n * 53 % 160};{100 + n * 71 % 150}m"


def frame(i: int, label: str) -> bytes:
    """Frame `i`: erase the previous frame's lines, then the new one, bracketed by DEC 2026."""
    out = ["\x1b[?2026h", "\x1b[2K\x1b[1A" * (LINES - 1), "\x1b[2K\x1b[G"]
    spin = SPINNER[i % len(SPINNER)]
    out.append(
        f"\x1b[38;2;215;119;87m{spin}\x1b[39m \x1b[1mWorking…\x1b[22m "
        f"\x1b[2m({i // FPS}s · {label} · esc to interrupt)\x1b[22m\r\n"
    )
    out.append("\x1b[2m╭" + "─" * (WIDTH - 2) + "╮\x1b[22m\r\n")
    for row in range(LINES - 3):
        text = ""
        n = i + row
        # Visible length only: the escapes take no columns.
        while len(_visible(text)) + len(WORDS[n % len(WORDS)]) + 1 <= WIDTH - 4:
            word = WORDS[n % len(WORDS)]
            # Some words coloured, as in an agent's output (about 40 KB/s in all).
            text += f"{_rgb(n)}{word}\x1b[39m " if n % 4 == 0 else f"{word} "
            n += 7
        pad = WIDTH - 4 - len(_visible(text))
        out.append(f"\x1b[2m│\x1b[22m {text}{' ' * max(pad, 0)} \x1b[2m│\x1b[22m\r\n")
    out.append("\x1b[2m╰" + "─" * (WIDTH - 2) + "╯\x1b[22m")
    out.append("\x1b[?2026l")
    return "".join(out).encode()


def _visible(text: str) -> str:
    plain, escape = [], False
    for ch in text:
        if ch == "\x1b":
            escape = True
        elif escape:
            escape = ch != "m"
        else:
            plain.append(ch)
    return "".join(plain)


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else "agent"
    os.write(1, b"\r\n" * (LINES - 1))  # room for the first frame to erase
    start = time.monotonic()
    i = 0
    while True:
        os.write(1, frame(i, label))
        i += 1
        # On a schedule, not "sleep 50 ms": a slow write does not lower the rate.
        time.sleep(max(0.0, start + i / FPS - time.monotonic()))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends it, as it ends an agent's tool
        main()
