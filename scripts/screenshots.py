"""Regenerate screenshots/ from the app itself (the scripted engine of the snapshot tests).

Run: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.widgets.demo_app import DemoApp, fix_clock, show_tab  # noqa: E402

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
        await show_tab(pilot, key)
        await pilot.pause(0.3)
        app.save_screenshot(str(ROOT / "screenshots" / f"{name}.svg"))


def main() -> None:
    fix_clock()
    (ROOT / "screenshots").mkdir(exist_ok=True)
    for name, key, size in SHOTS:
        asyncio.run(shoot(name, key, size))
        print(f"screenshots/{name}.svg")


if __name__ == "__main__":
    main()
