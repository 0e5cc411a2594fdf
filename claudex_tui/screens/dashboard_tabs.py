"""The dashboard's data tabs: Details, Changes (with checkpoint and revert) and Firewall
(with allow and deny), each read by a worker off the event loop; the list's change counts and
the firewall checks of every running session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.widgets import TabbedContent

from claudex_tui.messages import (
    ActionDone,
    ChangesLoaded,
    CountsLoaded,
    DetailsLoaded,
    DiffLoaded,
    FirewallLoaded,
    FirewallsChecked,
)
from claudex_tui.screens.dashboard_terminals import DashboardTerminals
from container.errors import ClaudexError
from container.labels import SessionInfo
from widgets.changes_panel import ChangesPanel
from widgets.details_panel import DetailsPanel
from widgets.firewall_panel import FirewallPanel
from widgets.session_list import row_key

if TYPE_CHECKING:
    from container.tracking_model import Since


class DashboardTabs(DashboardTerminals):
    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def _load_details(self, session: SessionInfo) -> None:
        if self.backend.reachable(session):
            details = self.backend.details(session)
            self.post_message(DetailsLoaded(details))

    @on(DetailsLoaded)
    def _details_loaded(self, message: DetailsLoaded) -> None:
        if self._winding_down:  # shutting down: late messages find no widgets
            return
        current = self.selected
        if current is not None and row_key(current) == row_key(message.details.session):
            self.query_one(DetailsPanel).show(message.details)

    def _load_tab(self, tab: str, session: SessionInfo) -> None:
        if tab == "changes":
            self._load_changes(session)
        elif tab == "firewall":
            self._load_firewall(session)

    def _refresh_visible_tab(self) -> None:
        if self._winding_down:  # a timer's tick during shutdown
            return
        session = self.selected
        if session is None or not session.running:
            return
        tab = self.query_one(TabbedContent).active
        if tab in ("changes", "firewall") and not self._busy(tab):
            self._load_tab(tab, session)

    @work(thread=True, exclusive=True, group="changes", exit_on_error=False)
    def _load_changes(self, session: SessionInfo) -> None:
        self._read_changes(session)

    def _read_changes(self, session: SessionInfo, reload: bool = False) -> None:
        """The Changes tab's list (off the event loop), since the start or the last
        checkpoint as the tab shows; `reload`: the shown file's diff is read again."""
        if not self.backend.reachable(session):
            return
        since = self._changes_since
        if not self.backend.tracking_enabled(session):
            note = (
                "This session was made by the Go tool: it has no change tracking."
                if not session.managed
                else "Change tracking is off (--no-git)."
            )
            self.post_message(ChangesLoaded(row_key(session), None, note))
            return
        if not session.running:
            self.post_message(
                ChangesLoaded(row_key(session), None, f"Session is {session.state}: start it (s).")
            )
            return
        base = ""
        try:
            changes = self.backend.changes(session, since=since)
            if since == "checkpoint":
                last = self.backend.last_checkpoint(session)
                base = (
                    "none yet: the start"
                    if last.baseline
                    else f"{last.short} {last.message!r}, {last.time:%H:%M:%S}"
                )
        except ClaudexError as exc:
            self.post_message(ChangesLoaded(row_key(session), None, exc.message, since=since))
            return
        self.post_message(
            ChangesLoaded(row_key(session), changes, since=since, base=base, reload=reload)
        )

    @property
    def _changes_since(self) -> Since:
        """What the Changes tab shows changes against (read from worker threads too)."""
        return "checkpoint" if self._since == "checkpoint" else "start"

    @on(ChangesPanel.SinceChanged)
    def _since_changed(self, message: ChangesPanel.SinceChanged) -> None:
        self._since = message.since
        if self.selected is not None:
            self._load_changes(self.selected)

    @on(ChangesLoaded)
    def _changes_loaded(self, message: ChangesLoaded) -> None:
        if self._winding_down:
            return
        panel = self.query_one(ChangesPanel)
        if message.changes is not None and message.since == "start":
            self.session_list.update_row(message.name, changed=len(message.changes))
        if self.selected is None or row_key(self.selected) != message.name:
            return
        if message.since != panel.since:
            return  # read before the user switched what the tab shows
        if message.changes is None:
            panel.show_note(message.note)
        else:
            panel.show_changes(message.changes, message.base, reload_diff=message.reload)

    @on(ChangesPanel.FileChosen)
    def _file_chosen(self, message: ChangesPanel.FileChosen) -> None:
        if self.selected is not None:
            self._load_diff(self.selected, message.change.path, message.change.old_path)

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _load_diff(self, session: SessionInfo, path: str, old_path: str | None) -> None:
        if not self.backend.reachable(session):
            return
        since = self._changes_since
        try:
            diff = self.backend.file_diff(session, path, old_path, since)
        except ClaudexError as exc:
            diff = f"(cannot show the diff: {exc.message})"
        self.post_message(DiffLoaded(row_key(session), path, diff, since=since))

    @on(DiffLoaded)
    def _diff_loaded(self, message: DiffLoaded) -> None:
        if not self._winding_down and self.selected and row_key(self.selected) == message.name:
            panel = self.query_one(ChangesPanel)
            if not message.since or message.since == panel.since:
                panel.show_diff(message.path, message.diff)

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
        self._read_changes(session, reload=True)  # at once, with the shown diff read again

    def _refresh_counts(self) -> None:
        if not self._busy("counts"):
            self._load_counts(self._running_managed())

    @work(thread=True, group="counts", exit_on_error=False)
    def _load_counts(self, sessions: list[SessionInfo]) -> None:
        counts = {}
        for session in sessions:
            try:
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

    @work(thread=True, exclusive=True, group="firewall", exit_on_error=False)
    def _load_firewall(self, session: SessionInfo) -> None:
        if not self.backend.reachable(session):
            return
        try:
            status = self.backend.firewall_status(session)
        except ClaudexError as exc:
            self.post_message(FirewallLoaded(row_key(session), None, exc.message))
            return
        self.post_message(FirewallLoaded(row_key(session), status))

    def _check_firewalls(self) -> None:
        if not self._busy("firewall-check"):
            self._load_firewall_modes(self._running_managed())

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

    @on(FirewallLoaded)
    def _firewall_loaded(self, message: FirewallLoaded) -> None:
        if message.status is not None and not self._winding_down:
            self._note_firewall(message.name, message.status)
        if self._winding_down or self.selected is None or row_key(self.selected) != message.name:
            return
        panel = self.query_one(FirewallPanel)
        if message.status is None:
            panel.show_note(message.note)
        else:
            panel.show(message.status)

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
        self._load_firewall(session)
