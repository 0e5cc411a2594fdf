"""The emulator never raises and stays consistent, whatever bytes arrive."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from widgets.terminal.emulator import TerminalEmulator

DATA = Path(__file__).parent / "data"
RECORDINGS = sorted(DATA.glob("*.bin"))
# Fragments that tend to reach odd corners: partial and nested sequences, huge parameters,
# C1 controls, mode switches, resizes of the alternate screen.
FRAGMENTS = [
    b"\x1b",
    b"\x1b[",
    b"\x1b[?",
    b"\x1b]",
    b"\x1bP",
    b"\x9b",
    b"\x9d",
    b"\x07",
    b"\x1b\\",
    b";",
    b":",
    b"99999",
    b"\x1b[?1049h",
    b"\x1b[?1049l",
    b"\x1b[?47h",
    b"\x1b[r",
    b"\x1b[2;1r",
    b"\x1b[?6h",
    b"\x1b[99;99H",
    b"\x1b[>4;2m",
    b"\x1b[4:3m",
    b"\x1b[38;2;999;1m",
    b"\x1b[38;5;300m",
    b"\x1b(0",
    b"\x0e",
    b"\x0f",
    b"\x1b#8",
    "中🙂\u0301\ufe0f".encode(),
    b"\xff\xfe",
    b"\x1b[9999b",
    b"\x1b[?2026h",
    b"\x1b[2J",
    b"\x1b[3J",
    b"\x1bc",
    b"\x1b[!p",
    b"\x1b[0 q",
    b"\x1b[?3h",
    b"\x1b[4h",
    b"\x1b[20h",
    b"\x1b[9999@",
    b"\x1b[9999L",
    b"\x1b[9999M",
    b"\r\n",
    b"\t",
    b"\x08",
    b"\x1b[Z",
    b"\x1b[9999I",
    b"\x1b7",
    b"\x1b8",
    b"\x1bM",
]


def check(emulator: TerminalEmulator) -> None:
    display = emulator.display
    assert len(display) == emulator.lines
    assert 0 <= emulator.cursor.y < emulator.lines
    assert 0 <= emulator.cursor.x <= emulator.columns
    x, y = emulator.cursor_xy
    assert 0 <= x < emulator.columns and 0 <= y < emulator.lines
    assert all(len(line) <= emulator.columns * 4 for line in emulator.scrollback_display)
    # The buffer is `lines` lines of `columns` cells, on both screens, whatever came.
    for buffer in (emulator.buffer, emulator._other_buffer()):
        assert len(buffer) == emulator.lines
        assert all(len(line) == emulator.columns for line in buffer)


@pytest.mark.parametrize("seed", range(30))
def test_random_bytes(seed: int) -> None:
    rng = random.Random(seed)
    emulator = TerminalEmulator(
        rng.randint(1, 90), rng.randint(1, 30), scrollback=50, on_reply=lambda data: None
    )
    for _ in range(60):
        emulator.feed(rng.randbytes(rng.randint(0, 300)))
        if rng.random() < 0.05:
            emulator.resize(rng.randint(1, 40), rng.randint(1, 100))
    check(emulator)


@pytest.mark.parametrize("seed", range(30))
def test_random_fragments(seed: int) -> None:
    rng = random.Random(1000 + seed)
    emulator = TerminalEmulator(rng.randint(2, 60), rng.randint(2, 20), scrollback=20)
    for _ in range(400):
        emulator.feed(rng.choice(FRAGMENTS) if rng.random() < 0.7 else rng.randbytes(3))
        if rng.random() < 0.02:
            emulator.resize(rng.randint(1, 30), rng.randint(1, 80))
    check(emulator)


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", range(8))
def test_mutated_recordings(recording: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = bytearray(recording.read_bytes())
    for _ in range(max(1, len(data) // 50)):
        position = rng.randrange(len(data))
        action = rng.random()
        if action < 0.4:
            data[position] = rng.randrange(256)
        elif action < 0.7:
            del data[position : position + rng.randint(1, 8)]
        else:
            data[position:position] = rng.choice(FRAGMENTS)
    emulator = TerminalEmulator(80, 24, on_reply=lambda data: None)
    # Feed in random-sized reads so sequences are split at every kind of boundary.
    offset = 0
    while offset < len(data):
        step = rng.randint(1, 700)
        emulator.feed(bytes(data[offset : offset + step]))
        offset += step
    check(emulator)
