"""The emulator shows the same screen as tmux for the same bytes: recordings of real programs
(bash, less, top, vim), the agent-style streams of the terminal benchmark, combining and wide
characters. tmux is what runs the agents inside each session, so it is the reference.

Each stream is written with `cat` into a detached tmux pane of the same size (the pane's tty
in raw mode, so no byte is translated), then `capture-pane` is compared line by line with the
emulator's display, and the cursor with tmux's."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.perf.bench_terminal import agent_stream, mixed_stream
from widgets.terminal.emulator import TerminalEmulator

DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def tmux_screen(
    data: bytes, columns: int, lines: int, tmp: Path
) -> tuple[list[str], tuple[int, int]]:
    """What a tmux pane of this size shows after receiving `data`, and its cursor."""
    stream = tmp / "stream.bin"
    stream.write_bytes(data)
    config = tmp / "tmux.conf"
    config.write_text("set -g status off\n")
    server = f"claudextest-emulator-{uuid.uuid4().hex[:12]}"
    tmux = ["tmux", "-L", server, "-f", str(config)]
    command = f"stty raw -echo; cat {stream}; tmux -L {server} wait-for -S written; sleep 600"
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", str(columns), "-y", str(lines), command], check=True
    )
    try:
        subprocess.run([*tmux, "wait-for", "written"], check=True, timeout=60)
        shown = subprocess.run(
            [*tmux, "capture-pane", "-p"], check=True, capture_output=True, text=True
        ).stdout
        cursor = subprocess.run(
            [*tmux, "display-message", "-p", "#{cursor_x} #{cursor_y}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / server).unlink(missing_ok=True)  # the server leaves its socket behind
    rows = shown.split("\n")[:lines]
    return rows + [""] * (lines - len(rows)), (int(cursor[0]), int(cursor[1]))


def emulator_screen(data: bytes, columns: int, lines: int) -> tuple[list[str], tuple[int, int]]:
    emulator = TerminalEmulator(columns, lines, on_reply=lambda reply: None)
    for offset in range(0, len(data), 4096):
        emulator.feed(data[offset : offset + 4096])
    return emulator.display, emulator.cursor_xy


CASES = {
    **{path.stem: (path.read_bytes(), 80, 24) for path in sorted(DATA.glob("*.bin"))},
    "agent": (agent_stream(frames=80), 120, 40),
    "mixed": (mixed_stream(frames=80), 120, 40),
    # Marks after ASCII, after a precomposed letter, after a wide character, in colour; the
    # variation selector stays with its heart. (tmux 3.3 moves a zero-width joiner to the
    # next character, so none is used here.)
    "combining": (
        "e\u0301 cafe\u0301 \u00e9\u0301 中\u0301文 ❤\ufe0f n\u0303o\r\n"
        "abc\x1b[31mde\u0301f\x1b[m a\u0308\u0304 x\r\n".encode(),
        40,
        4,
    ),
    # Wide characters wrapping at the margin, over the stub of another, and over old text.
    "wide": (
        (
            "zzzzzzzzzz\x1b[1;1Habcdefgh中文字\x1b[3;9H🙂\x1b[3;10H中x\x1b[5;1H"
            + "中" * 12
            + "\x1b[1;5Hxy\x1b[2;2Hq"
        ).encode(),
        10,
        6,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_same_screen_as_tmux(name: str, tmp_path: Path) -> None:
    data, columns, lines = CASES[name]
    ours, our_cursor = emulator_screen(data, columns, lines)
    theirs, their_cursor = tmux_screen(data, columns, lines, tmp_path)
    assert [row.rstrip() for row in ours] == [row.rstrip() for row in theirs]
    assert our_cursor == their_cursor
