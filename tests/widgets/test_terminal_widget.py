"""TerminalWidget behaviour with an in-memory channel: rendering, frames, mouse, scrollback.

The channel here is a stand-in for the far side only; the widget, pump and emulator are real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer

import widgets.terminal.frames
from tests.fakes import ScriptedChannel
from tests.waiting import until
from widgets.terminal.widget import TerminalWidget


class HostApp(App[None]):
    ENABLE_COMMAND_PALETTE = False

    def __init__(self) -> None:
        super().__init__()
        self.channels: list[ScriptedChannel] = []
        self.messages: list[object] = []

    def make_channel(self) -> ScriptedChannel:
        channel = ScriptedChannel()
        self.channels.append(channel)
        return channel

    def compose(self) -> ComposeResult:
        yield TerminalWidget(self.make_channel, cursor_blink=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TerminalWidget).focus()

    def on_terminal_widget_title_changed(self, message: TerminalWidget.TitleChanged) -> None:
        self.messages.append(message)

    def on_terminal_widget_bell(self, message: TerminalWidget.Bell) -> None:
        self.messages.append(message)


async def settle(pilot, predicate: Callable[[], object], what: str = "the terminal") -> None:  # type: ignore[no-untyped-def]
    await until(pilot, predicate, what)


def drawn(term: TerminalWidget) -> bool:
    """What the emulator holds is in the widget's frame (what render_line shows)."""
    return not term.emulator.dirty


def inputs(channel: ScriptedChannel) -> bytes:
    return b"".join(channel.written)


@asynccontextmanager
async def running() -> AsyncIterator[tuple[Pilot[None], HostApp, TerminalWidget, ScriptedChannel]]:
    """A HostApp at 60x12 whose terminal has started its first channel."""
    app = HostApp()
    async with app.run_test(size=(60, 12)) as pilot:
        await settle(pilot, lambda: bool(app.channels))
        yield pilot, app, app.query_one(TerminalWidget), app.channels[0]


async def test_renders_colours_and_cursor() -> None:
    async with running() as (pilot, _, term, channel):
        assert channel.sizes[0] == (term.size.height, term.size.width)
        channel.emit(b"\x1b[1;31mred\x1b[0m \x1b[38;2;0;128;255mblue\x1b[0m")
        await settle(pilot, lambda: "red blue" in term.screen_text)
        strip = term.render_line(0)
        red = next(s for s in strip if s.text.startswith("red"))
        assert red.style is not None and red.style.bold and red.style.color is not None
        assert red.style.color.triplet is not None or red.style.color.number == 1
        blue = next(s for s in strip if s.text.startswith("blue"))
        assert blue.style is not None and blue.style.color is not None
        assert blue.style.color.get_truecolor().hex == "#0080ff"
        # The cursor (after "blue") is drawn as a reversed cell.
        cursor = [s for s in strip if s.style and s.style.reverse]
        assert cursor and cursor[0].text == " "


async def test_synchronized_output_holds_the_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hold longer than any check below can take on a loaded machine (a frame held that long
    # is drawn anyway; the complete one is drawn then too).
    monkeypatch.setattr(widgets.terminal.frames, "SYNC_TIMEOUT", 3.0)
    async with running() as (pilot, _, term, channel):
        channel.emit(b"old")
        await settle(pilot, lambda: term.render_line(0).text.startswith("old"))
        channel.emit(b"\x1b[?2026h\r\x1b[Knew half")
        await settle(pilot, lambda: "new half" in term.screen_text)
        await pilot.pause()
        assert term.render_line(0).text.startswith("old")  # the half frame is not shown
        channel.emit(b" and rest\x1b[?2026l")
        await settle(pilot, lambda: term.render_line(0).text.startswith("new half and rest"))


async def test_title_and_bell_messages() -> None:
    async with running() as (pilot, app, _, channel):
        channel.emit(b"\x1b]2;agent: working\x07\x07")
        await settle(pilot, lambda: len(app.messages) >= 2)
        titles = [m.title for m in app.messages if isinstance(m, TerminalWidget.TitleChanged)]
        assert titles == ["agent: working"]
        assert any(isinstance(m, TerminalWidget.Bell) for m in app.messages)


async def test_queries_are_answered_through_the_channel() -> None:
    async with running() as (pilot, _, _, channel):
        channel.emit(b"ab\x1b[6n")
        await settle(pilot, lambda: b"\x1b[1;3R" in inputs(channel))


async def test_mouse_passthrough_only_when_asked() -> None:
    async with running() as (pilot, _, term, channel):
        await pilot.click(TerminalWidget, offset=(5, 2))
        await pilot.press("z")  # written after anything the click wrote (one queue)
        await settle(pilot, lambda: b"z" in inputs(channel), "the key after the click written")
        assert b"\x1b[<" not in inputs(channel)
        channel.emit(b"\x1b[?1000h\x1b[?1006h")
        await settle(pilot, lambda: term.emulator.mouse_tracking == 1000)
        await pilot.click(TerminalWidget, offset=(5, 2))
        await settle(pilot, lambda: b"\x1b[<0;6;3M\x1b[<0;6;3m" in inputs(channel))
        term.post_message(events.MouseScrollUp(term, 7, 3, 0, 0, 0, False, False, False))
        await settle(pilot, lambda: b"\x1b[<64;8;4M" in inputs(channel))


async def test_wheel_and_shift_page_scroll_the_scrollback() -> None:
    async with running() as (pilot, _, term, channel):
        channel.emit(b"\r\n".join(b"line %d" % n for n in range(100)))
        await settle(pilot, lambda: "line 99" in term.screen_text)
        height = term.size.height
        assert term.render_line(height - 1).text.startswith("line 99")
        term.post_message(events.MouseScrollUp(term, 1, 1, 0, 0, 0, False, False, False))
        await settle(pilot, lambda: term.history_offset == 3)
        assert term.render_line(height - 1).text.startswith("line 96")
        await pilot.press("shift+pageup")
        assert term.history_offset == 3 + height - 1
        # Output while reading back keeps the view still.
        top = term.render_line(0).text
        channel.emit(b"\r\nmore")
        await settle(pilot, lambda: "more" in term.screen_text and drawn(term), "more, drawn")
        assert term.render_line(0).text == top
        # Typing returns to the live screen (and reaches the program).
        await pilot.press("x")
        assert term.history_offset == 0
        await settle(pilot, lambda: b"x" in inputs(channel))
        assert term.render_line(height - 1).text.startswith("more")


async def test_wheel_in_alternate_screen_sends_arrows() -> None:
    async with running() as (pilot, _, term, channel):
        channel.emit(b"\x1b[?1049h\x1b[?1h")
        await settle(pilot, lambda: term.emulator.in_alternate_screen)
        term.post_message(events.MouseScrollDown(term, 1, 1, 0, 0, 0, False, False, False))
        await settle(pilot, lambda: b"\x1bOB\x1bOB\x1bOB" in inputs(channel))


async def test_resize_reaches_channel_and_focus_events() -> None:
    async with running() as (pilot, _, term, channel):
        channel.emit(b"\x1b[?1004h")
        await settle(pilot, lambda: term.emulator.focus_events)
        await pilot.resize_terminal(80, 20)
        await settle(pilot, lambda: channel.sizes[-1] == (term.size.height, 80))
        term.blur()
        await settle(pilot, lambda: inputs(channel).endswith(b"\x1b[O"))
        term.focus()
        await settle(pilot, lambda: inputs(channel).endswith(b"\x1b[I"))


async def test_leave_key_is_in_the_footer_and_exit_restarts() -> None:
    async with running() as (pilot, app, term, channel):
        footer_keys = [key for key, b in app.active_bindings.items() if b.binding.show]
        assert "ctrl+right_square_bracket" in footer_keys
        channel.end(5)
        await settle(pilot, lambda: term.exited)
        assert term.exit_code == 5
        await pilot.press("r")
        await settle(pilot, lambda: len(app.channels) == 2 and not term.exited)
