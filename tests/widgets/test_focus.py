"""No stuck focus: from any tab's content `t g w f i` switch tabs and Esc goes back to the
session list; Tab lands in the tab's content; the firewall's allow box gives the keyboard back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, TabbedContent

from claudex_tui.screens.confirm import ConfirmScreen
from claudex_tui.screens.prompt import PromptScreen
from tests.fakes import FakeBackend
from tests.waiting import until
from tests.widgets.demo_app import DemoApp, show_tab
from widgets.terminal.widget import TerminalWidget

KEYS = {"terminal": "t", "changes": "g", "firewall": "w", "files": "f", "details": "i"}
# Each tab's content that can hold the keyboard: (tab, selector).
CONTENT = [
    ("changes", "#changes-files"),
    ("changes", "#changes-diff"),
    ("files", "#files-host"),
    ("files", "#files-container"),
    ("firewall", "#fw-allowed"),
    ("firewall", "#fw-blocked"),
    ("details", "#details-panel"),
]


class RecordingBackend(FakeBackend):
    """Records the firewall edits asked for instead of running them."""

    def __init__(self) -> None:
        super().__init__()
        self.edits: list[tuple[str, list[str]]] = []

    def allow(self, session: Any, entries: list[str]) -> list[str]:
        self.edits.append(("allow", entries))
        return entries

    def deny(self, session: Any, entries: list[str]) -> list[str]:
        self.edits.append(("deny", entries))
        return entries


class Recording(DemoApp):
    def __init__(self, **kw: Any) -> None:
        super().__init__(RecordingBackend(), **kw)
        self.edits = self.fake.edits  # type: ignore[attr-defined]


def tabs(app: DemoApp) -> TabbedContent:
    return app.query_one(TabbedContent)


async def focus_in(pilot: Pilot[None], tab: str, selector: str) -> Widget:
    app = pilot.app
    assert isinstance(app, DemoApp)
    await pilot.press(KEYS[tab])
    await until(pilot, lambda: tabs(app).active == tab, f"the {tab} tab")
    widget = app.query_one(selector)
    widget.focus()
    await until(pilot, lambda: app.focused is widget, f"{selector} focused")
    return widget


def active_is(app: DemoApp, tab: str) -> Callable[[], bool]:
    return lambda: tabs(app).active == tab


def keyboard_in(app: DemoApp, tab: str) -> Callable[[], bool]:
    return lambda: in_pane(app, tab)


def in_pane(app: DemoApp, tab: str) -> bool:
    focused = app.focused
    return focused is not None and tabs(app).get_pane(tab) in focused.ancestors


@pytest.mark.parametrize(("tab", "selector"), CONTENT, ids=[s for _, s in CONTENT])
async def test_tab_keys_work_from_tab_content(tab: str, selector: str) -> None:
    app = DemoApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await show_tab(pilot, "g")
        for target in ("changes", "firewall", "files", "details", "terminal"):
            if target == tab:
                continue
            await focus_in(pilot, tab, selector)
            await pilot.press(KEYS[target])
            await until(pilot, active_is(app, target), f"{target} from {selector}")
            if target == "terminal":  # keys there are the agent's: the list keeps them
                await until(pilot, lambda: app.focused is app.session_list.options, "the list")
            else:
                await until(pilot, keyboard_in(app, target), f"the keyboard in {target}")
            await pilot.pause()
            assert tabs(app).active == target  # and it stays (nothing pulls it back)


@pytest.mark.parametrize(("tab", "selector"), CONTENT, ids=[s for _, s in CONTENT])
async def test_escape_goes_back_to_the_session_list(tab: str, selector: str) -> None:
    app = DemoApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await show_tab(pilot, "g")
        await focus_in(pilot, tab, selector)
        await pilot.press("escape")
        await until(pilot, lambda: app.focused is app.session_list.options, "the session list")
        assert tabs(app).active == tab  # the tab stays on show


@pytest.mark.parametrize("tab", ["changes", "firewall", "files", "details", "terminal"])
async def test_tab_from_the_list_lands_in_the_content(tab: str) -> None:
    app = DemoApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await show_tab(pilot, KEYS[tab])
        assert app.focused is app.session_list.options
        await pilot.press("tab")
        await until(pilot, lambda: in_pane(app, tab), f"the keyboard in the {tab} tab")
        if tab == "terminal":
            assert isinstance(app.focused, TerminalWidget)


async def answer_any_question(pilot: Pilot[None]) -> None:
    """A confirmation of what will be allowed (if the form asks one) is answered yes."""
    if isinstance(pilot.app.screen, ConfirmScreen | PromptScreen):
        await pilot.press("y")


async def test_the_allow_box_gives_the_keyboard_back() -> None:
    app = Recording()
    async with app.run_test(size=(120, 40)) as pilot:
        await show_tab(pilot, "w")
        box = app.query_one("#fw-input", Input)
        await pilot.press("tab")  # into the Firewall tab: the box comes first
        await until(pilot, lambda: app.focused is box, "the allow box focused")
        await pilot.press(*"example.org", "enter")

        def asked() -> bool:
            return bool(app.edits) or isinstance(app.screen, ConfirmScreen)

        await until(pilot, asked, "the allow asked for")
        await answer_any_question(pilot)
        await until(pilot, lambda: app.edits, "the allow asked for")
        assert app.edits == [("allow", ["example.org"])]
        await until(pilot, lambda: app.focused is not None and app.focused is not box, "keys back")
        # The next letters are keys again: `t` shows the terminal, it is no domain.
        await pilot.press("t", "enter")
        await until(pilot, lambda: tabs(app).active == "terminal", "t went to the terminal tab")
        assert app.edits == [("allow", ["example.org"])]
        assert box.value == ""


async def test_escape_leaves_the_allow_box() -> None:
    app = Recording()
    async with app.run_test(size=(120, 40)) as pilot:
        await show_tab(pilot, "w")
        box = app.query_one("#fw-input", Input)
        await focus_in(pilot, "firewall", "#fw-allowed")
        await pilot.press("a")  # the Firewall tab's "Allow…" key, from its list
        await until(pilot, lambda: app.focused is box, "the allow box focused")
        await pilot.press(*"half")
        await pilot.press("escape")
        await until(pilot, lambda: app.focused is app.session_list.options, "the session list")
        await pilot.press("t", "enter")
        await until(pilot, lambda: tabs(app).active == "terminal", "t went to the terminal tab")
        assert app.edits == []  # nothing was allowed
