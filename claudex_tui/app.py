"""The claudex dashboard: every session, its live terminal, changes, firewall and files."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Compose, DescendantBlur, Mount
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Static, TabbedContent, TabPane
from textual.widgets._tabbed_content import ContentTabs
from textual.worker import Worker, WorkerState

from claudex_tui.commands_palette import SessionCommands
from claudex_tui.messages import (
    ActionDone,
    AgentWaiting,
    ChangesLoaded,
    CountsLoaded,
    DetailsLoaded,
    DiffLoaded,
    EngineDown,
    EngineUp,
    FirewallLoaded,
    FirewallsChecked,
    SessionsChanged,
    SessionsLoaded,
)
from container.errors import ClaudexError
from container.labels import SessionInfo
from widgets.changes_panel import ChangesPanel
from widgets.details_panel import DetailsPanel
from widgets.files.panel import FilesPanel
from widgets.firewall_panel import FirewallPanel
from widgets.session_list import EngineHeader, SessionList, SessionRow, row_key
from widgets.terminal.widget import TerminalWidget

if TYPE_CHECKING:
    import docker

    from claudex_tui.backend import DashboardBackend, Watcher
    from claudex_tui.config import Config
    from container.engines import Engine
    from container.tracking_model import Since

TABS = ("terminal", "changes", "firewall", "files", "details")
IDLE_SECONDS = 30.0  # output then this much silence: the agent probably waits for the user
ATTACH_SETTLE = 3.0  # seconds of output after attaching that are only the screen's redraw


def _dom_id(name: str) -> str:
    """Session names may hold dots; DOM ids may not."""
    return "term-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


class ClaudexApp(App[None]):
    """Keyboard-first; every key works over SSH inside tmux (no tmux default eats them)."""

    follow_activity = True  # "last output" and idleness (pictures with a fixed clock turn it off)
    poll_engines = True  # re-read tabs, counts, firewalls now and then (fixed pictures: off)
    handler_errors_fail_tests = True  # a test of the notice itself turns it off
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "claudex"
    # Below 100 columns (80x24 over SSH) panels stack and the session list narrows.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    COMMANDS = App.COMMANDS | {SessionCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not priority bindings: inside the terminal these keys belong to the agent.
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, id="quit_ctrl"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="palette"),
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

    def __init__(
        self,
        *,
        config: Config | None = None,
        backend: DashboardBackend | None = None,
        client_factory: Callable[[], docker.DockerClient] | None = None,
        select: str | None = None,
        focus_terminal: bool = False,
        engines: list[Engine] | None = None,
        host_root: Path | None = None,
    ) -> None:
        super().__init__()
        self._host_root = host_root  # where the Files tab's host tree starts (default: cwd)
        from claudex_tui.config import load_config

        self.config = config or load_config()
        from claudex_tui.keymap import keymap

        self.set_keymap(keymap(self.config.keys))  # [keys]: an unknown id fails here, clearly
        if backend is None:
            from claudex_tui.engine_backend import EngineBackend

            backend = EngineBackend(self.config, engines=engines, client_factory=client_factory)
        self.backend = backend
        self.engine_headers: dict[str, EngineHeader] = {}
        self.sessions: dict[str, SessionInfo] = {}
        self._initial_select = select
        self._focus_terminal = focus_terminal
        self._events: dict[str, Watcher] = {}
        self._waiting: dict[str, Watcher] = {}
        self._refreshing = False
        self._refresh_again = False
        self._stop = threading.Event()
        self._idle_watch: dict[str, float] = {}  # session -> last output, until it goes quiet
        self._attached_at: dict[int, float] = {}  # terminal widget -> when it (re)attached
        self._channels: dict[str, Any] = {}  # terminal's dom id -> its latest channel
        self._reattach: set[str] = set()  # terminals to attach again once their session is up
        self._firewall_broken: set[str] = set()  # sessions told about a BROKEN firewall
        self._since = "start"  # the Changes tab: changes since the start or last checkpoint

    # -- layout ----------------------------------------------------------------------------

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
                    yield ChangesPanel(id="changes-panel")
                with TabPane("Firewall", id="firewall"):
                    yield FirewallPanel(id="firewall-panel")
                with TabPane("Files", id="files"):
                    files = self.backend.files
                    yield FilesPanel(files, host_root=self._host_root, id="files-panel")
                with TabPane("Details", id="details"):
                    yield DetailsPanel(id="details-panel")
        yield Static("", id="max-status", markup=False)  # the one line left when maximized
        yield Footer()

    @property
    def home(self) -> Screen[Any]:
        """The dashboard's own screen, also while a dialog is on top of it."""
        return self.screen_stack[0]

    @property
    def _winding_down(self) -> bool:
        """Shutting down (the app stops running, then its widgets go): a late message from a
        worker or thread must not look for them."""
        return not self.is_running or not self.screen_stack

    @property
    def session_list(self) -> SessionList:
        return self.home.query_one(SessionList)

    @property
    def selected(self) -> SessionInfo | None:
        name = self.session_list.selected
        return self.sessions.get(name) if name else None

    @property
    def engines(self) -> list[Engine]:
        """The config's engines, docker contexts and the default one."""
        return self.backend.engines()

    @on(Mount)
    def _tab_bar_unfocusable(self) -> None:
        """Tab from the list lands in the tab's content, not on the tab bar (letters switch)."""
        self.home.query_one(TabbedContent).query_one(ContentTabs).can_focus = False

    def on_mount(self) -> None:
        self.session_list.options.focus()
        self.engine_headers = {e.name: EngineHeader(e.name) for e in self.engines}
        self.session_list.set_engines(self.engine_headers.values())
        for engine in self.engines:
            self._connect(engine)
        if self.poll_engines:
            # The visible tab's data is re-read now and then; a read still running is not
            # stacked.
            self.set_interval(3.0, self._refresh_visible_tab)
            self.set_interval(15.0, self._refresh_counts)
            self.set_interval(15.0, self._check_firewalls)
        self.set_interval(5.0, self._check_idle)

    def on_unmount(self) -> None:
        self._stop.set()
        for events in self._events.values():
            events.stop()
        for watcher in self._waiting.values():
            watcher.stop()
        self.backend.close()

    # -- engine ----------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False)
    def _connect(self, engine: Engine) -> None:
        try:
            version = self.backend.connect(engine)
        except ClaudexError as exc:
            self.post_message(EngineDown(exc.message, exc.hint, engine=engine.name))
            return
        except Exception as exc:
            reason = f"the Docker Engine is not reachable ({exc})"
            self.post_message(EngineDown(reason, engine=engine.name))
            return
        self.post_message(EngineUp(engine=engine.name, version=version))

    @on(EngineUp)
    def _engine_up(self, message: EngineUp) -> None:
        if self._winding_down:  # shutting down: late messages find no widgets
            return
        name = message.engine
        header = self.engine_headers.setdefault(name, EngineHeader(name))
        header.reachable, header.reason = True, ""
        header.version = message.version or header.version
        self._show_engine_state()
        if name in self._events:
            self._events.pop(name).stop()

        def changed() -> None:
            self.post_message(SessionsChanged())

        def lost(reason: str) -> None:
            self.post_message(EngineDown(f"lost the Docker Engine: {reason}", engine=name))

        self._events[name] = self.backend.watch_events(name, on_change=changed, on_lost=lost)
        self._events[name].start()
        self.refresh_sessions()

    @on(EngineDown)
    def _engine_down(self, message: EngineDown) -> None:
        if self._winding_down:  # shutting down: late messages find no widgets
            return
        name = message.engine
        header = self.engine_headers.setdefault(name, EngineHeader(name))
        was_down = header.reachable is False
        header.reachable, header.reason = False, message.reason
        if name in self._events:
            self._events.pop(name).stop()
        # Its sessions stay listed, marked unreachable; the other engines' stay live.
        for key, row in list(self.session_list.rows.items()):
            if (row.session.engine or "default") == name:
                self.session_list.update_row(key, failed=None, unreachable=True)
        self._show_engine_state(message.hint)
        if not was_down or not self.backend.connected(name):
            self._await_engine(name)

    def _show_engine_state(self, hint: str | None = None) -> None:
        """The banner names each engine that is down; the list's headers show every engine."""
        down = [h for h in self.engine_headers.values() if h.reachable is False]
        self.session_list.set_engines(self.engine_headers.values())
        if not down:
            self._banner(None)
            return
        if len(self.engine_headers) == 1:
            text = f"⚠ {down[0].reason}" + (f" — {hint}" if hint else "")
        else:
            text = "⚠ " + "; ".join(f"engine {h.name}: {h.reason}" for h in down)
        self._banner(text + " (retrying)")

    @work(thread=True, exit_on_error=False)
    def _await_engine(self, name: str) -> None:
        if not self.backend.connected(name):
            self._stop.wait(2.0)
            engine = next((e for e in self.engines if e.name == name), None)
            if not self._stop.is_set() and engine is not None:
                self.call_from_thread(self._connect, engine)
            return
        version = self.backend.wait_for_engine(name, self._stop)
        if version is not None:
            self.post_message(EngineUp(engine=name, version=version))

    def _banner(self, text: str | None) -> None:
        banner = self.home.query_one("#banner", Static)
        banner.update(text or "")
        banner.set_class(bool(text), "visible")

    # -- sessions --------------------------------------------------------------------------

    @on(SessionsChanged)
    def _sessions_changed(self) -> None:
        self.refresh_sessions()

    def refresh_sessions(self) -> None:
        """One list call; a refresh asked for while one runs is done once, after it."""
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        self._load_sessions()

    @work(thread=True, group="refresh", exit_on_error=False)
    def _load_sessions(self) -> None:
        """Every reachable engine at once; a failing one is marked down, never the others."""
        try:
            listings = self.backend.list_sessions()
        finally:
            self.call_from_thread(self._refresh_finished)
        loaded: dict[str, list[SessionInfo]] = {}
        for listing in listings:
            if listing.error is not None:
                err = listing.error
                self.post_message(EngineDown(err.message, err.hint, engine=listing.engine.name))
            else:
                loaded[listing.engine.name] = listing.sessions or []
        if loaded:
            self.post_message(SessionsLoaded([s for found in loaded.values() for s in found]))

    def _refresh_finished(self) -> None:
        self._refreshing = False
        if self._refresh_again:
            self._refresh_again = False
            self.refresh_sessions()

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

    def _sync_waiting_watchers(self) -> None:
        running = {
            n
            for n, s in self.sessions.items()
            if s.running and s.managed and self.backend.reachable(s)
        }
        # A paused session (claudex pauses it while a push writes) keeps its watcher.
        paused = {n for n, s in self.sessions.items() if s.state == "paused"}
        for name in set(self._waiting) - running - paused:
            self._waiting.pop(name).stop()
        for name in running - set(self._waiting):
            session = self.sessions[name]
            watcher = self.backend.watch_waiting(session, partial(self._waiting_line, name))
            self._waiting[name] = watcher
            watcher.start()

    def _waiting_line(self, name: str, line: str) -> None:
        self.post_message(AgentWaiting(name, line))

    @on(AgentWaiting)
    def _agent_waiting(self, message: AgentWaiting) -> None:
        if self._winding_down:  # shutting down: late messages find no widgets
            return
        visible = self._terminal_focused_on(message.name)
        if visible:
            return
        row = self.session_list.rows.get(message.name)
        if row is not None and not row.waiting:
            self.session_list.update_row(message.name, waiting=True)
            self.bell()  # once per wait; it reaches the user's tmux over SSH

    def _terminal_focused_on(self, name: str) -> bool:
        """The user is in that session's terminal, or in its History view (inside it)."""
        focused = self.focused
        while focused is not None and not isinstance(focused, TerminalWidget):
            parent = focused.parent
            focused = parent if isinstance(parent, Widget) else None
        return focused is not None and focused.id == _dom_id(name)

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
        switcher = self.home.query_one("#terminals", ContentSwitcher)
        if session is None:
            switcher.current = "term-none"
            self.home.query_one(DetailsPanel).show(None)
            self.home.query_one(FilesPanel).set_session(None)
            return
        if session.running:
            switcher.current = self._terminal_for(session).id
        elif session.state == "paused" and self.home.query(f"#{_dom_id(row_key(session))}"):
            # claudex pauses a session while a push writes: its terminal stays, frozen.
            switcher.current = self._terminal_for(session).id
        else:
            stopped = self.home.query_one("#term-stopped", Static)
            stopped.update(
                f"Session {session.name} is {session.state}.\n\nPress s to start it, "
                "D to destroy it."
            )
            switcher.current = "term-stopped"
        self._load_details(session)
        self._load_tab(self.home.query_one(TabbedContent).active, session)
        self.home.query_one(FilesPanel).set_session(session)

    def _terminal_for(self, session: SessionInfo) -> TerminalWidget:
        dom_id = _dom_id(row_key(session))
        found = self.home.query(f"#{dom_id}")
        if found:
            return found.first(TerminalWidget)
        make = self.backend.channel_factory(session)

        def factory() -> Any:
            channel = self._channels[dom_id] = make()  # asked why it ended, when it does
            return channel

        # A managed session's channel waits for the init's "ready" before attaching.
        starting = "starting… waiting for the session to be ready" if session.managed else None
        history = self.backend.history_source(session)
        widget = TerminalWidget(factory, id=dom_id, starting_text=starting, history=history)
        self.home.query_one("#terminals", ContentSwitcher).mount(widget)
        return widget

    def action_history(self) -> None:
        """The selected session's History view (from the palette or the session list)."""
        session = self.selected
        if session is None or not session.running:
            self.notify("Select a running session first.", severity="warning")
            return
        self.action_open_terminal()
        widget = self._terminal_for(session)
        if widget.history_source is None:
            self.notify(
                "This session was not made by this claudex: it has no history to read.",
                severity="warning",
            )
            return
        widget.open_history(back=max(1, widget.size.height - 1))

    def _drop_terminals_of_gone_sessions(self) -> None:
        keep = {_dom_id(n) for n, s in self.sessions.items() if s.running or s.state == "paused"}
        switcher = self.home.query_one("#terminals", ContentSwitcher)
        for widget in list(self.home.query(TerminalWidget)):
            if widget.id not in keep:
                if switcher.current == widget.id:
                    switcher.current = "term-none"
                widget.remove()

    def _session_of(self, widget: TerminalWidget | None) -> str | None:
        for name in self.sessions:
            if widget is not None and _dom_id(name) == widget.id:
                return name
        return None

    @on(TerminalWidget.Bell)
    def _terminal_bell(self, message: TerminalWidget.Bell) -> None:
        name = self._session_of(message.control)
        if name is not None:
            self.post_message(AgentWaiting(name, "bell"))

    @on(TerminalWidget.Notified)
    def _terminal_notified(self, message: TerminalWidget.Notified) -> None:
        name = self._session_of(message.control)
        if name is not None:
            self.post_message(AgentWaiting(name, message.text or "notification"))

    @on(TerminalWidget.Started)
    def _terminal_started(self, message: TerminalWidget.Started) -> None:
        self._attached_at[id(message.control)] = time.time()

    @on(TerminalWidget.Activity)
    def _terminal_activity(self, message: TerminalWidget.Activity) -> None:
        if not self.follow_activity or self._winding_down:
            return
        name = self._session_of(message.control)
        if name is None or name not in self.session_list.rows:
            return
        now = time.time()
        self.session_list.update_row(name, last_output=now)
        # The redraw that follows attaching is not the agent working.
        if now - self._attached_at.get(id(message.control), 0.0) > ATTACH_SETTLE:
            self._idle_watch[name] = now

    def _check_idle(self) -> None:
        """Fallback for agents without hooks: output, then IDLE_SECONDS of silence."""
        now = time.time()
        for name, last in list(self._idle_watch.items()):
            if now - last >= IDLE_SECONDS:
                del self._idle_watch[name]
                self.post_message(AgentWaiting(name, "idle"))

    @on(TerminalWidget.Exited)
    def _terminal_exited(self, message: TerminalWidget.Exited) -> None:
        widget = message.control
        channel = self._channels.get(widget.id or "") if widget is not None else None
        if widget is not None and hasattr(channel, "why_ended"):
            self._why_ended(widget.id or "", channel)
        self.refresh_sessions()  # a dropped stream often means the session stopped

    @work(thread=True, exit_on_error=False)
    def _why_ended(self, dom_id: str, channel: Any) -> None:
        end = channel.why_ended()
        with contextlib.suppress(Exception):  # the app may be closing
            self.call_from_thread(self._attach_ended, dom_id, end)

    def _attach_ended(self, dom_id: str, end: Any) -> None:
        """Say why on the terminal; after a restart or an engine that went away, attach again
        by itself once the session is listed running (and the engine reachable) again."""
        if self._winding_down:
            return
        for widget in self.home.query(f"#{dom_id}"):
            if isinstance(widget, TerminalWidget) and widget.exited:
                widget.show_end_reason(end.reason)
                if end.reattach:
                    self._reattach.add(dom_id)
        self.refresh_sessions()

    def _reattach_terminals(self) -> None:
        for name, session in self.sessions.items():
            dom_id = _dom_id(name)
            if dom_id not in self._reattach or not session.running:
                continue
            header = self.engine_headers.get(session.engine or "default")
            if header is not None and header.reachable is False:
                continue
            self._reattach.discard(dom_id)
            for widget in self.home.query(f"#{dom_id}"):
                if isinstance(widget, TerminalWidget) and widget.exited:
                    widget.restart()  # its channel waits for "ready", showing "starting…"

    # -- details ---------------------------------------------------------------------------

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
            self.home.query_one(DetailsPanel).show(message.details)

    # -- actions ---------------------------------------------------------------------------

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
        self.home.query_one(TabbedContent).active = "terminal"
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
        self.home.query_one(TabbedContent).active = tab
        if inside and tab != "terminal":  # in the terminal every key would go to the agent
            self.call_after_refresh(self._focus_tab_content, tab)

    def _focus_in_tabs(self) -> bool:
        """Is the keyboard in a tab's content (not the terminal, where keys are the agent's)?"""
        focused = self.home.focused
        tabs = self.home.query_one(TabbedContent)
        return (
            focused is not None
            and not isinstance(focused, TerminalWidget)
            and tabs in focused.ancestors
        )

    def _focus_tab_content(self, tab: str) -> None:
        """The tab's first list or tree (an input box would take the next letter keys)."""
        from textual.widgets import Button, Input

        pane = self.home.query_one(TabbedContent).get_pane(tab)
        for widget in pane.query("*"):
            if widget.focusable and not isinstance(widget, (Input, Button)):
                widget.focus()
                return

    def action_help_quit(self) -> None:
        """Ctrl-C outside the terminal: say which key quits (Textual's says it in markup)."""
        keys = [
            self.get_key_display(b.binding)
            for b in self.screen.active_bindings.values()
            if b.binding.action in ("quit", "app.quit")
        ]
        if keys:
            self.notify(f"Press {' or '.join(keys)} to quit.", title="Do you want to quit?")

    def action_focus_sessions(self) -> None:
        self.session_list.options.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_sessions":  # Esc: only where it leads somewhere (and shows)
            return self.screen is self.home and self._focus_in_tabs()
        return True

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        session = self.selected
        if session is not None and event.pane.id:
            self._load_tab(event.pane.id, session)

    def action_filter(self) -> None:
        self.session_list.action_filter()

    def action_help(self) -> None:
        """The keys where the focus is (as the footer shows them), then the terminal's."""
        from claudex_tui.screens.help import HelpScreen, key_sections, terminal_section

        sections = key_sections(self, self.home)
        for title, rows in sections:
            if title == "Session list":
                rows.append(("1-9", "Select session by number", "pick_1 … pick_9"))
        if not isinstance(self.home.focused, TerminalWidget):
            sections.append(terminal_section(self, TerminalWidget.BINDINGS))
        self.push_screen(HelpScreen(sections))

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
        self.push_screen(screen, created)

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
        self.push_screen(ConfirmScreen(lifecycle_question(verb, session), confirm), answer)

    def action_destroy_session(self) -> None:
        session = self.selected
        if session is not None and self.backend.reachable(session):
            self._prepare_destroy(session)

    @work(thread=True, exclusive=True, group="destroy-check", exit_on_error=False)
    def _prepare_destroy(self, session: SessionInfo) -> None:
        """What would be lost, found before asking (files outside the mounts)."""
        from container.lifecycle import describe_outside

        lost = describe_outside(self.backend.outside_files(session))
        self.call_from_thread(self._confirm_destroy, session, lost)

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

        self.push_screen(ConfirmScreen("\n".join(lines), confirm="Destroy"), answer)

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
                for widget in self.home.query(TerminalWidget):
                    if widget.id == _dom_id(message.name):
                        widget.restart()
        self.refresh_sessions()

    # -- changes and firewall tabs -------------------------------------------------------

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
        tab = self.home.query_one(TabbedContent).active
        if tab in ("changes", "firewall") and not self._busy(tab):
            self._load_tab(tab, session)

    def _busy(self, group: str) -> bool:
        return any(w.group == group and not w.is_finished for w in self.workers)

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
        panel = self.home.query_one(ChangesPanel)
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
            panel = self.home.query_one(ChangesPanel)
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

        self.push_screen(PromptScreen("Checkpoint message:", "checkpoint"), record)

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
        self.call_from_thread(self._confirm_revert, session, path, lost)

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

        self.push_screen(ConfirmScreen(question, confirm="Revert"), answer)

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

    def _running_managed(self) -> list[SessionInfo]:
        """Sessions with an agent that runs on a connected engine."""
        return [
            s
            for s in self.sessions.values()
            if s.running and s.managed and self.backend.reachable(s)
        ]

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
        panel = self.home.query_one(FirewallPanel)
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
                self.home.query_one(FirewallPanel).allowed()
                self._firewall_edit(session, "allow", message.entries)

        question = allow_question(session.name, message.entries, message.public)
        self.push_screen(ConfirmScreen(question, confirm="Allow"), answer)

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
        self.push_screen(ConfirmScreen(question, confirm="Deny"), answer)

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

    # -- the command palette and failures --------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own Keys and Maximize are replaced by ours (one Keys entry; maximize is
        # the terminal's, whatever has the focus).
        for command in super().get_system_commands(screen):
            if command.title not in ("Keys", "Maximize", "Minimize"):
                yield command
        yield SystemCommand(
            "New session", "Pick directories and start an agent", self.action_new_session
        )
        yield SystemCommand("Keys", "Every key binding", self.action_help)
        maximized = self.home.has_class("-maximized")
        yield SystemCommand(
            "Restore layout" if maximized else "Maximize terminal",
            "The session list and tabs again"
            if maximized
            else "The selected session's terminal fills the screen, one status line below",
            self.action_maximize_terminal,
        )

    # -- maximize --------------------------------------------------------------------------

    def action_maximize_terminal(self) -> None:
        """Toggle: the terminal fills the screen but for a status line (app.tcss hides the
        rest); Alt-Up/Down still switch sessions."""
        home = self.home
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
        if self.screen_stack and self.home.has_class("-maximized"):
            self.call_after_refresh(self._keep_maximized)  # once the focus has moved

    def _keep_maximized(self) -> None:
        if self._winding_down:
            return
        focused = self.home.focused
        if focused is None or not any(a.id == "terminals" for a in focused.ancestors):
            self.home.remove_class("-maximized")
            if focused is None:  # nothing else was shown to take it: the list does
                self.session_list.options.focus()

    def _show_max_status(self) -> None:
        session = self.selected
        if session is None or not self.home.has_class("-maximized"):
            return
        row = self.session_list.rows.get(row_key(session))
        parts = [session.name, row.state if row else session.state]
        if row is not None and row.changed is not None:
            parts.append(f"Δ{row.changed} changed")
        key = self.get_key_display(Binding("alt+z", "maximize_terminal"))
        for binding in self.active_bindings.values():
            if binding.binding.action == "maximize_terminal":
                key = self.get_key_display(binding.binding)
        parts.append(f"{key} restore · alt+↑↓ switch")
        self.home.query_one("#max-status", Static).update(" · ".join(parts))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures become a readable notice, never a traceback."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            text = error.message if isinstance(error, ClaudexError) else str(error)
            self.notify(
                f"{event.worker.name or 'background task'} failed: {text}",
                severity="error",
                timeout=10,
            )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notice is plain text, whoever sends it: notices quote names, paths, domains
        and engine errors, where Textual would read `[/x]` as markup (and exit on the error)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    async def _dispatch_message(self, message: Message) -> None:
        """An exception in one of the dashboard's handlers or actions becomes a notice, not
        the end of the dashboard (Textual exits on any); the traceback goes to the log. While
        starting or closing Textual's handling stands: the app exits, non-zero."""
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            if isinstance(message, (Compose, Mount)) or self._winding_down:
                raise
            self._handler_failed(error)

    def _handler_failed(self, error: Exception) -> None:
        import traceback

        from container.state import state_dir

        where = ""
        with contextlib.suppress(OSError):
            log = state_dir() / "dashboard-errors.log"
            with log.open("a", encoding="utf-8") as out:
                out.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n")
                out.write("".join(traceback.format_exception(error)))
            where = f"\n(details in {log})"
        self.notify(
            f"Something failed: {type(error).__name__}: {error}{where}",
            severity="error",
            timeout=15,
        )
        if self.is_headless and self.handler_errors_fail_tests and self._exception is None:
            self._exception = error  # run_test raises it at the end: no bug passes as a notice
