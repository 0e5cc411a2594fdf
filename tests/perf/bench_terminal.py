"""Benchmark: TerminalEmulator against stock pyte on typical agent output.

A plain script, not a pytest test:  .venv/bin/python tests/perf/bench_terminal.py

It generates a stream like a coding agent's (coloured log lines with 16/256/truecolor SGR,
diffs, progress bars with carriage returns, cursor moves, and Claude-Code-style frames that
erase and redraw the bottom of the screen inside synchronized output), feeds it in PTY-sized
chunks through stock `pyte.Screen` + `pyte.ByteStream` and through `TerminalEmulator`,
prints both times and the ratio, and asserts that the two screens are identical cell by cell.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import pyte

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from widgets.terminal.emulator import TerminalEmulator

COLUMNS, LINES = 120, 40
CHUNK = 4096  # a typical PTY read
WORDS = (
    "const",
    "return",
    "function",
    "import",
    "self",
    "await",
    "value",
    "result",
    "error",
    "config",
    "session",
    "container",
    "terminal",
    "render",
    "update",
    "index",
    "token",
    "中文",
    "测试",
    "✓",
    "→",
    "…",
)


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def agent_stream(seed: int = 7, frames: int = 400) -> bytes:
    """A reproducible stream shaped like an agent session."""
    rng = random.Random(seed)
    out: list[str] = []
    for frame in range(frames):
        kind = frame % 4
        if kind == 0:  # tool output: coloured log lines, like `git log --color` or pytest
            for _ in range(12):
                sha = f"{rng.getrandbits(28):07x}"
                out.append(f"\x1b[33m{sha}\x1b[m \x1b[1;32m(HEAD)\x1b[m {_words(rng, 7)}\r\n")
                out.append(
                    f"\x1b[38;5;{rng.randrange(256)}m{_words(rng, 5)}\x1b[0m "
                    f"\x1b[38;2;{rng.randrange(256)};{rng.randrange(256)};"
                    f"{rng.randrange(256)}m{_words(rng, 4)}\x1b[39m\r\n"
                )
        elif kind == 1:  # a diff
            for _ in range(10):
                sign, colour = rng.choice((("+", 32), ("-", 31), (" ", 39)))
                out.append(f"\x1b[{colour}m{sign} {_words(rng, 9)}\x1b[m\r\n")
        elif kind == 2:  # a progress bar redrawn in place
            for step in range(0, 101, 10):
                bar = "█" * (step // 5) + "░" * (20 - step // 5)
                out.append(f"\r\x1b[K\x1b[36m{bar}\x1b[0m {step:3d}% {_words(rng, 2)}")
            out.append("\r\n")
        else:  # Claude Code's frame: erase the previous frame's lines, draw the new one
            height = 14
            out.append("\x1b[?2026h")
            out.append("\x1b[2K\x1b[1A" * (height - 1) + "\x1b[2K\x1b[G")
            out.append(
                f"\x1b[38;2;215;119;87m✻\x1b[39m \x1b[1mWorking…\x1b[22m "
                f"\x1b[2m({frame}s · esc to interrupt)\x1b[22m\r\n"
            )
            for row in range(height - 3):
                out.append(
                    f"\x1b[48;5;236m \x1b[49m \x1b[38;5;{100 + row}m{_words(rng, 8)}\x1b[39m\r\n"
                )
            out.append("\x1b[38;5;244m╭" + "─" * 60 + "╮\x1b[39m\r\n")
            out.append(f"\x1b[38;5;244m│\x1b[39m > {_words(rng, 3)}\x1b[7m \x1b[27m")
            out.append("\x1b[?2026l")
    return "".join(out).encode()


def _cells(screen: pyte.Screen) -> list[list[pyte.screens.Char]]:
    return [[screen.buffer[y][x] for x in range(screen.columns)] for y in range(screen.lines)]


def _run(screen: pyte.Screen, feed, data: bytes) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for offset in range(0, len(data), CHUNK):
        feed(data[offset : offset + CHUNK])
    return time.perf_counter() - start


def main() -> None:
    data = agent_stream()
    repeats = 5
    best_pyte = best_ours = float("inf")
    for _ in range(repeats):
        stock = pyte.Screen(COLUMNS, LINES)
        stream = pyte.ByteStream(stock)
        best_pyte = min(best_pyte, _run(stock, stream.feed, data))
        ours = TerminalEmulator(COLUMNS, LINES, scrollback=0)
        best_ours = min(best_ours, _run(ours, ours.feed, data))

    assert ours.display == stock.display, "display differs from stock pyte"
    assert _cells(ours) == _cells(stock), "cell attributes differ from stock pyte"
    assert (ours.cursor.x, ours.cursor.y) == (stock.cursor.x, stock.cursor.y)

    mib = len(data) / (1 << 20)
    print(
        f"stream: {len(data):,} bytes ({mib:.2f} MiB), {COLUMNS}x{LINES}, "
        f"{CHUNK}-byte chunks, best of {repeats}"
    )
    print(f"stock pyte       : {best_pyte * 1000:8.1f} ms  ({mib / best_pyte:6.2f} MiB/s)")
    print(f"TerminalEmulator : {best_ours * 1000:8.1f} ms  ({mib / best_ours:6.2f} MiB/s)")
    print(f"speed-up         : {best_pyte / best_ours:8.2f}x  (screens identical)")


if __name__ == "__main__":
    main()
