"""Real programs through LocalPty into TerminalWidget, asserting on what the screen shows."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from ptyprocess import PtyProcess
from textual.app import App, ComposeResult
from textual.widgets import Footer, Input

from tests.waiting import until
from widgets.terminal.local_pty import LocalPty
from widgets.terminal.widget import LEAVE_KEY, TerminalWidget

SIZE = (120, 40)
ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PS1": "$ ",
    "LESS": "",
    "PAGER": "less",
}


class TerminalApp(App[None]):
    """A tiny host: the terminal and something else to move focus to."""

    ENABLE_COMMAND_PALETTE = False  # ctrl+p is a priority binding; shells need it

    def __init__(self, argv: list[str]) -> None:
        super().__init__()
        self.argv = argv
        self.messages: list[object] = []
        self.ptys: list[LocalPty] = []

    def compose(self) -> ComposeResult:
        yield TerminalWidget(self._pty, cursor_blink=False, id="term")
        yield Input(id="other")
        yield Footer()

    def _pty(self) -> LocalPty:
        pty = LocalPty(self.argv, env=ENV, cwd="/tmp")
        self.ptys.append(pty)
        return pty

    def program(self) -> PtyProcess | None:
        """The program, once started on its PTY."""
        return self.ptys[-1].process if self.ptys else None

    def on_mount(self) -> None:
        self.query_one(TerminalWidget).focus()

    def on_terminal_widget_exited(self, message: TerminalWidget.Exited) -> None:
        self.messages.append(message)

    def on_terminal_widget_title_changed(self, message: TerminalWidget.TitleChanged) -> None:
        self.messages.append(message)


async def wait_for(pilot, predicate: Callable[[], object], timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    try:
        await until(pilot, predicate, "the screen", timeout)
    except AssertionError as exc:
        term = pilot.app.query_one(TerminalWidget)
        raise AssertionError(f"{exc}; it was:\n{term.screen_text}") from None


def screen_has(term: TerminalWidget, text: str) -> Callable[[], bool]:
    return lambda: text in term.screen_text


def last_line(term: TerminalWidget) -> str:
    return term.screen_text.rstrip().rsplit("\n", 1)[-1]


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    keys = [
        {
            " ": "space",
            "\n": "enter",
            "|": "vertical_line",
            "-": "minus",
            "'": "apostrophe",
            ".": "full_stop",
            "/": "slash",
            ";": "semicolon",
            "$": "dollar_sign",
            ">": "greater_than_sign",
            "=": "equals_sign",
            ":": "colon",
            '"': "quotation_mark",
            "_": "underscore",
            "*": "asterisk",
            "&": "ampersand",
            "(": "left_parenthesis",
            ")": "right_parenthesis",
            "%": "percent_sign",
            ",": "comma",
            "\\": "backslash",
        }.get(ch, ch)
        for ch in text
    ]
    await pilot.press(*keys)


BASH = ["bash", "--norc", "--noprofile", "-i"]


async def test_bash_runs_a_command_and_shows_colours() -> None:
    app = TerminalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        term = app.query_one(TerminalWidget)
        await wait_for(pilot, screen_has(term, "$"))
        await type_text(pilot, "printf '\\e[31mred\\e[0m %s\\n' done\n")
        await wait_for(
            pilot, lambda: any(line.startswith("red done") for line in term.display_lines)
        )
        row = next(y for y, line in enumerate(term.display_lines) if line.startswith("red"))
        assert term.emulator.buffer[row][0].fg == "red"
        assert term.emulator.buffer[row][4].fg == "default"
        # The terminal size reached the program through the PTY.
        await type_text(pilot, "echo size=$(tput cols)x$(tput lines)\n")
        width, height = term.size
        assert (term.emulator.columns, term.emulator.lines) == (width, height)
        await wait_for(pilot, screen_has(term, f"size={width}x{height}"))


async def test_vim_alternate_screen_and_back(tmp_path: Path) -> None:
    written = tmp_path / "vim-test.txt"
    app = TerminalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        term = app.query_one(TerminalWidget)
        await wait_for(pilot, screen_has(term, "$"))
        await type_text(pilot, "echo before-vim\n")
        await wait_for(pilot, screen_has(term, "before-vim\n$"))
        await type_text(pilot, f"vim -u NONE -N {written}\n")
        await wait_for(pilot, lambda: term.emulator.in_alternate_screen and "~" in term.screen_text)
        assert "before-vim" not in term.screen_text
        await type_text(pilot, "ihello from vim")
        await pilot.press("escape")
        await wait_for(pilot, screen_has(term, "hello from vim"))
        assert term.display_lines[0] == "hello from vim"
        await type_text(pilot, ":wq\n")
        await wait_for(pilot, lambda: not term.emulator.in_alternate_screen)
        # The main screen is back as it was, with the prompt after the vim command.
        await wait_for(pilot, screen_has(term, "before-vim"))
        assert "hello from vim" not in term.screen_text
        assert written.read_text() == "hello from vim\n"


async def test_less_pages_and_quits() -> None:
    app = TerminalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        term = app.query_one(TerminalWidget)
        await wait_for(pilot, screen_has(term, "$"))
        await type_text(pilot, "seq 1 500 | less\n")
        await wait_for(
            pilot, lambda: term.emulator.in_alternate_screen and term.display_lines[0] == "1"
        )
        height = term.size.height
        assert term.display_lines[height - 2] == str(height - 1)
        await pilot.press("space")
        await wait_for(pilot, lambda: term.display_lines[0] == str(height))
        await pilot.press("G")
        await wait_for(pilot, screen_has(term, "500"))
        await pilot.press("q")
        await wait_for(pilot, lambda: not term.emulator.in_alternate_screen)
        await wait_for(pilot, screen_has(term, "seq 1 500 | less"))
        assert "250" not in term.screen_text


async def test_top_draws_full_screen() -> None:
    if shutil.which("top") is None:
        pytest.skip("procps is not installed")
    app = TerminalApp(["top", "-d", "0.5"])
    async with app.run_test(size=SIZE) as pilot:
        term = app.query_one(TerminalWidget)
        await wait_for(
            pilot, lambda: "PID" in term.screen_text and "load average" in term.screen_text
        )
        assert term.display_lines[0].startswith("top - ")
        await pilot.press("q")
        await wait_for(pilot, lambda: term.exited)
        assert term.exit_code == 0


async def test_exit_then_restart_and_leave_key() -> None:
    app = TerminalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        term = app.query_one(TerminalWidget)
        await wait_for(pilot, screen_has(term, "$"))
        await type_text(pilot, "exit 3\n")
        await wait_for(pilot, lambda: term.exited)
        assert term.exit_code == 3
        await pilot.pause()
        exited = [m for m in app.messages if isinstance(m, TerminalWidget.Exited)]
        assert exited and exited[0].exit_code == 3
        # The banner offers a restart; Enter restarts on a clean screen.
        banner = term.render_line(term.size.height - 1).text
        assert "exited (3)" in banner and "Enter or r" in banner
        await pilot.press("enter")
        await wait_for(pilot, lambda: not term.exited and "$" in term.screen_text)
        assert "exit 3" not in term.screen_text
        await type_text(pilot, "echo again\n")
        await wait_for(pilot, screen_has(term, "again"))
        # The leave key moves focus out; the shell never sees it.
        assert app.focused is term
        await pilot.press(LEAVE_KEY)
        assert app.focused is app.query_one(Input)
        await pilot.press("x")
        assert app.query_one(Input).value == "x"


async def test_control_keys_reach_the_program() -> None:
    app = TerminalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        term = app.query_one(TerminalWidget)
        await wait_for(pilot, screen_has(term, "$"))
        # Tab completes (not focus change), ctrl+c interrupts, ctrl+p recalls history.
        await type_text(pilot, "echo one\n")
        await wait_for(pilot, screen_has(term, "one\n$"))
        await type_text(pilot, "sleep 30")
        await pilot.press("enter")
        shell = app.program()
        assert shell is not None
        await wait_for(pilot, lambda: os.tcgetpgrp(shell.fd) != shell.pid)  # sleep in front
        await pilot.press("ctrl+c")
        await wait_for(
            pilot, lambda: "^C" in term.screen_text and os.tcgetpgrp(shell.fd) == shell.pid
        )
        # The tty's "^C" echo and bash's newline race in the kernel: under load the prompt lands
        # on the "^C" line and readline's idea of its column is two off, so its history redraw
        # overwrites the wrong cells (in tmux too). Ctrl+L has readline redraw a clean prompt.
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "sleep" not in term.screen_text and last_line(term) == "$")
        await pilot.press("ctrl+p", "ctrl+p")
        await wait_for(pilot, lambda: last_line(term) == "$ echo one")
        await pilot.press("tab")  # completion, not a focus change
        assert app.focused is term


async def test_resize_propagates_to_the_program() -> None:
    app = TerminalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        term = app.query_one(TerminalWidget)
        await wait_for(pilot, screen_has(term, "$"))
        await pilot.resize_terminal(100, 30)
        await wait_for(pilot, lambda: term.emulator.columns == 100)
        shell = app.program()
        assert shell is not None
        await wait_for(pilot, lambda: shell.getwinsize() == (term.size.height, 100))
        await type_text(pilot, "stty size\n")
        await wait_for(pilot, screen_has(term, f"{term.size.height} 100"))


async def test_paste_is_bracketed_when_asked() -> None:
    app = TerminalApp(["cat", "-v"])
    async with app.run_test(size=SIZE) as pilot:
        term = app.query_one(TerminalWidget)
        await wait_for(pilot, app.program)
        term.post_message(__import__("textual.events", fromlist=["Paste"]).Paste("abc"))
        await pilot.press("enter")
        await wait_for(pilot, screen_has(term, "abc"))
        # A program that enables bracketed paste gets the markers (cat -v shows ESC as ^[).
        term.emulator.feed(b"\x1b[?2004h")
        term.post_message(__import__("textual.events", fromlist=["Paste"]).Paste("xyz"))
        await pilot.press("enter")
        await wait_for(pilot, screen_has(term, "^[[200~xyz^[[201~"))
