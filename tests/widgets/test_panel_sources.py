"""The tab panels read their own data from a source they are given (a small Protocol each):
mounted alone with a fake source, with no dashboard around them, they read, show, and drop a
read of a session that is no longer the one shown."""

from __future__ import annotations

import threading
from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from claudex_tui.demo_backend import CHANGES, DIFF, FIREWALL, SESSIONS, DemoBackend
from container.details_model import SessionDetails
from container.errors import ClaudexError
from container.firewall_model import FirewallStatus
from container.labels import SessionInfo
from container.tracking_model import ChangedFile, Checkpoint, Since
from tests.waiting import settled, until
from widgets.changes_panel import ChangesPanel
from widgets.details_panel import DetailsPanel
from widgets.firewall_panel import FirewallPanel

RUNNING, OTHER = SESSIONS[0], SESSIONS[1]


class Source:
    """Every panel's source, recording what it was asked; `gate`: reads wait until it is set."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.up = True
        self.firewall_error: str | None = None

    def _read(self, call: str, session: SessionInfo, arg: Any = None) -> None:
        self.calls.append((call, session.name, arg))
        assert self.gate.wait(30), "the test never let the read finish"

    def reachable(self, session: SessionInfo) -> bool:
        return self.up

    def details(self, session: SessionInfo) -> SessionDetails:
        self._read("details", session)
        return DemoBackend().details(session)

    def tracking_enabled(self, session: SessionInfo) -> bool:
        return True

    def changes(
        self,
        session: SessionInfo,
        since: Since = "start",
        paths: list[str] | None = None,
        literal: bool = False,
    ) -> list[ChangedFile]:
        self._read("changes", session, since)
        return CHANGES

    def last_checkpoint(self, session: SessionInfo) -> Checkpoint:
        return DemoBackend().last_checkpoint(session)

    def file_diff(self, session: SessionInfo, path: str, old_path: str | None, since: Since) -> str:
        self._read("diff", session, path)
        return DIFF

    def firewall_status(self, session: SessionInfo, brief: bool = False) -> FirewallStatus:
        self._read("firewall", session)
        if self.firewall_error:
            raise ClaudexError(self.firewall_error)
        return FIREWALL


class PanelApp(App[None]):
    def __init__(self, panel: Widget) -> None:
        super().__init__()
        self.panel = panel

    def compose(self) -> ComposeResult:
        yield self.panel


def text(panel: Widget, selector: str) -> str:
    content = panel.query_one(selector, Static).content
    return str(getattr(content, "code", content))  # a diff is a Syntax


async def test_the_details_panel_reads_its_source_and_drops_a_late_read() -> None:
    source = Source()
    panel = DetailsPanel(source)
    async with PanelApp(panel).run_test(size=(120, 40)) as pilot:
        panel.load(RUNNING)
        await until(pilot, lambda: panel.details is not None, "the details read")
        assert panel.details is not None and panel.details.session == RUNNING
        assert source.calls == [("details", RUNNING.name, None)]

        source.gate.clear()
        panel.load(OTHER)
        await until(pilot, lambda: len(source.calls) == 2, "the second read to start")
        panel.show(None)  # the user left the session before its details came
        source.gate.set()
        await settled(pilot, "the late read")
        assert panel.details is None
        assert text(panel, "#details-body") == "Select a session."


async def test_the_changes_panel_reads_the_list_then_the_diff_and_follows_since() -> None:
    source = Source()
    panel = ChangesPanel(source)
    async with PanelApp(panel).run_test(size=(120, 40)) as pilot:
        panel.load(RUNNING)
        summary = "#changes-summary"
        await until(
            pilot, lambda: "4 file(s) changed since the start" in text(panel, summary), "list"
        )
        await until(pilot, lambda: "ROUND_HALF_UP" in text(panel, "#changes-diff-body"), "diff")
        assert ("changes", RUNNING.name, "start") in source.calls
        assert ("diff", RUNNING.name, CHANGES[0].path) in source.calls

        panel.query_one("#changes-files").focus()
        await pilot.press("b")  # since the last checkpoint: the panel reads again by itself
        await until(
            pilot, lambda: "since the last checkpoint" in text(panel, summary), "the other view"
        )
        assert ("changes", RUNNING.name, "checkpoint") in source.calls


async def test_the_firewall_panel_reads_its_source_and_shows_its_errors() -> None:
    source = Source()
    panel = FirewallPanel(source)
    async with PanelApp(panel).run_test(size=(120, 40)) as pilot:
        panel.load(RUNNING)
        await until(pilot, lambda: "enforcing" in text(panel, "#fw-mode"), "the status")
        assert panel.status == FIREWALL

        source.firewall_error = "the engine went away"
        panel.load(RUNNING)
        await until(pilot, lambda: "went away" in text(panel, "#fw-mode"), "the error note")
        assert panel.status is None

        source.up = False  # an engine that is not connected is not asked
        before = len(source.calls)
        panel.load(OTHER)
        await settled(pilot, "the read")
        assert len(source.calls) == before
