"""Switching sessions from inside a terminal moves the focus to another terminal with the same
keys: the footer stays as it is (Textual's rebuilt every key on each focus change, a good part
of a switch), and still follows the focus where the keys differ."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from claudex_tui.demo_backend import SESSIONS
from tests.waiting import settled, until
from tests.widgets.demo_app import DemoApp
from tests.widgets.test_keys_footer import in_terminal, shown
from widgets.terminal.widget import TerminalWidget


async def test_switch_between_terminals_keeps_the_footer() -> None:
    app = DemoApp(select=SESSIONS[3].name)  # the next one in the list runs too
    async with app.run_test(size=(120, 40)) as pilot:
        first = await in_terminal(pilot)
        keys = await shown(pilot, "^]")
        await settled(pilot, "the footer rebuilt for the terminal")
        before = list(app.screen.query(FooterKey))
        await pilot.press("alt+down")
        await until(
            pilot,
            lambda: isinstance(app.focused, TerminalWidget) and app.focused is not first,
            "the next session's terminal focused",
        )
        await settled(pilot, "the switch drawn")
        assert list(app.screen.query(FooterKey)) == before  # the same widgets: not rebuilt
        assert {k.key_display: k.description for k in before} == keys
        app.dashboard.session_list.options.focus()  # the list: other keys
        await until(pilot, lambda: list(app.screen.query(FooterKey)) != before, "rebuilt")
