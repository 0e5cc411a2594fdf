"""The dashboard on the demo backend: fixed sessions, diffs, firewall data and terminals.

For pictures (snapshot tests) and widget tests; behaviour is tested against the real engine in
test_dashboard.py. Only the data source is replaced (the backend), never the widgets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from claudex_tui.demo_backend import SESSIONS
from tests.fakes import FakeBackend
from tests.waiting import settled, until
from tests.widgets.test_mount_picker import make_tree
from widgets.terminal.widget import TerminalWidget

HOST_TREE = Path("/tmp/claudex-snapshot-host")  # the Files tab's host side, made anew


async def show_tab(pilot: Pilot[None], key: str) -> None:
    """Wait for the first selection, stop cursor blinking, press a tab key, let it draw."""
    app = pilot.app
    assert isinstance(app, ClaudexApp)
    # Under snap_compare the pilot starts before the dashboard screen has composed.
    await until(pilot, lambda: app.dashboard.is_mounted, "the dashboard drawn")
    await until(pilot, lambda: app.session_list.selected, "the first session selected")
    for term in app.query(TerminalWidget):
        term.cursor_blink = False
    await pilot.press(key)
    if key == "t":
        await until(
            pilot,
            lambda: any(
                "shortcuts" in t.screen_text and not t.emulator.dirty
                for t in app.query(TerminalWidget)
            ),
            "the terminal's screen drawn",
        )
    await settled(pilot, f"the tab of key {key!r} loaded")


class DemoApp(ClaudexApp):
    """ClaudexApp on the demo backend (a FakeBackend unless one is given)."""

    def __init__(
        self,
        backend: FakeBackend | None = None,
        config: Config | None = None,
        select: str = SESSIONS[0].name,
        host_root: Path | None = None,
        **kw: Any,
    ) -> None:
        self.fake = backend or FakeBackend()
        super().__init__(
            config=config or Config(),
            backend=self.fake,
            select=select,
            host_root=host_root or make_tree(HOST_TREE),
            **kw,
        )
        # "Seconds since output" would depend on when the picture is taken; the data never
        # changes: re-reading it would only race the pictures.
        self.dashboard.follow_activity = False
        self.dashboard.poll_engines = False
