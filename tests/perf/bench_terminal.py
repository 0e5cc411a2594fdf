"""Benchmark: TerminalEmulator against stock pyte and bittty on typical agent output.

A plain script, not a pytest test:  .venv/bin/python tests/perf/bench_terminal.py

Two reproducible streams, fed in PTY-sized chunks to each emulator in the same run:

- `agent`: what a coding agent's terminal receives most of the time. Each frame erases the
  previous frame's lines (`CSI 2K CSI 1A` ...), prints a few coloured log lines above it
  (they scroll the screen once it is full), then redraws a coloured frame (spinner, status,
  truecolor/256 SGR, wide characters, box drawing) inside synchronized output (DEC 2026).
- `mixed`: coloured `git log`-style lines, diffs, progress bars redrawn with carriage returns,
  and the same frames.

For each it prints MB/s (10^6 bytes per second) for TerminalEmulator, stock `pyte.Screen` +
`pyte.ByteStream` and, when the optional `bittty` package is installed (`pip install
'.[bench]'`), bittty's `Board`; the ratios; and whether the targets of issue #15 are met
(agent stream: >= 1.5x bittty, about 11x stock pyte). It checks that the screens are the same:
cell by cell (character and attributes) against stock pyte, text against bittty.

Figures are the best of N runs in CPU time (runs interleaved); on a busy machine the absolute
MB/s still drop, the same-run ratios are what count.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyte

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from widgets.terminal.emulator import TerminalEmulator

COLUMNS, LINES = 120, 40
CHUNK = 4096  # a typical PTY read
REPEATS = 5
TARGET_VS_BITTTY = 1.5
TARGET_VS_PYTE = 11.0
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


def _frame(rng: random.Random, frame: int, height: int) -> str:
    """Claude Code's live area: a status line, a coloured block, the input box."""
    out = [
        f"\x1b[38;2;215;119;87m✻\x1b[39m \x1b[1mWorking…\x1b[22m "
        f"\x1b[2m({frame}s · esc to interrupt)\x1b[22m\r\n"
    ]
    for row in range(height - 3):
        out.append(f"\x1b[48;5;236m \x1b[49m \x1b[38;5;{100 + row}m{_words(rng, 8)}\x1b[39m\r\n")
    out.append("\x1b[38;5;244m╭" + "─" * 60 + "╮\x1b[39m\r\n")
    out.append(f"\x1b[38;5;244m│\x1b[39m > {_words(rng, 3)}\x1b[7m \x1b[27m")
    return "".join(out)


def _erase_frame(height: int) -> str:
    return "\x1b[2K\x1b[1A" * (height - 1) + "\x1b[2K\x1b[G"


def agent_stream(seed: int = 11, frames: int = 600) -> bytes:
    """Erase the live area, print what scrolled into history, redraw the live area."""
    rng = random.Random(seed)
    height = 13
    out: list[str] = []
    for frame in range(frames):
        out.append("\x1b[?2026h")
        if frame:
            out.append(_erase_frame(height))
        if frame % 4 == 0:  # finished output moves above the live area and scrolls
            for _ in range(3):
                sha = f"{rng.getrandbits(28):07x}"
                out.append(f"\x1b[33m{sha}\x1b[m \x1b[1;32m(HEAD)\x1b[m {_words(rng, 7)}\r\n")
        out.append(_frame(rng, frame, height))
        out.append("\x1b[?2026l")
    return "".join(out).encode()


def mixed_stream(seed: int = 7, frames: int = 400) -> bytes:
    """Tool output, diffs, progress bars and frames, one after the other."""
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
            out.append("\x1b[?2026h" + _erase_frame(14) + _frame(rng, frame, 14) + "\x1b[?2026l")
    return "".join(out).encode()


def _feed_all(feed: Callable[[bytes], Any], data: bytes) -> float:
    # CPU time of this process: all three are single-threaded and CPU-bound, and it is far
    # steadier than wall time while other work shares the cores.
    start = time.process_time()
    for offset in range(0, len(data), CHUNK):
        feed(data[offset : offset + CHUNK])
    return time.process_time() - start


class _Ours:
    name = "TerminalEmulator"

    def __init__(self) -> None:
        self.screen = TerminalEmulator(COLUMNS, LINES, scrollback=0)
        self.feed = self.screen.feed

    def text(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]


class _Pyte:
    name = "stock pyte"

    def __init__(self) -> None:
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.feed = pyte.ByteStream(self.screen).feed

    def text(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]


class _Bittty:
    name = "bittty"

    def __init__(self) -> None:
        from bittty import Board  # optional: the `bench` extra, never a runtime import

        self.board = Board(width=COLUMNS, height=LINES)
        self.feed = self.board.feed_host_data

    def text(self) -> list[str]:
        return [line.rstrip() for line in self.board.capture_text(trim=False).split("\n")]


def _bittty_available() -> bool:
    try:
        import bittty  # noqa: F401
    except ImportError:
        return False
    return True


def _cells(screen: pyte.Screen) -> list[list[Any]]:
    return [[screen.buffer[y][x] for x in range(screen.columns)] for y in range(screen.lines)]


def measure(label: str, data: bytes, kinds: list[type]) -> dict[str, float]:
    """Best-of-REPEATS MB/s per emulator, runs interleaved so load hits them alike."""
    best = dict.fromkeys((kind.name for kind in kinds), float("inf"))
    last: dict[str, Any] = {}
    for _ in range(REPEATS):
        for kind in kinds:
            emulator = kind()
            best[kind.name] = min(best[kind.name], _feed_all(emulator.feed, data))
            last[kind.name] = emulator
    ours, stock = last[_Ours.name], last[_Pyte.name]
    assert ours.text() == stock.text(), f"{label}: text differs from stock pyte"
    assert _cells(ours.screen) == _cells(stock.screen), f"{label}: cells differ from stock pyte"
    assert (ours.screen.cursor.x, ours.screen.cursor.y) == (
        stock.screen.cursor.x,
        stock.screen.cursor.y,
    ), f"{label}: cursor differs from stock pyte"
    if _Bittty.name in last:
        assert ours.text() == last[_Bittty.name].text(), f"{label}: text differs from bittty"
    mb = len(data) / 1e6
    size = f"{len(data):,} bytes, {COLUMNS}x{LINES}, {CHUNK}-byte reads"
    print(f"\n{label}: {size}, best of {REPEATS}")
    for name, seconds in best.items():
        print(f"  {name:17}: {seconds * 1000:8.1f} ms  {mb / seconds:6.2f} MB/s")
    ratios = {name: best[name] / best[_Ours.name] for name in best if name != _Ours.name}
    for name, ratio in ratios.items():
        print(f"  vs {name:14}: {ratio:6.2f}x")
    return ratios


def main() -> None:
    kinds: list[type] = [_Ours, _Pyte]
    if _bittty_available():
        kinds.append(_Bittty)
    else:
        print("bittty is not installed (pip install '.[bench]'): measured against stock pyte only")
    agent = measure("agent stream", agent_stream(), kinds)
    measure("mixed stream", mixed_stream(), kinds)
    print("\nscreens identical (cells vs stock pyte, text vs bittty when installed)")
    met = "met" if agent[_Pyte.name] >= TARGET_VS_PYTE else "NOT met"
    print(f"target agent >= {TARGET_VS_PYTE:g}x stock pyte: {agent[_Pyte.name]:.2f}x, {met}")
    if _Bittty.name in agent:
        met = "met" if agent[_Bittty.name] >= TARGET_VS_BITTTY else "NOT met"
        print(f"target agent >= {TARGET_VS_BITTTY:g}x bittty: {agent[_Bittty.name]:.2f}x, {met}")


if __name__ == "__main__":
    main()
