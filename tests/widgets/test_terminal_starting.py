"""The terminal's "starting…" line while its channel waits for the session to be ready, and
the reason shown when the owner found out why the program ended."""

from __future__ import annotations

import threading

from textual.app import App, ComposeResult

from tests.fakes import ScriptedChannel
from tests.waiting import until
from widgets.terminal.widget import TerminalWidget

STARTING = "starting… waiting for the session to be ready"


class SlowChannel(ScriptedChannel):
    """Its start blocks until `go` is set, as an attach waiting for the init's "ready"."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    def start(self, rows: int, columns: int) -> None:
        self.go.wait(30)
        super().start(rows, columns)


class SlowApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.channel = SlowChannel()

    def compose(self) -> ComposeResult:
        yield TerminalWidget(lambda: self.channel, cursor_blink=False, starting_text=STARTING)


def _last_line(term: TerminalWidget) -> str:
    return term.render_line(term.size.height - 1).text


async def test_starting_line_until_the_first_output_then_the_end_reason() -> None:
    app = SlowApp()
    async with app.run_test(size=(80, 10)) as pilot:
        term = app.query_one(TerminalWidget)
        await until(pilot, lambda: term.starting, "the terminal started")
        assert STARTING in _last_line(term)
        app.channel.go.set()
        app.channel.emit(b"agent$ ")
        await until(pilot, lambda: "agent$" in term.screen_text, "the program's output")
        assert not term.starting and STARTING not in _last_line(term)
        app.channel.end(137)
        await until(pilot, lambda: term.exited, "the program's end")
        assert "program exited (137)" in _last_line(term)
        term.show_end_reason("the session stopped (exit 137)")
        assert "the session stopped (exit 137) — Enter or r" in _last_line(term)
