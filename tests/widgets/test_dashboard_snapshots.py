"""Pictures of every tab at 120x40 and 80x24 (a scripted engine keeps them stable)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

import widgets.details_panel
import widgets.session_list
from tests.widgets.demo_app import NOW, DemoApp
from widgets.terminal.widget import TerminalWidget


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(widgets.details_panel, "now", lambda: NOW)
    monkeypatch.setattr(widgets.session_list.time, "time", lambda: NOW.timestamp())
    yield


def _settle_on(tab: str):  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        app = pilot.app
        for _ in range(100):
            if app.session_list.selected:
                break
            await pilot.pause(0.02)
        for term in app.query(TerminalWidget):
            term.cursor_blink = False
        await pilot.press(tab)
        await pilot.pause(0.3)
        if tab == "t":
            for _ in range(100):
                if any("shortcuts" in t.screen_text for t in app.query(TerminalWidget)):
                    break
                await pilot.pause(0.02)
        await pilot.pause(0.2)

    return run


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize(
    "tab", ["t", "g", "w", "i"], ids=["terminal", "changes", "firewall", "details"]
)
def test_tab(snap_compare, tab: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DemoApp(), terminal_size=size, run_before=_settle_on(tab))


def test_help(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[None]) -> None:
        await _settle_on("i")(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(DemoApp(), terminal_size=(80, 24), run_before=run)
