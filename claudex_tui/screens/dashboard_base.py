"""What every part of the dashboard screen shares: its state, the session list, the one
session listing at a time, and the banner (the parts: terminals, tabs, lifecycle, then the
screen itself in dashboard.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker

from claudex_tui.failure_notices import handler_failed, worker_failed
from claudex_tui.messages import EngineDown, SessionsLoaded
from container.labels import SessionInfo
from widgets.session_list import EngineHeader, SessionList

if TYPE_CHECKING:
    from claudex_tui.backend import DashboardBackend, Watcher
    from claudex_tui.config import Config


def terminal_id(name: str) -> str:
    """A session's terminal id: session names may hold dots; DOM ids may not."""
    return "term-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


class DashboardBase(Screen[None]):
    """The state the parts share. `select`: the session to select once listed (and
    `focus_terminal`: to open its terminal); `host_root`: where the Files tab's host tree
    starts (default: the current directory)."""

    follow_activity = True  # "last output" and idleness (pictures with a fixed clock turn it off)
    poll_engines = True  # re-read tabs, counts, firewalls now and then (fixed pictures: off)

    def __init__(
        self,
        backend: DashboardBackend,
        config: Config,
        *,
        select: str | None = None,
        focus_terminal: bool = False,
        host_root: Path | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.config = config
        self._host_root = host_root
        self.engine_headers: dict[str, EngineHeader] = {}  # the app keeps them current
        self.sessions: dict[str, SessionInfo] = {}
        self._initial_select = select
        self._focus_terminal = focus_terminal
        self._waiting: dict[str, Watcher] = {}
        self._watch_queue: list[str] = []  # sessions whose watchers wait for their turn to start
        self._refreshing = False
        self._refresh_again = False
        self._idle_watch: dict[str, float] = {}  # session -> last output, until it goes quiet
        self._attached_at: dict[int, float] = {}  # terminal widget -> when it (re)attached
        self._channels: dict[str, Any] = {}  # terminal's dom id -> its latest channel
        self._reattach: set[str] = set()  # terminals to attach again once their session is up
        self._firewall_broken: set[str] = set()  # sessions told about a BROKEN firewall
        self._shown: tuple[SessionInfo, str] | None = None  # the session and tab last read
        self._rounds: dict[str, int] = {}  # periodic check -> rounds run
        self._read_by: dict[str, set[str]] = {}  # periodic check -> sessions it ever read

    # Defined by the parts that follow (dashboard.py); declared here for the ones before.

    def action_open_terminal(self) -> None:
        raise NotImplementedError

    def _show_selected(self) -> None:
        raise NotImplementedError

    @property
    def _winding_down(self) -> bool:
        """Shutting down (the app stops running, then its widgets go): a late message from a
        worker or thread must not look for them."""
        return not self.app.is_running or not self.app.screen_stack or not self.is_attached

    @property
    def session_list(self) -> SessionList:
        return self.query_one(SessionList)

    @property
    def selected(self) -> SessionInfo | None:
        name = self.session_list.selected
        return self.sessions.get(name) if name else None

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
            self.app.call_from_thread(self._refresh_finished)
        loaded: dict[str, list[SessionInfo]] = {}
        for listing in listings:
            if listing.error is not None:
                err = listing.error
                down = EngineDown(err.message, err.hint, engine=listing.engine.name)
                self.app.post_message(down)  # the app keeps the connections
            else:
                loaded[listing.engine.name] = listing.sessions or []
        if loaded:
            self.post_message(SessionsLoaded([s for found in loaded.values() for s in found]))

    def _refresh_finished(self) -> None:
        self._refreshing = False
        if self._refresh_again:
            self._refresh_again = False
            self.refresh_sessions()

    def _busy(self, group: str) -> bool:
        return any(w.group == group and not w.is_finished for w in self.workers)

    def _running_managed(self) -> list[SessionInfo]:
        """Sessions with an agent that runs on a connected engine."""
        return [
            s
            for s in self.sessions.values()
            if s.running and s.managed and self.backend.reachable(s)
        ]

    def show_engines(self, hint: str | None = None) -> None:
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

    def _banner(self, text: str | None) -> None:
        banner = self.query_one("#banner", Static)
        banner.update(text or "")
        banner.set_class(bool(text), "visible")

    # -- failures ------------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Worker failures become a readable notice, never a traceback (as the app's)."""
        worker_failed(self, event)

    async def _dispatch_message(self, message: Message) -> None:
        """An exception in one of the dashboard's handlers becomes a notice, not the end of the
        dashboard (Textual exits on any); the traceback goes to the log. While starting or
        closing Textual's handling stands: the app exits, non-zero."""
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            if not self.is_mounted or self._winding_down:
                raise
            handler_failed(self, error)
