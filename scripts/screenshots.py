"""Regenerate screenshots/ from the app itself, on the demo backend (fixed data, no engine).

Run: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402
from textual.worker import WorkerState  # noqa: E402

from claudex_tui.app import ClaudexApp  # noqa: E402
from claudex_tui.config import Config  # noqa: E402
from claudex_tui.demo_backend import SESSIONS, DemoBackend, fix_clock  # noqa: E402
from widgets.terminal.history import HistoryLines, HistoryView  # noqa: E402
from widgets.terminal.widget import TerminalWidget  # noqa: E402


async def _until(pilot: Pilot[None], check: Callable[[], object], what: str) -> None:
    """Until `check()` holds at two checks in a row (the app runs in between), or fail."""
    deadline = time.monotonic() + 30
    before = False
    while True:
        now = bool(check())
        if now and before:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        before = now
        await pilot.pause()


def _idle(app: ClaudexApp) -> Callable[[], bool]:
    working = (WorkerState.PENDING, WorkerState.RUNNING)
    # A DirectoryTree's loader never ends: it is idle while no listing of its own runs.
    return lambda: not [w for w in app.workers if w.group != "_loader" and w.state in working]


async def _show_tab(pilot: Pilot[None], key: str) -> None:
    app = pilot.app
    assert isinstance(app, ClaudexApp)
    await _until(pilot, lambda: app.session_list.selected, "the first session selected")
    for term in app.query(TerminalWidget):
        term.cursor_blink = False
    await pilot.press(key)
    if key == "t":
        await _until(
            pilot,
            lambda: any(
                "shortcuts" in t.screen_text and not t.emulator.dirty
                for t in app.query(TerminalWidget)
            ),
            "the terminal's screen drawn",
        )
    await _until(pilot, _idle(app), f"the tab of key {key!r} loaded")


async def _history(pilot: Pilot[None]) -> None:
    """The History view (Shift+PgUp in the terminal) after a search for "cart"."""
    await pilot.press("enter", "shift+pageup")
    app = pilot.app
    loaded = lambda: app.query(HistoryView) and app.query_one(HistoryView).loaded  # noqa: E731
    await _until(pilot, loaded, "the history read")
    await pilot.press("slash", *"cart", "enter")
    await _until(pilot, lambda: app.query_one(HistoryLines).hits, "the hits")


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


def demo_app(host_root: Path) -> ClaudexApp:
    app = ClaudexApp(
        config=Config(), backend=DemoBackend(), select=SESSIONS[0].name, host_root=host_root
    )
    app.dashboard.follow_activity = False  # "seconds since output" would depend on the moment
    app.dashboard.poll_engines = False  # the data never changes
    return app


async def shoot(name: str, key: str, size: tuple[int, int], extra: Any, host: Path) -> None:
    app = demo_app(host)
    async with app.run_test(size=size) as pilot:
        await _show_tab(pilot, key)
        if extra is not None:
            await extra(pilot)
        await _until(pilot, _idle(app), f"{name} drawn")
        app.save_screenshot(str(ROOT / "screenshots" / f"{name}.svg"))


def main() -> None:
    fix_clock()
    (ROOT / "screenshots").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as host:
        for name, key, size, extra in SHOTS:
            asyncio.run(shoot(name, key, size, extra, Path(host)))
            print(f"screenshots/{name}.svg")


if __name__ == "__main__":
    main()
