"""Regenerate screenshots/ from the app itself (the scripted engine of the snapshot tests).

Run: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from tests.waiting import settled, until  # noqa: E402
from tests.widgets.demo_app import DemoApp, fix_clock, show_tab  # noqa: E402
from widgets.terminal.history import HistoryLines, HistoryView  # noqa: E402


async def _history(pilot: Pilot[None]) -> None:
    """The History view (Shift+PgUp in the terminal) after a search for "cart"."""
    await pilot.press("enter", "shift+pageup")
    app = pilot.app
    loaded = lambda: app.query(HistoryView) and app.query_one(HistoryView).loaded  # noqa: E731
    await until(pilot, loaded, "the history read")
    await pilot.press("slash", *"cart", "enter")
    await until(pilot, lambda: app.query_one(HistoryLines).hits, "the hits")


async def _help(pilot: Pilot[None]) -> None:
    await pilot.press("question_mark")


# (file name, tab key, size, extra steps)
SHOTS = [
    ("dashboard-terminal", "t", (120, 40), None),
    ("dashboard-changes", "g", (120, 40), None),
    ("dashboard-firewall", "w", (120, 40), None),
    ("dashboard-details", "i", (120, 40), None),
    ("dashboard-history", "t", (120, 40), _history),
    ("dashboard-help", "i", (120, 40), _help),
    ("dashboard-80x24", "t", (80, 24), None),
]


async def shoot(name: str, key: str, size: tuple[int, int], extra: Any) -> None:
    app = DemoApp()
    async with app.run_test(size=size) as pilot:
        await show_tab(pilot, key)
        if extra is not None:
            await extra(pilot)
        await settled(pilot, f"{name} drawn")
        app.save_screenshot(str(ROOT / "screenshots" / f"{name}.svg"))


def main() -> None:
    fix_clock()
    (ROOT / "screenshots").mkdir(exist_ok=True)
    for name, key, size, extra in SHOTS:
        asyncio.run(shoot(name, key, size, extra))
        print(f"screenshots/{name}.svg")


if __name__ == "__main__":
    main()
