"""The claudex app: the dashboard screen, the engine connections, and failures as notices."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.events import Compose, Mount
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker

from claudex_tui.commands_palette import SessionCommands
from claudex_tui.failure_notices import handler_failed, worker_failed
from claudex_tui.messages import EngineDown, EngineUp, SessionsChanged
from claudex_tui.screens import dashboard
from claudex_tui.screens.dashboard import DashboardScreen
from container.errors import ClaudexError
from container.labels import SessionInfo
from widgets.session_list import EngineHeader, SessionList

if TYPE_CHECKING:
    from claudex_tui.backend import DashboardBackend, Watcher
    from claudex_tui.config import Config
    from claudex_tui.early_start import EarlyStart
    from container.engines import Engine


class ClaudexApp(App[None]):
    """Starts the dashboard and keeps a connection (and an events stream) per engine.

    `backend`: where the data comes from (default: the real engines; `client_factory` and
    `engines` are passed to it). `select`, `focus_terminal`, `host_root`: the dashboard's."""

    handler_errors_fail_tests = True  # a test of the notice itself turns it off
    CSS_PATH = dashboard.CSS
    TITLE = "claudex"
    # Below 100 columns (80x24 over SSH) panels stack and the session list narrows.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    COMMANDS = App.COMMANDS | {SessionCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not priority bindings: inside the terminal these keys belong to the agent.
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, id="quit_ctrl"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="palette"),
    ]

    def __init__(
        self,
        *,
        config: Config | None = None,
        backend: DashboardBackend | None = None,
        client_factory: Callable[[], Any] | None = None,
        select: str | None = None,
        focus_terminal: bool = False,
        engines: list[Engine] | None = None,
        host_root: Path | None = None,
        early: EarlyStart | None = None,
    ) -> None:
        super().__init__()
        from claudex_tui.config import load_config

        self.config = config or load_config()
        from claudex_tui.keymap import keymap

        self.set_keymap(keymap(self.config.keys))  # [keys]: an unknown id fails here, clearly
        if backend is None:
            from claudex_tui.engine_backend import EngineBackend

            backend = EngineBackend(
                self.config, engines=engines, client_factory=client_factory, early=early
            )
        self.backend = backend
        self.dashboard = DashboardScreen(
            backend,
            self.config,
            select=select,
            focus_terminal=focus_terminal,
            host_root=host_root,
        )
        self._events: dict[str, Watcher] = {}
        self._stop = threading.Event()

    def get_default_screen(self) -> Screen[Any]:
        return self.dashboard

    # The dashboard's, for those that hold the app (the command palette, tests).

    @property
    def home(self) -> DashboardScreen:
        """The dashboard's own screen, also while a dialog is on top of it."""
        return self.dashboard

    @property
    def session_list(self) -> SessionList:
        return self.dashboard.session_list

    @property
    def sessions(self) -> dict[str, SessionInfo]:
        return self.dashboard.sessions

    @property
    def selected(self) -> SessionInfo | None:
        return self.dashboard.selected

    @property
    def _winding_down(self) -> bool:
        """Shutting down (the app stops running, then its widgets go): a late message from a
        worker or thread must not look for them."""
        return not self.is_running or not self.screen_stack

    @on(DashboardScreen.Ready)
    def _connect_engines(self) -> None:
        for engine in self.backend.engines():
            self._connect(engine)

    def on_unmount(self) -> None:
        self._stop.set()
        for events in self._events.values():
            events.stop()
        self.backend.close()

    # -- engines ---------------------------------------------------------------------------

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
        header = self.dashboard.engine_headers.setdefault(name, EngineHeader(name))
        header.reachable, header.reason = True, ""
        header.version = message.version or header.version
        self.dashboard.show_engines()
        if name in self._events:
            self._events.pop(name).stop()

        def changed() -> None:
            self.post_message(SessionsChanged())

        def lost(reason: str) -> None:
            self.post_message(EngineDown(f"lost the Docker Engine: {reason}", engine=name))

        self._events[name] = self.backend.watch_events(name, on_change=changed, on_lost=lost)
        self._events[name].start()
        early = self.backend.early_listing()
        self.dashboard.refresh_sessions()
        if early:  # shown at once; listed again now that the events are followed
            self.dashboard.refresh_sessions()

    @on(EngineDown)
    def _engine_down(self, message: EngineDown) -> None:
        if self._winding_down:  # shutting down: late messages find no widgets
            return
        name = message.engine
        header = self.dashboard.engine_headers.setdefault(name, EngineHeader(name))
        was_down = header.reachable is False
        header.reachable, header.reason = False, message.reason
        if name in self._events:
            self._events.pop(name).stop()
        # Its sessions stay listed, marked unreachable; the other engines' stay live.
        session_list = self.dashboard.session_list
        for key, row in list(session_list.rows.items()):
            if (row.session.engine or "default") == name:
                session_list.update_row(key, failed=None, unreachable=True)
        self.dashboard.show_engines(message.hint)
        if not was_down or not self.backend.connected(name):
            self._await_engine(name)

    @work(thread=True, exit_on_error=False)
    def _await_engine(self, name: str) -> None:
        if not self.backend.connected(name):
            self._stop.wait(2.0)
            engine = next((e for e in self.backend.engines() if e.name == name), None)
            if not self._stop.is_set() and engine is not None:
                self.call_from_thread(self._connect, engine)
            return
        version = self.backend.wait_for_engine(name, self._stop)
        if version is not None:
            self.post_message(EngineUp(engine=name, version=version))

    @on(SessionsChanged)
    def _sessions_changed(self) -> None:
        self.dashboard.refresh_sessions()

    # -- the command palette and failures --------------------------------------------------

    def action_help_quit(self) -> None:
        """Ctrl-C outside the terminal: say which key quits (Textual's says it in markup)."""
        keys = [
            self.get_key_display(b.binding)
            for b in self.screen.active_bindings.values()
            if b.binding.action in ("quit", "app.quit")
        ]
        if keys:
            self.notify(f"Press {' or '.join(keys)} to quit.", title="Do you want to quit?")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own Keys and Maximize are replaced by ours (one Keys entry; maximize is
        # the terminal's, whatever has the focus).
        for command in super().get_system_commands(screen):
            if command.title not in ("Keys", "Maximize", "Minimize"):
                yield command
        yield SystemCommand(
            "New session", "Pick directories and start an agent", self.dashboard.action_new_session
        )
        yield SystemCommand("Keys", "Every key binding", self.dashboard.action_help)
        maximized = self.dashboard.has_class("-maximized")
        yield SystemCommand(
            "Restore layout" if maximized else "Maximize terminal",
            "The session list and tabs again"
            if maximized
            else "The selected session's terminal fills the screen, one status line below",
            self.dashboard.action_maximize_terminal,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Worker failures become a readable notice, never a traceback (as the screen's)."""
        worker_failed(self, event)

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
            handler_failed(self, error)
