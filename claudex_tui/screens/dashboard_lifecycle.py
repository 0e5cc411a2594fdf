"""Starting, stopping, restarting and destroying the selected session: what ends the agent's
work is asked first, and what a destroy would lose is found before asking."""

from __future__ import annotations

from textual import on, work

from claudex_tui.messages import ActionDone
from claudex_tui.screens.dashboard_base import terminal_id
from claudex_tui.screens.dashboard_tabs import DashboardTabs
from container.errors import ClaudexError
from container.labels import SessionInfo
from widgets.session_list import row_key
from widgets.terminal.widget import TerminalWidget


class DashboardLifecycle(DashboardTabs):
    def action_start_session(self) -> None:
        session = self.selected
        if session is not None and not session.running:
            self._lifecycle("start", session)

    def action_stop_session(self) -> None:
        session = self.selected
        if session is not None and session.running:
            self._confirm_lifecycle("stop", session)

    def action_restart_session(self) -> None:
        session = self.selected
        if session is not None and session.running:
            self._confirm_lifecycle("restart", session)
        elif session is not None:
            self._lifecycle("restart", session)  # nothing runs: nothing to lose

    def _confirm_lifecycle(self, verb: str, session: SessionInfo) -> None:
        """Stop and restart end the agent's conversation: asked first, as destroy is."""
        from claudex_tui.screens.confirm import ConfirmScreen, lifecycle_question

        def answer(yes: bool | None) -> None:
            if yes:
                self._lifecycle(verb, session)

        confirm = verb.capitalize()
        self.app.push_screen(ConfirmScreen(lifecycle_question(verb, session), confirm), answer)

    def action_destroy_session(self) -> None:
        session = self.selected
        if session is not None and self.backend.reachable(session):
            self._prepare_destroy(session)

    @work(thread=True, exclusive=True, group="destroy-check", exit_on_error=False)
    def _prepare_destroy(self, session: SessionInfo) -> None:
        """What would be lost, found before asking (files outside the mounts)."""
        from container.lifecycle import describe_outside

        lost = describe_outside(self.backend.outside_files(session))
        self.app.call_from_thread(self._confirm_destroy, session, lost)

    def _confirm_destroy(self, session: SessionInfo, lost: list[str]) -> None:
        from claudex_tui.screens.confirm import ConfirmScreen

        lines = [f"Destroy session {session.name}?", ""]
        lines += [f"  mounted (stays on the host): {m}" for m in session.mounts]
        lines += lost or ["  nothing in /workspace outside the mounts would be lost"]
        if session.managed and session.labels.get("com.claudex.git") != "off":
            lines += ["", "Its change history is saved to an audit bundle first."]

        def answer(yes: bool | None) -> None:
            if yes:
                self._lifecycle("destroy", session)

        self.app.push_screen(ConfirmScreen("\n".join(lines), confirm="Destroy"), answer)

    @work(thread=True, group="lifecycle", exit_on_error=False)
    def _lifecycle(self, verb: str, session: SessionInfo) -> None:
        try:
            if verb == "start":
                self.backend.start(session)  # claudex's scripts checked first
            elif verb == "stop":
                self.backend.stop(session)
            elif verb == "restart":
                self.backend.restart(session)
            elif verb == "destroy":
                # The agent home and the history reach the host first; if they cannot,
                # nothing is destroyed.
                saved = self.backend.destroy(session)
                if saved:
                    verb = f"destroy ({', '.join(saved)})"
        except ClaudexError as exc:
            self.post_message(ActionDone(verb, row_key(session), exc.message, exc.hint))
            return
        except Exception as exc:
            self.post_message(ActionDone(verb, row_key(session), str(exc)))
            return
        self.post_message(ActionDone(verb, row_key(session)))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        if self._winding_down:  # shutting down: late messages find no widgets
            return
        if message.error:
            text = f"{message.verb} {message.name} failed: {message.error}"
            if message.hint:
                text += f"\n{message.hint}"
            self.notify(text, severity="error", timeout=10)
        else:
            self.notify(f"{message.name}: {message.verb} done")
            if message.verb == "restart":
                for widget in self.query(TerminalWidget):
                    if widget.id == terminal_id(message.name):
                        widget.restart()
        self.refresh_sessions()
