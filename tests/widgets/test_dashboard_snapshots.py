"""Pictures of every tab at 120x40 and 80x24 (a scripted engine keeps them stable)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

import widgets.details_panel
import widgets.session_list
from claudex_tui.demo_backend import fix_clock
from claudex_tui.screens.help import HelpScreen
from tests.waiting import settled, until
from tests.widgets.demo_app import DemoApp, show_tab
from widgets.terminal.history import HistoryLines, HistoryView


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # monkeypatch records the originals, so the clock is real again after each test.
    monkeypatch.setattr(widgets.details_panel, "now", widgets.details_panel.now)
    monkeypatch.setattr(widgets.session_list.time, "time", widgets.session_list.time.time)
    fix_clock()
    yield


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize(
    "tab", ["t", "g", "w", "f", "i"], ids=["terminal", "changes", "firewall", "files", "details"]
)
def test_tab(snap_compare, tab: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await show_tab(pilot, tab)

    assert snap_compare(DemoApp(), terminal_size=size, run_before=run)


def test_help(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await show_tab(pilot, "i")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help screen")
        await settled(pilot, "the help screen drawn")

    assert snap_compare(DemoApp(), terminal_size=(80, 24), run_before=run)


def test_history_view(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The terminal's History view after Shift+PgUp and a search for "cart" (hits marked)."""

    async def run(pilot: Pilot[None]) -> None:
        await show_tab(pilot, "t")
        await pilot.press("enter")  # into the terminal
        await pilot.press("shift+pageup")
        await until(
            pilot,
            lambda: pilot.app.query(HistoryView) and pilot.app.query_one(HistoryView).loaded,
            "the history read",
        )
        await pilot.press("slash", *"cart", "enter")
        await until(pilot, lambda: pilot.app.query_one(HistoryLines).hits, "the hits")
        await settled(pilot, "the history view drawn")

    assert snap_compare(DemoApp(), terminal_size=(120, 40), run_before=run)
