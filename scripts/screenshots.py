"""Regenerate screenshots/ from the app itself (the scripted engine of the snapshot tests).

Run: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import widgets.details_panel  # noqa: E402
import widgets.session_list  # noqa: E402
from tests.widgets.demo_app import NOW, DemoApp  # noqa: E402
from widgets.terminal.widget import TerminalWidget  # noqa: E402

SHOTS = [
    ("dashboard-terminal", "t", (120, 40)),
    ("dashboard-changes", "g", (120, 40)),
    ("dashboard-firewall", "w", (120, 40)),
    ("dashboard-details", "i", (120, 40)),
    ("dashboard-80x24", "t", (80, 24)),
]


async def shoot(name: str, key: str, size: tuple[int, int]) -> None:
    app = DemoApp()
    async with app.run_test(size=size) as pilot:
        for _ in range(100):
            if app.session_list.selected:
                break
            await pilot.pause(0.02)
        for term in app.query(TerminalWidget):
            term.cursor_blink = False
        await pilot.press(key)
        await pilot.pause(0.6)
        app.save_screenshot(str(ROOT / "screenshots" / f"{name}.svg"))


def main() -> None:
    widgets.details_panel.now = lambda: NOW  # type: ignore[assignment]
    widgets.session_list.time.time = lambda: NOW.timestamp()  # type: ignore[assignment]
    (ROOT / "screenshots").mkdir(exist_ok=True)
    for name, key, size in SHOTS:
        asyncio.run(shoot(name, key, size))
        print(f"screenshots/{name}.svg")


if __name__ == "__main__":
    main()
