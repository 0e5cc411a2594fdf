"""A backend with fixed data: four sessions, a diff, a firewall, a terminal and its history.

For pictures of the dashboard (`scripts/screenshots.py`) and the widget tests' fakes
(`tests/fakes.py`); nothing here touches an engine. Times are measured against NOW when
`fix_clock()` was called, so pictures do not change with the date.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import widgets.details_panel
import widgets.session_list
from claudex_tui.backend import Watcher
from container.details_model import MountRow, SessionDetails
from container.engines import Engine, EngineListing
from container.errors import ClaudexError
from container.firewall_model import AllowedName, BlockedDestination, FirewallStatus, RefusedName
from container.isolated_model import FileReview, hunks, with_hunk
from container.labels import SessionInfo
from container.tracking_model import ChangedFile, Checkpoint, Since
from widgets.files.model import ContainerFiles, Entry, Outcome

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CREATED = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def demo_session(
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
    demo_session("claudex-webshop-b768fe2e", ["/home/ana/src/webshop"]),
    demo_session(
        "claudex-api-docs-c9c85f71", ["/home/ana/src/api", "/home/ana/src/docs"], agent="codex"
    ),
    demo_session("claudex-infra-340e1884", ["/home/ana/src/infra"], state="exited", agent="shell"),
    demo_session("claudex-scratch-5abf4ced", ["/tmp/scratch"], agent="shell", network="host"),
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


ISOLATED_BASE = "".join(f"line {i}\n" for i in range(1, 21))
ISOLATED_FILES = {  # path -> (base, the session's copy, the user's directory now)
    "/home/ana/src/webshop/cart.py": (
        ISOLATED_BASE,
        ISOLATED_BASE.replace("line 2\n", "two\n").replace("line 19\n", "nineteen\n"),
        ISOLATED_BASE,
    ),
    "/home/ana/src/webshop/total.py": ("a\n", "a, by the session\n", "a, by you\n"),
}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def isolated_session(name: str = "claudex-webshop-iso-1a2b3c4d") -> SessionInfo:
    """A session working on its own copy of the webshop (`--isolated`)."""
    session = demo_session(name, ["/home/ana/src/webshop"])
    copies = '{"/home/ana/src/webshop": "/home/ana/.local/share/claudex/isolated/x/work/0"}'
    return replace(session, labels={**session.labels, "com.claudex.isolated": copies})


def fix_clock() -> None:
    """Ages and activity measured against NOW, so pictures do not change with the date."""
    widgets.details_panel.now = lambda: NOW
    widgets.session_list.time.time = lambda: NOW.timestamp()


class ReplayChannel:
    """A terminal channel that prints fixed output, then stays open and quiet."""

    def __init__(self, output: bytes) -> None:
        self._pending = [output]
        self._closed = threading.Event()

    def start(self, rows: int, columns: int) -> None:
        pass

    def read(self, timeout: float | None) -> bytes | None:
        if self._pending:
            return self._pending.pop()
        return b"" if self._closed.wait(timeout) else None

    def write(self, data: bytes) -> None:
        pass

    def resize(self, rows: int, columns: int) -> None:
        pass

    def close(self) -> None:
        self._closed.set()

    @property
    def exit_code(self) -> int | None:
        return None


class DemoFiles:
    """A session's files, in memory (the Files tab); transfers are refused."""

    def __init__(self) -> None:
        self.tree: dict[str, list[Entry]] = {
            "/workspace": [Entry("proj", True), Entry("notes.md", False, 12)],
            "/workspace/proj": [Entry("main.py", False, 40)],
            "/": [Entry("workspace", True), Entry("etc", True)],
        }

    def list_dir(self, path: str) -> list[Entry]:
        return list(self.tree.get(path, []))

    def existing(self, directory: str, names: list[str]) -> set[str]:
        there = {e.name for e in self.tree.get(directory, [])}
        return {n for n in names if n in there}

    def push(self, sources, directory, *, names, force, progress, cancel) -> Outcome:
        raise RuntimeError("the demo has no engine to copy to")

    def pull(self, source, directory, *, name, force, progress, cancel) -> Outcome:
        raise RuntimeError("the demo has no engine to copy from")


class _Quiet:
    """A watcher with nothing to report."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class DemoBackend:
    """The dashboard's backend (`claudex_tui.backend.DashboardBackend`) on the data above:
    one engine, always reachable; actions change nothing."""

    def __init__(self) -> None:
        self.sessions: list[SessionInfo] = list(SESSIONS)
        self.isolated: dict[str, list[str]] = {k: list(v) for k, v in ISOLATED_FILES.items()}
        self.applied: list[tuple[str | None, int | None]] = []
        self.engine = Engine("default", "unix:///demo.sock", "default")

    # -- engines -------------------------------------------------------------------------------

    def engines(self) -> list[Engine]:
        return [self.engine]

    def connect(self, engine: Engine) -> str:
        return ""

    def connected(self, engine: str) -> bool:
        return True

    def reachable(self, session: SessionInfo) -> bool:
        return True

    def wait_for_engine(self, engine: str, stop: threading.Event) -> str | None:
        return None  # told it went away (a test's EngineDown): it stays away

    def watch_events(
        self, engine: str, on_change: Callable[[], None], on_lost: Callable[[str], None]
    ) -> Watcher:
        return _Quiet()

    def watch_waiting(self, session: SessionInfo, on_line: Callable[[str], None]) -> Watcher:
        return _Quiet()

    def watch_alerts(self, session: SessionInfo, on_alert: Callable[[str], None]) -> Watcher:
        return _Quiet()

    def new_session_targets(self) -> list[tuple[Engine, Any]]:
        return [(self.engine, object())]

    def close(self) -> None:
        pass

    # -- sessions ------------------------------------------------------------------------------

    def early_listing(self) -> bool:
        return False

    def list_sessions(self) -> list[EngineListing]:
        return [EngineListing(self.engine, list(self.sessions))]

    def details(self, session: SessionInfo) -> SessionDetails:
        mounts = [MountRow(m, f"/workspace/{m.rsplit('/', 1)[1]}", False) for m in session.mounts]
        mounts.append(MountRow("/home/ana/.claude", "/home/agent/.claude", False, "login"))
        return SessionDetails(
            session=session,
            mounts=mounts,
            image_id="sha256:" + "3f2a9c81d0e4" * 5,
            image_created=CREATED,
            cpu_percent=3.2,
            memory_bytes=412 * 2**20,
            memory_limit=8 * 2**30,
        )

    def start(self, session: SessionInfo) -> None:
        pass

    def stop(self, session: SessionInfo) -> None:
        pass

    def restart(self, session: SessionInfo) -> None:
        pass

    def destroy(self, session: SessionInfo) -> list[str]:
        return []

    def outside_files(self, session: SessionInfo) -> list[str] | None:
        return None

    # -- change tracking -----------------------------------------------------------------------

    def tracking_enabled(self, session: SessionInfo) -> bool:
        return session.managed

    def changes(
        self,
        session: SessionInfo,
        since: Since = "start",
        paths: list[str] | None = None,
        literal: bool = False,
    ) -> list[ChangedFile]:
        return [c for c in CHANGES if paths is None or c.path in paths]

    def last_checkpoint(self, session: SessionInfo) -> Checkpoint:
        return Checkpoint("3f2a9c81d0e4" * 3, CREATED, "start", baseline=True)

    def file_diff(self, session: SessionInfo, path: str, old_path: str | None, since: Since) -> str:
        return DIFF if path.endswith("total.py") else ""

    # An isolated session's files, in memory: path -> [base, the session's copy, the user's].

    def isolated_changes(self, session: SessionInfo) -> list[ChangedFile]:
        found = []
        for path, (base, copy, now) in sorted(self.isolated.items()):
            if copy == now:
                continue
            found_hunks = hunks(_lines(base), _lines(copy))
            added = sum(h.added for h in found_hunks)
            removed = sum(h.removed for h in found_hunks)
            found.append(ChangedFile(path, "modified", added, removed, False))
        return found

    def isolated_file(self, session: SessionInfo, path: str) -> FileReview:
        from container.isolated_review import merge

        base, copy, now = self.isolated[path]
        merged, clean = merge(now, base, copy)
        if not clean:
            return FileReview(path, "conflict", "changed in your directory too", [], merged)
        found = hunks(_lines(now), _lines(merged))
        return FileReview(path, "apply", "", found, "".join(h.text for h in found))

    def isolated_apply(
        self, session: SessionInfo, path: str | None, hunk: int | None = None, shown: str = ""
    ) -> str:
        from container.isolated_review import merge

        paths = [path] if path else [p for p, (_, c, n) in self.isolated.items() if c != n]
        results = {p: merge(self.isolated[p][2], *self.isolated[p][:2]) for p in paths}
        conflicts = [text for text, clean in results.values() if not clean]
        if conflicts:
            raise ClaudexError(f"{len(conflicts)} conflict(s), nothing was written", conflicts[0])
        for p, (merged, _) in results.items():
            now = self.isolated[p][2]
            if hunk is not None:
                found = hunks(_lines(now), _lines(merged))
                if hunk >= len(found) or found[hunk].text != shown:
                    raise ClaudexError(f"{p} changed since it was shown", "look again")
                merged = with_hunk(_lines(now), _lines(merged), found[hunk])
            self.isolated[p][2] = merged
        self.applied.append((path, hunk))
        return "applied a hunk" if hunk is not None else f"applied {len(paths)} change(s)"

    def checkpoint(self, session: SessionInfo, message: str) -> str:
        return "3f2a9c81d0e4" * 3

    def revert(self, session: SessionInfo, path: str) -> bool:
        return False

    # -- firewall ------------------------------------------------------------------------------

    def firewall_status(self, session: SessionInfo, brief: bool = False) -> FirewallStatus:
        return FIREWALL

    def allow(self, session: SessionInfo, entries: list[str]) -> list[str]:
        return []

    def deny(self, session: SessionInfo, entries: list[str]) -> list[str]:
        return []

    # -- terminals and files -------------------------------------------------------------------

    def channel_factory(self, session: SessionInfo) -> Callable[[], Any]:
        return lambda: ReplayChannel(TERMINAL)

    def history_source(self, session: SessionInfo) -> Callable[[], bytes] | None:
        return lambda: HISTORY

    def files(self, session: SessionInfo) -> ContainerFiles:
        return DemoFiles()
