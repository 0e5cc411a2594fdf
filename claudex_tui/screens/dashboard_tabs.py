"""The dashboard's data tabs: which panel reads the backend when (each panel runs its own
workers), the Changes tab's checkpoint and revert and the Firewall tab's allow and deny (the
user confirms first); the list's change counts and the firewall checks of every running
session."""

from __future__ import annotations

import time
from typing import Any

from textual import on, work
from textual.message import Message
from textual.widgets import TabbedContent

from claudex_tui.messages import ActionDone, CountsLoaded, FirewallsChecked
from claudex_tui.screens.dashboard_terminals import DashboardTerminals
from container.errors import ClaudexError
from container.labels import ISOLATED, SessionInfo
from widgets.changes_panel import ChangesPanel
from widgets.details_panel import DetailsPanel
from widgets.files.panel import FilesPanel
from widgets.firewall_panel import FirewallPanel
from widgets.session_list import row_key

# The list's change counts and the firewall checks run every 15 s (dashboard.py); a session
# without output for QUIET_AFTER seconds is read only every QUIET_ROUNDS-th time (45 s).
QUIET_ROUNDS = 3
QUIET_AFTER = 30.0


class DashboardTabs(DashboardTerminals):
    # The panels read their own data (workers) from the backend; here: which to read when.

    def _load_tab(self, tab: str, session: SessionInfo) -> None:
        """The tab in sight reads `session` (switching sessions reads no hidden tab)."""
        if tab == "changes":
            self.query_one(ChangesPanel).load(session)
        elif tab == "firewall":
            self.query_one(FirewallPanel).load(session)
        elif tab == "details":
            self.query_one(DetailsPanel).load(session)
        elif tab == "files":
            self.query_one(FilesPanel).set_session(session)

    def _show_tabs_of(self, session: SessionInfo | None) -> None:
        """The selected session: a tab shown later reads it; a late read of another is not
        shown meanwhile."""
        self.query_one(ChangesPanel).session = session
        self.query_one(FirewallPanel).session = session

    def _refresh_visible_tab(self) -> None:
        if self._winding_down:  # a timer's tick during shutdown
            return
        session = self.selected
        if session is None or not session.running:
            return
        tab = self.query_one(TabbedContent).active
        panels: dict[str, type[ChangesPanel | FirewallPanel]] = {
            "changes": ChangesPanel,
            "firewall": FirewallPanel,
        }
        if tab in panels and not self.query_one(panels[tab]).busy:
            self._load_tab(tab, session)

    class _ReadAgain(Message, bubble=False):
        """After an action on `session` (posted from its worker): its tab reads it again at
        once (the Changes tab with the shown diff)."""

        def __init__(self, tab: str, session: SessionInfo) -> None:
            super().__init__()
            self.tab = tab
            self.session = session

    @on(_ReadAgain)
    def _read_again(self, message: _ReadAgain) -> None:
        if self._winding_down:
            return
        if message.tab == "changes":
            self.query_one(ChangesPanel).load(message.session, reload=True)
        else:
            self.query_one(FirewallPanel).load(message.session)

    @on(ChangesPanel.Loaded)
    def _changes_loaded(self, message: ChangesPanel.Loaded) -> None:
        """The list's change count follows what the Changes tab read (since the start)."""
        if self._winding_down:
            return
        if message.changes is not None and message.since == "start":
            self.session_list.update_row(message.name, changed=len(message.changes))

    @on(ChangesPanel.CheckpointRequested)
    def _checkpoint_requested(self) -> None:
        session = self.selected
        if session is None or not session.running:
            return
        from claudex_tui.screens.prompt import PromptScreen

        def record(text: str | None) -> None:
            if text is not None:
                self._tracking_action(session, "checkpoint", text or "checkpoint")

        self.app.push_screen(PromptScreen("Checkpoint message:", "checkpoint"), record)

    @on(ChangesPanel.RevertRequested)
    def _revert_requested(self, message: ChangesPanel.RevertRequested) -> None:
        session = self.selected
        if session is not None and session.running:
            self._prepare_revert(session, message.path)

    @work(thread=True, exclusive=True, group="revert-check", exit_on_error=False)
    def _prepare_revert(self, session: SessionInfo, path: str) -> None:
        """What the revert would throw away (the file's changes since the last checkpoint),
        found before asking."""
        if not self.backend.reachable(session):
            return
        try:
            since = self.backend.changes(session, "checkpoint", [path], literal=True)
        except ClaudexError as exc:
            self.post_message(ActionDone("revert", row_key(session), exc.message, exc.hint))
            return
        lost = next((c for c in since if c.path == path), None)
        self.app.call_from_thread(self._confirm_revert, session, path, lost)

    def _confirm_revert(self, session: SessionInfo, path: str, lost: Any) -> None:
        from claudex_tui.screens.confirm import ConfirmScreen
        from container.diff_text import display_path

        shown = display_path(path)
        if lost is None:
            self.notify(f"{shown}: no change since the last checkpoint", markup=False)
            return
        if lost.status == "added":
            what = "The file did not exist at the last checkpoint: it is deleted"
        elif lost.binary:
            what = "The agent's changes to this binary file since then are lost"
        else:
            what = f"Lost: +{lost.added} -{lost.removed} lines changed since then"
        question = (
            f"Revert {shown} in {session.name} to the last checkpoint?\n\n{what}.\n"
            "(b in the Changes tab shows the changes since the last checkpoint.)"
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self._tracking_action(session, "revert", path)

        self.app.push_screen(ConfirmScreen(question, confirm="Revert"), answer)

    @work(thread=True, group="tracking-action", exit_on_error=False)
    def _tracking_action(self, session: SessionInfo, verb: str, arg: str) -> None:
        try:
            if verb == "checkpoint":
                commit = self.backend.checkpoint(session, arg)
                done = f"checkpoint {commit[:12]} recorded"
            else:
                reverted = self.backend.revert(session, arg)
                done = f"reverted {arg}" if reverted else f"{arg}: nothing to revert"
        except ClaudexError as exc:
            self.post_message(ActionDone(verb, row_key(session), exc.message, exc.hint))
            return
        self.post_message(ActionDone(done, row_key(session)))
        # At once, with the shown diff read again.
        self.post_message(self._ReadAgain("changes", session))

    def _due(self, kind: str) -> list[SessionInfo]:
        """The sessions a periodic check reads this round: the selected one, those with output
        lately and those never read, every round; the quiet others every QUIET_ROUNDS-th (each
        read is an exec: 20 quiet sessions cost the dashboard more than anything else)."""
        sessions = self._running_managed()
        round_ = self._rounds[kind] = self._rounds.get(kind, -1) + 1
        read = self._read_by.setdefault(kind, set())
        if round_ % QUIET_ROUNDS == 0:
            due = sessions
        else:
            lately = time.time() - QUIET_AFTER
            rows = self.session_list.rows
            due = [
                s
                for s in sessions
                if row_key(s) == self.session_list.selected
                or row_key(s) not in read
                or ((row := rows.get(row_key(s))) is not None and (row.last_output or 0) > lately)
            ]
        read.update(row_key(s) for s in due)
        return due

    def _refresh_counts(self) -> None:
        if not self._busy("counts"):
            self._load_counts(self._due("counts"))

    @work(thread=True, group="counts", exit_on_error=False)
    def _load_counts(self, sessions: list[SessionInfo]) -> None:
        counts = {}
        for session in sessions:
            try:
                if ISOLATED in session.labels:  # what differs from your directory, as its tab
                    counts[row_key(session)] = len(self.backend.isolated_changes(session))
                    continue
                if not self.backend.tracking_enabled(session):
                    continue
                counts[row_key(session)] = len(self.backend.changes(session))
            except ClaudexError:
                continue
        self.post_message(CountsLoaded(counts))

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        if self._winding_down:
            return
        for name, count in message.counts.items():
            self.session_list.update_row(name, changed=count)

    def _check_firewalls(self) -> None:
        if not self._busy("firewall-check"):
            self._load_firewall_modes(self._due("firewall-check"))

    @work(thread=True, group="firewall-check", exit_on_error=False)
    def _load_firewall_modes(self, sessions: list[SessionInfo]) -> None:
        statuses = {}
        for session in sessions:
            try:
                statuses[row_key(session)] = self.backend.firewall_status(session, brief=True)
            except ClaudexError:
                continue
        self.post_message(FirewallsChecked(statuses))

    @on(FirewallsChecked)
    def _firewalls_checked(self, message: FirewallsChecked) -> None:
        for name, status in message.statuses.items():
            self._note_firewall(name, status)

    def _note_firewall(self, name: str, status: Any) -> None:
        """Tell the user once when a session's firewall becomes BROKEN (again after it held)."""
        from container.firewall_model import BROKEN

        if status.mode != BROKEN:
            self._firewall_broken.discard(name)
        elif name not in self._firewall_broken:
            self._firewall_broken.add(name)
            self.notify(
                f"{name}: firewall BROKEN: {status.reason}\n"
                "The rules in place are not what claudex applied (Firewall tab).",
                severity="error",
                timeout=30,
                markup=False,  # the reason quotes rules and names: no markup in them
            )

    @on(FirewallPanel.Loaded)
    def _firewall_loaded(self, message: FirewallPanel.Loaded) -> None:
        if message.status is not None and not self._winding_down:
            self._note_firewall(message.name, message.status)

    @on(FirewallPanel.AllowRequested)
    def _allow_requested(self, message: FirewallPanel.AllowRequested) -> None:
        """The list is shown before anything is added; a public suffix is named loudly."""
        from claudex_tui.screens.confirm import ConfirmScreen, allow_question

        session = self.selected
        if session is None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.query_one(FirewallPanel).allowed()
                self._firewall_edit(session, "allow", message.entries)

        question = allow_question(session.name, message.entries, message.public)
        self.app.push_screen(ConfirmScreen(question, confirm="Allow"), answer)

    @on(FirewallPanel.DenyRequested)
    def _deny_requested(self, message: FirewallPanel.DenyRequested) -> None:
        from claudex_tui.screens.confirm import ConfirmScreen, deny_question

        session = self.selected
        if session is None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._firewall_edit(session, "deny", message.entries)

        question = deny_question(session.name, message.entries)
        self.app.push_screen(ConfirmScreen(question, confirm="Deny"), answer)

    @work(thread=True, group="firewall-edit", exit_on_error=False)
    def _firewall_edit(self, session: SessionInfo, verb: str, entries: list[str]) -> None:
        try:
            if verb == "allow":  # the user saw the list, public suffixes named: confirmed
                changed = self.backend.allow(session, entries)
            else:
                changed = self.backend.deny(session, entries)
        except ClaudexError as exc:
            self.post_message(ActionDone(verb, row_key(session), exc.message, exc.hint))
            return
        changed_text = " ".join(changed) or "nothing new"
        self.post_message(ActionDone(f"{verb} {changed_text}", row_key(session)))
        self.post_message(self._ReadAgain("firewall", session))
