"""A terminal out of sight costs nothing: its channel closes after a grace and it keeps its
last screen; shown again it draws that screen at once and attaches again. And input first:
a key typed during a flood of output reaches the program before the flood is emulated.

The channels are stand-ins for the far side (tests/fakes.py); widget, pump and emulator are
real, and so are Textual's Show/Hide and screen changes that drive the detach.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.widgets import ContentSwitcher, Static

import widgets.terminal.widget
from tests.fakes import ScriptedChannel
from tests.waiting import until
from widgets.terminal.widget import TerminalWidget

GRACE = 0.3


class SwitcherApp(App[None]):
    """A terminal that can reattach, and a placeholder to switch to (as the dashboard's)."""

    ENABLE_COMMAND_PALETTE = False

    def __init__(self, detach_hidden: float | None = GRACE) -> None:
        super().__init__()
        self.detach_hidden = detach_hidden
        self.channels: list[ScriptedChannel] = []
        self.greet = True  # each new channel starts with a screen of its own
        self.exits: list[TerminalWidget.Exited] = []

    def make_channel(self) -> ScriptedChannel:
        channel = ScriptedChannel()
        if self.greet:
            channel.emit(f"screen {len(self.channels)}\r\nsecond line".encode())
        self.channels.append(channel)
        return channel

    def compose(self) -> ComposeResult:
        with ContentSwitcher(id="switcher", initial="term"):
            yield TerminalWidget(
                self.make_channel,
                id="term",
                cursor_blink=False,
                starting_text="starting…",
                detach_hidden=self.detach_hidden,
            )
            yield Static("another session", id="other")

    def on_terminal_widget_exited(self, message: TerminalWidget.Exited) -> None:
        self.exits.append(message)

    def show(self, dom_id: str) -> None:
        self.query_one(ContentSwitcher).current = dom_id


@asynccontextmanager
async def running(
    detach_hidden: float | None = GRACE,
) -> AsyncIterator[tuple[Pilot[None], SwitcherApp, TerminalWidget]]:
    app = SwitcherApp(detach_hidden)
    async with app.run_test(size=(60, 12)) as pilot:
        term = app.query_one(TerminalWidget)
        await until(pilot, lambda: "screen 0" in term.screen_text, "the first screen")
        yield pilot, app, term


def text_drawn(term: TerminalWidget) -> str:
    """What the widget draws now (its frame), as text."""
    return "\n".join(term.render_line(y).text.rstrip() for y in range(term.size.height))


async def test_hidden_terminal_closes_after_the_grace_and_keeps_its_screen() -> None:
    async with running() as (pilot, app, term):
        first = app.channels[0]
        app.show("other")
        await until(pilot, lambda: first.closed.is_set(), "the hidden terminal's channel closed")
        assert term.detached and term.pump is None
        assert not term.exited and app.exits == []  # a deliberate detach is no end
        assert "screen 0" in term.screen_text  # the last screen stays in memory
        first.emit(b"\x1b[2J\x1b[Hwritten while detached")
        await pilot.pause()
        assert "written while detached" not in term.screen_text  # nobody reads it


async def test_shown_again_draws_the_last_screen_at_once_then_reattaches() -> None:
    async with running() as (pilot, app, term):
        app.show("other")
        await until(pilot, lambda: term.detached, "the detach")
        app.channels[0].emit(b"late")  # what the old channel still had is not drawn
        await pilot.resize_terminal(70, 14)  # the size changes while it is out of sight
        app.show("term")
        await pilot.pause()
        # The very first frame after showing it: the last screen, no starting line over it.
        assert "screen 0" in text_drawn(term)
        assert "starting" not in text_drawn(term)
        await until(pilot, lambda: len(app.channels) == 2, "a new channel")
        again = app.channels[1]
        assert again.sizes[0] == (term.size.height, term.size.width) == (14, 70)
        await until(pilot, lambda: "screen 1" in text_drawn(term), "the redraw after attaching")
        assert "late" not in term.screen_text
        term.focus()
        await pilot.press("a")
        await until(pilot, lambda: b"a" in b"".join(again.written), "typing reaches it")
        assert app.exits == []


async def test_the_old_screen_stays_until_the_redraw_after_reattaching_is_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tmux clears the screen, then redraws it: a frame between the two would be blank."""
    monkeypatch.setattr(widgets.terminal.widget, "REDRAW_QUIET", 1.0)
    async with running() as (pilot, app, term):
        app.show("other")
        await until(pilot, lambda: term.detached, "the detach")
        app.greet = False
        app.show("term")
        await until(pilot, lambda: len(app.channels) == 2, "a new channel")
        app.channels[1].emit(b"\x1b[H\x1b[2J")
        await until(pilot, lambda: "screen 0" not in term.screen_text, "the clear emulated")
        assert "screen 0" in text_drawn(term)  # not drawn yet: the redraw is not in
        app.channels[1].emit(b"redrawn")
        await until(pilot, lambda: "redrawn" in text_drawn(term), "the redraw drawn")
        assert "screen 0" not in text_drawn(term)


async def test_a_quick_switch_within_the_grace_keeps_the_channel() -> None:
    async with running(detach_hidden=30.0) as (pilot, app, term):
        app.show("other")
        await until(pilot, lambda: term._detach_timer is not None, "the grace running")
        app.show("term")
        await until(pilot, lambda: term._detach_timer is None, "the grace cancelled")
        assert not app.channels[0].closed.is_set() and len(app.channels) == 1
        app.channels[0].emit(b"\r\nstill reading")
        await until(pilot, lambda: "still reading" in text_drawn(term), "output still read")


async def test_another_screen_in_front_detaches_and_leaving_it_reattaches() -> None:
    async with running() as (pilot, app, term):
        await app.push_screen(ModalScreen())
        await until(pilot, lambda: app.channels[0].closed.is_set(), "covered: detached")
        await app.pop_screen()
        await until(pilot, lambda: len(app.channels) == 2, "uncovered: attached again")
        await app.push_screen(Screen())  # a whole screen in front, as the help
        await until(pilot, lambda: app.channels[1].closed.is_set(), "covered again: detached")
        await app.pop_screen()
        await until(pilot, lambda: "screen 2" in text_drawn(term), "attached again")


async def test_a_terminal_that_cannot_reattach_keeps_reading_out_of_sight() -> None:
    async with running(detach_hidden=None) as (pilot, app, term):
        app.show("other")
        app.channels[0].emit(b"\r\nread while hidden")
        await until(pilot, lambda: "read while hidden" in term.screen_text, "output read")
        assert not app.channels[0].closed.is_set() and not term.detached


async def test_a_real_end_while_shown_still_shows_the_banner() -> None:
    async with running() as (pilot, app, term):
        app.channels[0].end(3)
        await until(pilot, lambda: term.exited, "the end")
        assert "program exited (3)" in text_drawn(term)
        app.show("other")
        app.show("term")
        await pilot.pause()
        assert term.exited and len(app.channels) == 1  # an ended program is not reattached


async def test_a_key_typed_during_a_flood_goes_before_the_flood_is_emulated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """4 MiB of output waits to be emulated; a key typed now is sent while most of it still
    waits (input first), and the flood is emulated in slices, never in one go."""
    async with running() as (pilot, app, term):
        channel = app.channels[0]
        fed: list[int] = []
        feed = term.emulator.feed

        def counting_feed(data: bytes) -> None:
            fed.append(len(data))
            feed(data)

        monkeypatch.setattr(term.emulator, "feed", counting_feed)
        at_key: list[int] = []
        write = channel.write

        def noting_write(data: bytes) -> None:
            at_key.append(sum(fed))
            write(data)

        monkeypatch.setattr(channel, "write", noting_write)
        line = b"\x1b[1;32m" + b"x" * 50 + b"\x1b[0m\r\n"
        total = 0
        while total < 4 * 1024 * 1024:
            channel.emit(line * 1000)
            total += len(line) * 1000
        # Not `until`: its pause waits for the app to idle, i.e. for most of the flood.
        deadline = time.monotonic() + 30
        while not fed and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        assert fed, "the flood was never emulated"
        await pilot.press("k")
        await until(pilot, lambda: bool(at_key), "the key written")
        assert at_key[0] < total // 2, f"the key waited for {at_key[0]} of {total} bytes"
        await until(pilot, lambda: sum(fed) >= total, "the whole flood emulated", 60)
        assert max(fed) <= 16 * 1024  # in slices: the loop is never held long


async def test_the_dashboard_detaches_the_session_switched_away_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alt-Down from inside a session's terminal: the other session is shown, the first one's
    channel closes after the grace; Alt-Up: its screen is drawn at once, then reattached."""
    # The fake's new channel redraws at once: the old screen is kept a while longer here, so
    # the check below sees the first frame whatever the machine's speed.
    monkeypatch.setattr(widgets.terminal.widget, "REDRAW_QUIET", 5.0)
    monkeypatch.setattr(widgets.terminal.widget, "REDRAW_HOLD", 10.0)
    from claudex_tui.demo_backend import SESSIONS
    from claudex_tui.screens.dashboard_base import terminal_id
    from tests.widgets.demo_app import DemoApp

    app = DemoApp(select=SESSIONS[0].name)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected, "the first session selected")
        app.dashboard.action_open_terminal()
        first = app.query_one(f"#{terminal_id(SESSIONS[0].name)}", TerminalWidget)
        await until(pilot, lambda: "shortcuts" in text_drawn(first), "its screen drawn")
        assert first.detach_hidden is not None  # a managed session's: it can reattach
        channel = app.fake.channels[0]
        channel.emit(b"\x1b[Hmark-of-the-first")
        await until(pilot, lambda: "mark-of-the-first" in text_drawn(first), "the mark drawn")
        await pilot.press("alt+down")
        await until(pilot, lambda: app.session_list.selected == SESSIONS[1].name, "switched")
        await until(pilot, lambda: channel.closed.is_set(), "the hidden one's channel closed")
        assert first.detached and not first.exited
        opened = len(app.fake.channels)
        await pilot.press("alt+up")
        await until(pilot, lambda: app.session_list.selected == SESSIONS[0].name, "back")
        assert "mark-of-the-first" in text_drawn(first)  # drawn at once, before the reattach
        await until(pilot, lambda: len(app.fake.channels) == opened + 1, "attached again")
        assert first.has_focus  # typing goes on where it was
