"""A key queued at the terminal before the keyboard left it (Ctrl-] and the next key typed at
once, on a loaded machine: both reach the terminal's queue before it handles the first) goes
where the keyboard is now, never to the program: the dashboard's `i` opened the Details tab
in a test run only when the machine was idle, and typed `i` into the agent otherwise."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from tests.waiting import until
from tests.widgets.test_terminal_blink import BlinkApp
from widgets.terminal.widget import LEAVE_KEY, TerminalWidget


async def test_a_key_queued_before_leaving_goes_where_the_keyboard_is() -> None:
    app = BlinkApp()  # a terminal with the keyboard, and a box after it
    async with app.run_test(size=(40, 8)) as pilot:
        term = app.query_one(TerminalWidget)
        await until(pilot, lambda: bool(app.channels), "the channel")
        await pilot.press("a")
        await until(pilot, lambda: b"a" in b"".join(app.channels[0].written), "a typed")
        # Both posted before either is handled: the app gives both to the terminal.
        app.post_message(events.Key(LEAVE_KEY, None))
        app.post_message(events.Key("i", "i"))
        box = app.query_one(Input)
        await until(pilot, lambda: box.value == "i", "the i in the box that has the keyboard")
        assert not term.has_focus
        assert b"i" not in b"".join(app.channels[0].written), "the program never got the i"
