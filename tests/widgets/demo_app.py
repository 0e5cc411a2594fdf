"""The dashboard with a scripted engine: fixed sessions, diffs, firewall data and terminals.

For pictures (snapshot tests, README screenshots) only; behaviour is tested against the real
engine in test_dashboard.py. Only the data sources are replaced, never the widgets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

import widgets.details_panel
import widgets.session_list
from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from claudex_tui.messages import (
    ChangesLoaded,
    DetailsLoaded,
    DiffLoaded,
    FirewallLoaded,
    SessionsLoaded,
)
from container.firewall_model import AllowedName, BlockedDestination, FirewallStatus, RefusedName
from container.labels import SessionInfo
from container.tracking_model import ChangedFile
from tests.waiting import settled, until
from tests.widgets.test_files_panel import FakeFiles
from tests.widgets.test_mount_picker import make_tree
from tests.widgets.test_terminal_widget import ScriptedChannel
from widgets.details_panel import MountRow, SessionDetails
from widgets.terminal.widget import TerminalWidget

HOST_TREE = Path("/tmp/claudex-snapshot-host")  # the Files tab's host side, made anew
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CREATED = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _session(
    name: str,
    mounts: list[str],
    state: str = "running",
    agent: str = "claude",
    network: str = "firewalled",
) -> SessionInfo:
    return SessionInfo(
        id=name.ljust(64, "0"),
        name=name,
        state=state,
        status="Up 2 hours" if state == "running" else "Exited (0) 1 hour ago",
        image="claudex",
        created=CREATED,
        signature="b768fe2e",
        slug=name.split("-")[1],
        mounts=mounts,
        version="0.1.0",
        agent=agent,
        network_mode=network,
        labels={
            "com.claudex.agent": agent,
            "com.claudex.agent-uid": "1000:1000",
            "com.claudex.git": "on",
            "com.claudex.network-mode": network,
            "com.claudex.signature": "b768fe2e",
            "com.claudex.version": "0.1.0",
        },
    )


SESSIONS = [
    _session("claudex-webshop-b768fe2e", ["/home/ana/src/webshop"]),
    _session(
        "claudex-api-docs-c9c85f71", ["/home/ana/src/api", "/home/ana/src/docs"], agent="codex"
    ),
    _session("claudex-infra-340e1884", ["/home/ana/src/infra"], state="exited", agent="shell"),
    _session("claudex-scratch-5abf4ced", ["/tmp/scratch"], agent="shell", network="host"),
]

TERMINAL = (
    "\x1b[1;38;5;208m✻\x1b[0m \x1b[1mWelcome to Claude Code!\x1b[0m\r\n\r\n"
    "\x1b[2m  /help for help, /status for your current setup\x1b[0m\r\n\r\n"
    "\x1b[38;5;244m>\x1b[0m Add a unit test for the cart total rounding\r\n\r\n"
    "\x1b[38;5;208m●\x1b[0m I'll look at how totals are computed first.\r\n\r\n"
    "\x1b[38;5;208m●\x1b[0m \x1b[1mRead\x1b[0m(src/cart/total.py)\r\n"
    "  ⎿  Read 48 lines\r\n\r\n"
    "\x1b[38;5;208m●\x1b[0m \x1b[1mUpdate\x1b[0m(tests/test_total.py)\r\n"
    "  ⎿  Updated tests/test_total.py with \x1b[32m14 additions\x1b[0m\r\n\r\n"
    "\x1b[38;5;208m●\x1b[0m \x1b[1mBash\x1b[0m(pytest -q tests/test_total.py)\r\n"
    "  ⎿  \x1b[32m3 passed\x1b[0m in 0.04s\r\n\r\n"
    "\x1b[38;5;208m●\x1b[0m The rounding now uses Decimal with ROUND_HALF_UP; the new test\r\n"
    "  covers 0.005 boundaries.\r\n\r\n"
    "\x1b[38;5;240m╭──────────────────────────────────────────────╮\x1b[0m\r\n"
    "\x1b[38;5;240m│\x1b[0m > \x1b[38;5;240m                                           │\x1b[0m\r\n"
    "\x1b[38;5;240m╰──────────────────────────────────────────────╯\x1b[0m\r\n"
    "\x1b[2m  ? for shortcuts\x1b[0m"
).encode()

# The History view's text: what scrolled away before the screen above, then that screen.
HISTORY = (
    "\x1b[38;5;244m>\x1b[0m Why does the cart total differ from the invoice by a cent?\n\n"
    + "".join(
        f"\x1b[38;5;208m●\x1b[0m \x1b[1mBash\x1b[0m(pytest -q tests/test_cart.py -k case{i})\n"
        f"  ⎿  \x1b[31m1 failed\x1b[0m: total(cart{i}) == 10.{i:02d} (got 10.{i - 1:02d})\n\n"
        for i in range(1, 13)
    )
    + TERMINAL.decode().replace("\r\n", "\n")
    + "\n"
).encode()

CHANGES = [
    ChangedFile("webshop/src/cart/total.py", "modified", 6, 3, False),
    ChangedFile("webshop/tests/test_total.py", "added", 14, 0, False),
    ChangedFile("webshop/docs/logo.png", "modified", 0, 0, True),
    ChangedFile("webshop/src/cart/legacy.py", "deleted", 0, 22, False),
]
DIFF = """diff --git a/webshop/src/cart/total.py b/webshop/src/cart/total.py
--- a/webshop/src/cart/total.py
+++ b/webshop/src/cart/total.py
@@ -1,9 +1,12 @@
-def total(items):
-    amount = sum(i.price * i.quantity for i in items)
-    return round(amount, 2)
+from decimal import ROUND_HALF_UP, Decimal
+
+
+def total(items):
+    amount = sum(Decimal(str(i.price)) * i.quantity for i in items)
+    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
"""

FIREWALL = FirewallStatus(
    session=SESSIONS[0].name,
    mode="enforcing",
    names=(
        AllowedName("api.anthropic.com", ("160.79.104.10",)),
        AllowedName("github.com", ("140.82.121.3", "140.82.121.4")),
        AllowedName("registry.npmjs.org", ("104.16.3.35", "104.16.1.35")),
        AllowedName("pypi.org"),
    ),
    networks=("10.20.0.0/16:5432",),
    blocked=(
        BlockedDestination("93.184.215.14", 4, "tcp", 443, 3, NOW),
        BlockedDestination("2606:4700::6810:84e5", 6, "tcp", 443, 1, NOW),
    ),
    refused=(RefusedName("pastebin.com", 2, NOW),),
    checked=NOW,
)


def fix_clock() -> None:
    """Ages and activity measured against NOW, so pictures do not change with the date."""
    widgets.details_panel.now = lambda: NOW  # type: ignore[assignment]
    widgets.session_list.time.time = lambda: NOW.timestamp()  # type: ignore[assignment]


async def show_tab(pilot: Pilot[None], key: str) -> None:
    """Wait for the first selection, stop cursor blinking, press a tab key, let it draw."""
    app = pilot.app
    assert isinstance(app, ClaudexApp)
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
    """ClaudexApp whose data comes from the constants above instead of an engine."""

    follow_activity = False  # "seconds since output" would depend on when the picture is taken

    def __init__(self, **kw: Any) -> None:
        super().__init__(
            config=Config(), select=SESSIONS[0].name, host_root=make_tree(HOST_TREE), **kw
        )

    def on_mount(self) -> None:
        self.session_list.options.focus()
        self.client = object()  # type: ignore[assignment]
        self.post_message(SessionsLoaded(list(SESSIONS)))

    def refresh_sessions(self) -> None:
        pass

    def _sync_waiting_watchers(self) -> None:
        pass

    @staticmethod
    def _channel_factory(client: Any, session: SessionInfo) -> Any:
        def make() -> ScriptedChannel:
            channel = ScriptedChannel()
            channel.emit(TERMINAL)
            return channel

        return make

    def _history_source(self, client: Any, session: SessionInfo) -> Any:
        return lambda: HISTORY

    def _load_details(self, session: SessionInfo) -> None:  # type: ignore[override]
        mounts = [MountRow(m, f"/workspace/{m.rsplit('/', 1)[1]}", False) for m in session.mounts]
        mounts.append(MountRow("/home/ana/.claude", "/home/agent/.claude", False, "login"))
        self.post_message(
            DetailsLoaded(
                SessionDetails(
                    session=session,
                    mounts=mounts,
                    image_id="sha256:" + "3f2a9c81d0e4" * 5,
                    image_created=CREATED,
                    cpu_percent=3.2,
                    memory_bytes=412 * 2**20,
                    memory_limit=8 * 2**30,
                )
            )
        )

    def _load_changes(self, session: SessionInfo) -> None:  # type: ignore[override]
        self.post_message(ChangesLoaded(session.name, list(CHANGES)))

    def _load_diff(
        self,
        session: SessionInfo,
        path: str,  # type: ignore[override]
        old_path: str | None,
    ) -> None:
        self.post_message(DiffLoaded(session.name, path, DIFF if path.endswith("total.py") else ""))

    def _load_firewall(self, session: SessionInfo) -> None:  # type: ignore[override]
        self.post_message(FirewallLoaded(session.name, FIREWALL))

    def _refresh_counts(self) -> None:
        pass

    def _files_service(self, session: SessionInfo) -> Any:
        return FakeFiles()

    def _refresh_visible_tab(self) -> None:
        pass
