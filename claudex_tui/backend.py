"""The dashboard's one seam to the engines: everything it reads from them or does on them.

`engine_backend.EngineBackend` is the real one (over `container/`); tests and screenshots give
the dashboard a fake with fixed data (`demo_backend.DemoBackend`). Methods that block are only
called from worker threads; the rest answer at once from what the backend already knows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from widgets.tab_source import ChangesSource, DetailsSource, FirewallSource, IsolatedSource

if TYPE_CHECKING:
    from container.engines import Engine, EngineListing
    from container.labels import SessionInfo
    from widgets.files.model import ContainerFiles


class Watcher(Protocol):
    """A thread that reports by callbacks until stopped."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class DashboardBackend(DetailsSource, ChangesSource, IsolatedSource, FirewallSource, Protocol):
    """The tab panels' sources (widgets/tab_source.py: reachable, details, changes, diffs,
    firewall status) and everything else the dashboard does."""

    # -- engines (connect and wait_for_engine block) -------------------------------------------

    def engines(self) -> list[Engine]:
        """Every engine the dashboard lists, the default one among them."""
        ...

    def connect(self, engine: Engine) -> str:
        """Connect (blocks); the engine's version. Raises ClaudexError or any error."""
        ...

    def connected(self, engine: str) -> bool:
        """Has a connection been made (it may be down now)?"""
        ...

    def wait_for_engine(self, engine: str, stop: threading.Event) -> str | None:
        """Until a lost engine answers again: its version; None once `stop` is set."""
        ...

    def watch_events(
        self, engine: str, on_change: Callable[[], None], on_lost: Callable[[str], None]
    ) -> Watcher:
        """The engine's events stream: `on_change` when sessions change (not started yet)."""
        ...

    def watch_waiting(self, session: SessionInfo, on_line: Callable[[str], None]) -> Watcher:
        """Lines the agent's hooks write when it waits for the user (not started yet)."""
        ...

    def watch_alerts(self, session: SessionInfo, on_alert: Callable[[str], None]) -> Watcher:
        """The agent's tmux rang ("bell") or wrote ("activity"), read from tmux rather than
        from a terminal (a hidden one is not read); not started yet."""
        ...

    def new_session_targets(self) -> list[tuple[Engine, Any]]:
        """(engine, client) of each connected engine, for the new-session dialog."""
        ...

    def close(self) -> None:
        """The dashboard closes: nothing may keep it waiting."""
        ...

    # -- sessions (all block) ------------------------------------------------------------------

    def list_sessions(self) -> list[EngineListing]:
        """Every connected engine's sessions (a failing engine has an error, not sessions)."""
        ...

    def early_listing(self) -> bool:
        """The next listing was made before the engine's events were followed: the dashboard
        shows it, then lists again."""
        ...

    def start(self, session: SessionInfo) -> None:
        """Start it and wait until its agent is ready."""
        ...

    def stop(self, session: SessionInfo) -> None: ...

    def restart(self, session: SessionInfo) -> None: ...

    def destroy(self, session: SessionInfo) -> list[str]:
        """Save what must be kept, then remove; what was saved where."""
        ...

    def outside_files(self, session: SessionInfo) -> list[str] | None:
        """Files a destroy would lose (outside the mounts); None when not known."""
        ...

    # -- change tracking (block) ---------------------------------------------------------------

    def checkpoint(self, session: SessionInfo, message: str) -> str:
        """Record a checkpoint; its commit."""
        ...

    def revert(self, session: SessionInfo, path: str) -> bool:
        """Back to the last checkpoint; False when there was nothing to revert."""
        ...

    # -- firewall (block) ----------------------------------------------------------------------

    def allow(self, session: SessionInfo, entries: list[str]) -> list[str]:
        """Allow them (the user confirmed public suffixes); what changed."""
        ...

    def deny(self, session: SessionInfo, entries: list[str]) -> list[str]: ...

    # -- terminals and files (made at once; what they return blocks) ---------------------------

    def channel_factory(self, session: SessionInfo) -> Callable[[], Any]:
        """Makes the byte channel of the session's terminal (the agent's tmux, or a shell)."""
        ...

    def history_source(self, session: SessionInfo) -> Callable[[], bytes] | None:
        """Reads the terminal's whole history; None when the session keeps none."""
        ...

    def files(self, session: SessionInfo) -> ContainerFiles:
        """The Files tab's view of the session."""
        ...
