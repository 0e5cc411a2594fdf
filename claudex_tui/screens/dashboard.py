"""The dashboard: every session in a list, beside its live terminal and its Changes,
Firewall, Files and Details tabs. Its parts: dashboard_base (shared state, the listing),
dashboard_terminals, dashboard_tabs, dashboard_lifecycle; the app keeps the connections."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import DescendantBlur, Mount
from textual.message import Message
from textual.widgets import ContentSwitcher, Static, TabbedContent, TabPane
from textual.widgets._tabbed_content import ContentTabs

from claudex_tui.messages import SessionsLoaded
from claudex_tui.screens.dashboard_footer import DashboardFooter
from claudex_tui.screens.dashboard_lifecycle import DashboardLifecycle
from container.labels import SessionInfo
from widgets.changes_panel import ChangesPanel
from widgets.details_panel import DetailsPanel
from widgets.files.panel import FilesPanel
from widgets.firewall_panel import FirewallPanel
from widgets.session_list import EngineHeader, SessionList, SessionRow, row_key
from widgets.terminal.widget import TerminalWidget

TABS = ("terminal", "changes", "firewall", "files", "details")
# The app loads it (a default screen's own CSS_PATH is not read): absolute, for subclasses.
CSS = Path(__file__).with_name("dashboard.tcss")


class DashboardScreen(DashboardLifecycle):
    """Keyboard-first; every key works over SSH inside tmux (no tmux default eats them)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Not priority bindings: inside the terminal these keys belong to the agent.
        # The app's keys (they work on every screen), here too so that they lead the footer
        # and the help as they always did (a screen's keys come before the app's there).
        Binding("q", "app.quit", "Quit", id="quit"),
        Binding("ctrl+q", "app.quit", "Quit", show=False, id="quit_ctrl"),
        Binding("ctrl+p", "app.command_palette", "Palette", show=False, id="palette"),
        Binding("n", "new_session", "New", id="new_session"),
        Binding("enter", "open_terminal", "Terminal", show=False, id="open_terminal"),
        Binding("s", "start_session", "Start", show=False, id="start_session"),
        Binding("x", "stop_session", "Stop", show=False, id="stop_session"),
        Binding("R", "restart_session", "Restart", show=False, id="restart_session"),
        Binding("D", "destroy_session", "Destroy", id="destroy_session"),
        Binding("t", "tab('terminal')", "Terminal tab", show=False, id="tab_terminal"),
        Binding("g", "tab('changes')", "Changes tab", show=False, id="tab_changes"),
        Binding("w", "tab('firewall')", "Firewall tab", show=False, id="tab_firewall"),
        Binding("f", "tab('files')", "Files tab", show=False, id="tab_files"),
        Binding("i", "tab('details')", "Details tab", show=False, id="tab_details"),
        Binding("slash", "filter", "Filter", show=False, id="filter"),
        Binding("h", "history", "History", show=False, id="session_history"),
        Binding("question_mark", "help", "Keys", id="help"),
        # Shown and active only inside a tab's content (check_action): back to the list.
        Binding("escape", "focus_sessions", "Session list", id="back_to_list"),
        # Priority: switching sessions works from inside a terminal too. Alt+arrows pass
        # through tmux and SSH unchanged and no agent binds them.
        Binding("alt+down", "next_session", "Next session", priority=True, id="next_session"),
        Binding(
            "alt+up", "previous_session", "Previous session", priority=True, id="previous_session"
        ),
        # Priority too: it is pressed from inside the terminal (tmux's zoom is z as well).
        Binding(
            "alt+z",
            "maximize_terminal",
            "Maximize terminal",
            priority=True,
            id="maximize",
        ),
    ]

    def compose(self) -> ComposeResult:
        yield Static("", id="banner", markup=False)  # engine errors: never markup
        with Horizontal(id="main"):
            yield SessionList(id="sessions")
            with Vertical(id="right"), TabbedContent(id="tabs", initial="terminal"):
                with TabPane("Terminal", id="terminal"):
                    with ContentSwitcher(id="terminals", initial="term-none"):
                        yield Static(
                            "Select a session, or press n to create one.",
                            id="term-none",
                            classes="placeholder",
                        )
                        yield Static("", id="term-stopped", classes="placeholder", markup=False)
                with TabPane("Changes", id="changes"):
                    yield ChangesPanel(self.backend, id="changes-panel")
                with TabPane("Firewall", id="firewall"):
                    yield FirewallPanel(self.backend, id="firewall-panel")
                with TabPane("Files", id="files"):
                    files = self.backend.files
                    yield FilesPanel(files, host_root=self._host_root, id="files-panel")
                with TabPane("Details", id="details"):
                    yield DetailsPanel(self.backend, id="details-panel")
        yield Static("", id="max-status", markup=False)  # the one line left when maximized
        yield DashboardFooter()

    @on(Mount)
    def _tab_bar_unfocusable(self) -> None:
        """Tab from the list lands in the tab's content, not on the tab bar (letters switch)."""
        self.query_one(TabbedContent).query_one(ContentTabs).can_focus = False

    class Ready(Message):
        """The dashboard is drawn: the app may connect (what it hears goes on the screen)."""

    def on_mount(self) -> None:
        self.session_list.options.focus()
        self.engine_headers.update({e.name: EngineHeader(e.name) for e in self.backend.engines()})
        self.session_list.set_engines(self.engine_headers.values())
        # Once laid out (rows are cut to the list's width): it bubbles to the app.
        self.call_after_refresh(self.post_message, self.Ready())
        if self.poll_engines:
            # The visible tab's data is re-read now and then; a read still running is not
            # stacked.
            self.set_interval(3.0, self._refresh_visible_tab)
            self.set_interval(15.0, self._refresh_counts)
            self.set_interval(15.0, self._check_firewalls)
        self.set_interval(5.0, self._check_idle)
        if self.follow_activity:
            self.set_interval(5.0, self.session_list.refresh_ages)

    def on_unmount(self) -> None:
        for watcher in self._waiting.values():
            watcher.stop()

    @on(SessionsLoaded)
    def _sessions_loaded(self, message: SessionsLoaded) -> None:
        if self._winding_down:  # shutting down: late messages find no widgets
            return
        previous = self.session_list.rows
        fresh = {s.engine or "default" for s in message.sessions}
        fresh |= {n for n, h in self.engine_headers.items() if h.reachable}
        # Engines not in this load keep their last known sessions (marked unreachable).
        kept = [
            r.session for r in previous.values() if (r.session.engine or "default") not in fresh
        ]
        everything = list(message.sessions) + kept
        self.sessions = {row_key(s): s for s in everything}
        rows = []
        for s in everything:
            old = previous.get(row_key(s))
            row = SessionRow(s)
            if old is not None:
                row.changed, row.waiting = old.changed, old.waiting
                row.last_output = old.last_output
            header = self.engine_headers.get(s.engine or "default")
            row.unreachable = header is not None and header.reachable is False
            rows.append(row)
        for header in self.engine_headers.values():
            header.count = sum(1 for s in everything if (s.engine or "default") == header.name)
        self.session_list.set_rows(rows, self.engine_headers.values())
        self._sync_waiting_watchers()
        self._drop_terminals_of_gone_sessions()
        self._reattach_terminals()
        if self._initial_select and self._initial_select in self.sessions:
            self.session_list.select(self._initial_select)
            self._initial_select = None
            if self._focus_terminal:
                self.action_open_terminal()
        else:
            self._show_selected()

    @on(SessionList.Selected)
    def _selected_changed(self, message: SessionList.Selected) -> None:
        if self._winding_down:  # shutting down: late messages find no widgets
            return
        self._show_selected()

    @on(SessionList.Activated)
    def _activated(self, message: SessionList.Activated) -> None:
        self.action_open_terminal()

    def _show_selected(self) -> None:
        self._show_max_status()
        session = self.selected
        switcher = self.terminals
        self._show_tabs_of(session)
        if session is None:
            switcher.current = "term-none"
            self.query_one(DetailsPanel).show(None)
            self.query_one(FilesPanel).set_session(None)
            self._shown = None
            return
        if session.running:
            switcher.current = self._terminal_for(session).id
        elif session.state == "paused" and self.terminal_of(row_key(session)) is not None:
            # claudex pauses a session while a push writes: its terminal stays, frozen.
            switcher.current = self._terminal_for(session).id
        else:
            stopped = self.query_one("#term-stopped", Static)
            stopped.update(
                f"Session {session.name} is {session.state}.\n\nPress s to start it, "
                "D to destroy it."
            )
            switcher.current = "term-stopped"
        # Only the tab in sight reads the session (the others when shown: _tab_activated); a
        # switch shows it twice (the list's Selected, then the terminal opened): read once.
        tab = self.query_one(TabbedContent).active
        if self._shown != (session, tab):
            self._shown = (session, tab)
            self._load_tab(tab, session)

    def action_next_session(self) -> None:
        self._switch(1)

    def action_previous_session(self) -> None:
        self._switch(-1)

    def _switch(self, delta: int) -> None:
        was_in_terminal = isinstance(self.focused, TerminalWidget)
        self.session_list.move(delta)
        if was_in_terminal:
            self.action_open_terminal()

    def select_and_open(self, name: str) -> None:
        self.session_list.select(name)
        self.action_open_terminal()

    def action_open_terminal(self) -> None:
        session = self.selected
        if session is None:
            return
        self.query_one(TabbedContent).active = "terminal"
        self._show_selected()
        if session.running:
            widget = self._terminal_for(session)
            widget.focus()
            self.session_list.update_row(row_key(session), waiting=False)

    def action_tab(self, tab: str) -> None:
        if tab not in TABS:
            return
        inside = self._focus_in_tabs()
        if inside:
            # A focused widget left in the hidden pane would pull its tab back (a focused
            # descendant activates its TabPane): the keyboard moves first.
            self.session_list.options.focus()
        self.query_one(TabbedContent).active = tab
        if inside and tab != "terminal":  # in the terminal every key would go to the agent
            self.call_after_refresh(self._focus_tab_content, tab)

    def _focus_in_tabs(self) -> bool:
        """Is the keyboard in a tab's content (not the terminal, where keys are the agent's)?"""
        focused = self.focused
        tabs = self.query_one(TabbedContent)
        return (
            focused is not None
            and not isinstance(focused, TerminalWidget)
            and tabs in focused.ancestors
        )

    def _focus_tab_content(self, tab: str) -> None:
        """The tab's first list or tree (an input box would take the next letter keys)."""
        from textual.widgets import Button, Input

        pane = self.query_one(TabbedContent).get_pane(tab)
        for widget in pane.query("*"):
            if widget.focusable and not isinstance(widget, (Input, Button)):
                widget.focus()
                return

    def action_focus_sessions(self) -> None:
        self.session_list.options.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_sessions":  # Esc: only where it leads somewhere (and shows)
            return self.app.screen is self and self._focus_in_tabs()
        return True

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        session = self.selected
        if session is not None and event.pane.id:
            self._shown = (session, event.pane.id)
            self._load_tab(event.pane.id, session)

    def action_filter(self) -> None:
        self.session_list.action_filter()

    def action_help(self) -> None:
        """The keys where the focus is (as the footer shows them), then the terminal's."""
        from claudex_tui.screens.help import HelpScreen, key_sections, terminal_section

        sections = key_sections(self.app, self)
        for title, rows in sections:
            if title == "Session list":
                rows.append(("1-9", "Select session by number", "pick_1 … pick_9"))
        if not isinstance(self.focused, TerminalWidget):
            sections.append(terminal_section(self.app, TerminalWidget.BINDINGS, self.BINDINGS))
        self.app.push_screen(HelpScreen(sections))

    def action_new_session(self) -> None:
        reachable = self.backend.new_session_targets()
        default = next((c for e, c in reachable if e.name == "default"), None)
        client = default or (reachable[0][1] if reachable else None)
        if client is None:
            self.notify("No Docker Engine is reachable.", severity="error")
            return
        try:
            from claudex_tui.screens.new_session import NewSessionScreen
        except ImportError:
            self.notify("Use `claudex DIR` to create a session.", severity="warning")
            return

        def created(session: SessionInfo | None) -> None:
            if session is not None:
                self._initial_select = row_key(session)
                self._focus_terminal = True
                self.refresh_sessions()

        # New sessions go where the selected one runs, unless the user picks another engine;
        # the picker starts at its first directory (else where claudex was started).
        current = self.selected.engine if self.selected is not None else None
        engine = current or ("default" if default else reachable[0][0].name)
        start = Path(self.selected.mounts[0]) if self.selected and self.selected.mounts else None
        screen = NewSessionScreen(client, self.config, start, engines=reachable, engine=engine)
        self.app.push_screen(screen, created)

    def action_maximize_terminal(self) -> None:
        """Toggle: the terminal fills the screen but for a status line (dashboard.tcss hides
        the rest); Alt-Up/Down still switch sessions."""
        home = self
        if home.has_class("-maximized"):
            home.remove_class("-maximized")
            return
        if self.selected is None:
            self.notify("Select a session first.", severity="warning")
            return
        home.add_class("-maximized")
        self.action_open_terminal()
        self._show_max_status()

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        """Leaving the terminal (Ctrl-], a click) while maximized brings the layout back:
        the keyboard must never sit in a list that is not shown."""
        if self.has_class("-maximized"):
            self.call_after_refresh(self._keep_maximized)  # once the focus has moved

    def _keep_maximized(self) -> None:
        if self._winding_down:
            return
        focused = self.focused
        if focused is None or not any(a.id == "terminals" for a in focused.ancestors):
            self.remove_class("-maximized")
            if focused is None:  # nothing else was shown to take it: the list does
                self.session_list.options.focus()

    def _show_max_status(self) -> None:
        session = self.selected
        if session is None or not self.has_class("-maximized"):
            return
        row = self.session_list.rows.get(row_key(session))
        parts = [session.name, row.state if row else session.state]
        if row is not None and row.changed is not None:
            parts.append(f"Δ{row.changed} changed")
        key = self.app.get_key_display(Binding("alt+z", "maximize_terminal"))
        for binding in self.active_bindings.values():
            if binding.binding.action == "maximize_terminal":
                key = self.app.get_key_display(binding.binding)
        parts.append(f"{key} restore · alt+↑↓ switch")
        self.query_one("#max-status", Static).update(" · ".join(parts))
