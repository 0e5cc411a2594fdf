"""The cursor blinks only where it is drawn and while the terminal is busy: focused and in
sight, until BLINK_IDLE without a key or output (then steady, nothing redrawn: an idle
dashboard costs no frames); a key or output makes it blink again."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

import widgets.terminal.widget as terminal_widget
from tests.fakes import ScriptedChannel
from tests.waiting import until
from widgets.terminal.widget import TerminalWidget


class BlinkApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.channels: list[ScriptedChannel] = []

    def make_channel(self) -> ScriptedChannel:
        channel = ScriptedChannel()
        self.channels.append(channel)
        return channel

    def compose(self) -> ComposeResult:
        yield TerminalWidget(self.make_channel)
        yield Input()

    def on_mount(self) -> None:
        self.query_one(TerminalWidget).focus()


def timer_running(term: TerminalWidget) -> bool:
    timer = term._blink_timer
    return timer is not None and timer._active.is_set()


@pytest.fixture
def short_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal_widget, "BLINK_IDLE", 0.6)


async def test_blinks_while_busy_then_steady_until_a_key(short_idle: None) -> None:
    app = BlinkApp()
    async with app.run_test(size=(40, 8)) as pilot:
        term = app.query_one(TerminalWidget)
        await until(pilot, lambda: bool(app.channels), "the channel")
        seen_off = False

        def off_once() -> bool:
            nonlocal seen_off
            seen_off = seen_off or not term._blink_on
            return seen_off

        await until(pilot, off_once, "the cursor blinking off while focused and busy")
        await until(pilot, lambda: not term._blinks(), "blinking stopping when idle")
        await until(pilot, lambda: term._blink_on, "the cursor steady (shown) when idle")
        await until(pilot, lambda: not timer_running(term), "the blink timer paused when idle")
        await pilot.press("x")
        assert term._blinks() and timer_running(term), "a key makes it blink again"
        await until(pilot, lambda: not timer_running(term), "idle again")
        app.channels[0].emit(b"out")
        await until(pilot, lambda: "out" in term.screen_text, "the output")
        assert term._blinks() and timer_running(term), "output makes it blink again"


async def test_no_blinking_without_focus(short_idle: None) -> None:
    app = BlinkApp()
    async with app.run_test(size=(40, 8)) as pilot:
        term = app.query_one(TerminalWidget)
        await until(pilot, lambda: bool(app.channels), "the channel")
        app.query_one(Input).focus()
        await until(pilot, lambda: not term.has_focus, "the focus leaving")
        assert not term._blinks() and not timer_running(term)
        assert term._blink_on, "the cursor is left shown, to be steady when focus comes back"
        app.channels[0].emit(b"more output")
        await until(pilot, lambda: "more output" in term.screen_text, "the output")
        assert not term._blinks(), "output without focus does not blink a cursor not drawn"
