"""The dashboard's terminals: one per running session, attached when first shown, attached
again after a restart; the agent waiting (its hooks, a bell, or silence after output)."""

from __future__ import annotations

import contextlib
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import ContentSwitcher

from claudex_tui.messages import AgentWaiting, AgentWrote
from claudex_tui.screens.dashboard_base import DashboardBase, terminal_id
from container.labels import SessionInfo
from widgets.session_list import row_key
from widgets.terminal.widget import DETACH_GRACE, TerminalWidget

if TYPE_CHECKING:
    from claudex_tui.backend import Watcher

IDLE_SECONDS = 30.0  # output then this much silence: the agent probably waits for the user
ATTACH_SETTLE = 3.0  # seconds of output after attaching that are only the screen's redraw
# Each watcher is an exec and a process in its session: started all at once (90 sessions on an
# engine) they held the selected terminal's own exec for seconds. The selected session's start
# at once, the others a few at a time.
WATCH_BATCH = 2
WATCH_TICK = 0.1
# The first batch waits until the selected terminal has had time to attach: twenty execs
# started with it made the engine slow to answer its own (the first frame took 2 s).
WATCH_SETTLE = 1.5


class DashboardTerminals(DashboardBase):
    _switcher: ContentSwitcher | None = None

    @property
    def terminals(self) -> ContentSwitcher:
        """The terminals' switcher (kept: a query walks the whole screen, on every switch and
        every agent's output notice)."""
        if self._switcher is None:
            self._switcher = self.query_one("#terminals", ContentSwitcher)
        return self._switcher

    def terminal_of(self, name: str) -> TerminalWidget | None:
        """The session's terminal widget, if it was opened (by id, not a query)."""
        try:
            widget = self.terminals.get_child_by_id(terminal_id(name))
        except NoMatches:
            return None
        return widget if isinstance(widget, TerminalWidget) else None

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
            watcher = _Watchers(
                self.backend.watch_waiting(session, partial(self._waiting_line, name))
            )
            self._waiting[name] = watcher
            if name == (self._initial_select or self.session_list.selected):
                watcher.start()
            else:
                self._watch_queue.append(name)
            if self.terminal_of(name) is not None:
                self._watch_alerts(name)
        if self._watch_queue:
            first = not self._watchers_queued_before
            self._watchers_queued_before = True
            self.set_timer(WATCH_SETTLE if first else WATCH_TICK, self._start_queued_watchers)

    _watchers_queued_before = False

    def _start_queued_watchers(self) -> None:
        batch, self._watch_queue = self._watch_queue[:WATCH_BATCH], self._watch_queue[WATCH_BATCH:]
        for name in batch:
            watcher = self._waiting.get(name)
            if isinstance(watcher, _Watchers) and not watcher.started:
                watcher.start()
        if self._watch_queue:
            self.set_timer(WATCH_TICK, self._start_queued_watchers)

    def _watch_alerts(self, name: str) -> None:
        """Bells and output of a session whose terminal was opened, read from its tmux: out
        of sight the terminal detaches and nobody reads it. (A session never opened was never
        read: its watcher would only cost an exec at start.)"""
        watchers = self._waiting.get(name)
        session = self.sessions.get(name)
        if isinstance(watchers, _Watchers) and not watchers.alerts and session is not None:
            watchers.alerts = True
            watchers.add(self.backend.watch_alerts(session, partial(self._tmux_alert, name)))

    def _waiting_line(self, name: str, line: str) -> None:
        self.post_message(AgentWaiting(name, line))

    def _tmux_alert(self, name: str, kind: str) -> None:
        self.post_message(AgentWaiting(name, "bell") if kind == "bell" else AgentWrote(name))

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
            self.app.bell()  # once per wait; it reaches the user's tmux over SSH

    def _terminal_focused_on(self, name: str) -> bool:
        """The user is in that session's terminal, or in its History view (inside it)."""
        focused = self.app.focused  # a dialog on top: the terminal is not what the user sees
        while focused is not None and not isinstance(focused, TerminalWidget):
            parent = focused.parent
            focused = parent if isinstance(parent, Widget) else None
        return focused is not None and focused.id == terminal_id(name)

    def _terminal_for(self, session: SessionInfo) -> TerminalWidget:
        dom_id = terminal_id(row_key(session))
        found = self.terminal_of(row_key(session))
        if found is not None:
            return found
        make = self.backend.channel_factory(session)

        def factory() -> Any:
            channel = self._channels[dom_id] = make()  # asked why it ended, when it does
            return channel

        # A managed session's channel waits for the init's "ready" before attaching.
        starting = "starting… waiting for the session to be ready" if session.managed else None
        history = self.backend.history_source(session)
        # The agent's tmux keeps its screen: out of sight, its terminal detaches (costs nothing).
        detach = DETACH_GRACE if session.managed else None
        widget = TerminalWidget(
            factory, id=dom_id, starting_text=starting, history=history, detach_hidden=detach
        )
        self.terminals.mount(widget)
        self._watch_alerts(row_key(session))
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
        keep = {
            terminal_id(n) for n, s in self.sessions.items() if s.running or s.state == "paused"
        }
        switcher = self.terminals
        for widget in list(self.query(TerminalWidget)):
            if widget.id not in keep:
                if switcher.current == widget.id:
                    switcher.current = "term-none"
                widget.remove()

    def _session_of(self, widget: TerminalWidget | None) -> str | None:
        for name in self.sessions:
            if widget is not None and terminal_id(name) == widget.id:
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
        self._agent_wrote(self._session_of(message.control), message.control)

    @on(AgentWrote)
    def _tmux_wrote(self, message: AgentWrote) -> None:
        self._agent_wrote(message.name, self.terminal_of(message.name))

    def _agent_wrote(self, name: str | None, terminal: Widget | None) -> None:
        if not self.follow_activity or self._winding_down:
            return
        if name is None or name not in self.session_list.rows:
            return
        now = time.time()
        self.session_list.update_row(name, last_output=now)
        # The redraw that follows attaching is not the agent working.
        if now - self._attached_at.get(id(terminal), 0.0) > ATTACH_SETTLE:
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
            self.app.call_from_thread(self._attach_ended, dom_id, end)

    def _attach_ended(self, dom_id: str, end: Any) -> None:
        """Say why on the terminal; after a restart or an engine that went away, attach again
        by itself once the session is listed running (and the engine reachable) again."""
        if self._winding_down:
            return
        for widget in self.query(f"#{dom_id}"):
            if isinstance(widget, TerminalWidget) and widget.exited:
                widget.show_end_reason(end.reason)
                if end.reattach:
                    self._reattach.add(dom_id)
        self.refresh_sessions()

    def _reattach_terminals(self) -> None:
        for name, session in self.sessions.items():
            dom_id = terminal_id(name)
            if dom_id not in self._reattach or not session.running:
                continue
            header = self.engine_headers.get(session.engine or "default")
            if header is not None and header.reachable is False:
                continue
            self._reattach.discard(dom_id)
            widget = self.terminal_of(name)
            if widget is not None and widget.exited:
                widget.restart()  # its channel waits for "ready", showing "starting…"


class _Watchers:
    """A session's watchers, started and stopped together."""

    def __init__(self, *watchers: Watcher) -> None:
        self.watchers = list(watchers)
        self.alerts = False  # the tmux alerts watcher is among them
        self.started = False

    def start(self) -> None:
        self.started = True
        for watcher in self.watchers:
            watcher.start()

    def add(self, watcher: Watcher) -> None:
        """One more, started with the others (at once if they are started already)."""
        self.watchers.append(watcher)
        if self.started:
            watcher.start()

    def stop(self) -> None:
        for watcher in self.watchers:
            watcher.stop()
