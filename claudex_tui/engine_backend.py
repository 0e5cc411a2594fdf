"""The dashboard's backend on the real engines: a connection per engine, every call through
`container/` (this module passes clients along and never calls docker-py itself)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from claudex_tui.backend import Watcher
from container import firewall, lifecycle
from container.engines import Engine, engine_version
from container.errors import ClaudexError
from container.labels import SessionInfo
from container.sessions import Sessions
from container.tracking import Tracker

if TYPE_CHECKING:
    from claudex_tui.config import Config
    from claudex_tui.early_start import EarlyStart
    from container.details_model import SessionDetails
    from container.engine import DockerClient
    from container.engines import EngineListing
    from container.firewall_model import FirewallStatus
    from container.isolated_model import FileReview
    from container.isolated_remote import EngineCopies
    from container.tracking_model import ChangedFile, Checkpoint, Since
    from widgets.files.model import ContainerFiles


class EngineBackend:
    """`client_factory` replaces connecting (tests give their engine's client): only the
    default engine is listed then. `engines`: the engines to list instead of the config's."""

    def __init__(
        self,
        config: Config,
        *,
        engines: list[Engine] | None = None,
        client_factory: Callable[[], DockerClient] | None = None,
        early: EarlyStart | None = None,
    ) -> None:
        self.config = config
        self._engines = engines
        self._client_factory = client_factory
        self._early = early  # the first calls, made while the dashboard started
        self.clients: dict[str, DockerClient] = {}  # engine name -> its connection
        # Remote engines' isolated copies (the Changes tab's worker threads share them).
        self._far_copies: dict[str, EngineCopies] = {}
        self._far_lock = threading.Lock()

    # -- engines -------------------------------------------------------------------------------

    def engines(self) -> list[Engine]:
        if self._engines is None:
            from container.engines import available_engines, default_engine

            if self._client_factory is not None:
                self._engines = [Engine("default", default_engine().host, "default")]
            else:
                self._engines = available_engines(self.config.engines)
        return self._engines

    def connect(self, engine: Engine) -> str:
        from container.engines import connect_engine

        early = self._early.connection(engine.name) if self._early is not None else None
        if early is not None:
            client, version = early
        else:
            client = self._client_factory() if self._client_factory else connect_engine(engine)
            version = engine_version(client)
        self.clients[engine.name] = client
        return version

    def connected(self, engine: str) -> bool:
        return engine in self.clients

    def client_for(self, session: SessionInfo) -> DockerClient | None:
        """The client of the engine the session runs on."""
        return self.clients.get(session.engine or "default")

    def reachable(self, session: SessionInfo) -> bool:
        return self.client_for(session) is not None

    def _client(self, session: SessionInfo) -> DockerClient:
        client = self.client_for(session)
        if client is None:
            raise ClaudexError(f"the engine of {session.name} is not connected")
        return client

    def wait_for_engine(self, engine: str, stop: threading.Event) -> str | None:
        from container.watch import wait_for_engine

        client = self.clients[engine]
        if not wait_for_engine(client, stop):
            return None
        try:
            return engine_version(client)
        except Exception:
            return ""

    def watch_events(
        self, engine: str, on_change: Callable[[], None], on_lost: Callable[[str], None]
    ) -> Watcher:
        from container.watch import EventsWatcher

        return EventsWatcher(self.clients[engine], on_change=on_change, on_lost=on_lost)

    def watch_waiting(self, session: SessionInfo, on_line: Callable[[str], None]) -> Watcher:
        from container.watch import WaitingWatcher

        return WaitingWatcher(self._client(session), session.id, on_line)

    def watch_alerts(self, session: SessionInfo, on_alert: Callable[[str], None]) -> Watcher:
        from container.tmux_alerts import AlertsWatcher

        return AlertsWatcher(self._client(session), session.id, on_alert)

    def new_session_targets(self) -> list[tuple[Engine, Any]]:
        return [(e, self.clients[e.name]) for e in self.engines() if e.name in self.clients]

    def close(self) -> None:
        from container.tracking import cancel_running

        cancel_running()  # a worker waiting on a stuck tracking exec would hold the exit

    # -- sessions ------------------------------------------------------------------------------

    def early_listing(self) -> bool:
        """The next listing is the one made while the dashboard started (list again after)."""
        return self._early is not None and not self._early.listing_taken

    def list_sessions(self) -> list[EngineListing]:
        """Every connected engine at once: a slow one does not hold the others."""
        from container.engines import list_engine

        if self._early is not None and list(self.clients) == [self._early.engine.name]:
            early = self._early.take_listing(self.clients[self._early.engine.name])
            if early is not None:
                return [early]
        known = {e.name: e for e in self.engines()}
        clients = dict(self.clients)
        with ThreadPoolExecutor(max_workers=max(len(clients), 1)) as pool:
            return list(
                pool.map(
                    lambda item: list_engine(
                        known.get(item[0]) or Engine(item[0], "", "default"), client=item[1]
                    ),
                    clients.items(),
                )
            )

    def details(self, session: SessionInfo) -> SessionDetails:
        from container.session_details import read_details

        return read_details(self._client(session), session, self.config.image)

    def _sessions(self, session: SessionInfo) -> Sessions:
        return Sessions(self._client(session))

    def start(self, session: SessionInfo) -> None:
        lifecycle.start(self._sessions(session), session)

    def stop(self, session: SessionInfo) -> None:
        lifecycle.stop(self._sessions(session), session)

    def restart(self, session: SessionInfo) -> None:
        lifecycle.restart(self._sessions(session), session)

    def destroy(self, session: SessionInfo) -> list[str]:
        return lifecycle.destroy(self._sessions(session), session)

    def outside_files(self, session: SessionInfo) -> list[str] | None:
        return lifecycle.outside_files(self._sessions(session), session)

    # -- change tracking -----------------------------------------------------------------------

    def _tracker(self, session: SessionInfo) -> Tracker:
        return Tracker(self._client(session).api, session)

    def tracking_enabled(self, session: SessionInfo) -> bool:
        return self._tracker(session).enabled

    def changes(
        self,
        session: SessionInfo,
        since: Since = "start",
        paths: list[str] | None = None,
        literal: bool = False,
    ) -> list[ChangedFile]:
        return self._tracker(session).changes(paths or (), since=since, literal=literal)

    def last_checkpoint(self, session: SessionInfo) -> Checkpoint:
        return self._tracker(session).log()[0]

    def file_diff(self, session: SessionInfo, path: str, old_path: str | None, since: Since) -> str:
        return self._tracker(session).file_diff(path, old_path, since=since)

    def _far(self, session: SessionInfo) -> EngineCopies | None:
        """Where an isolated session's copies are read: None on this machine; on a remote
        engine, its host (each read or apply a helper container there)."""
        from container.isolated_remote import EngineCopies

        name = session.engine or "default"
        engine = next((e for e in self.engines() if e.name == name), None)
        if engine is None or not engine.is_remote:
            return None
        client = self._client(session)
        with self._far_lock:
            far = self._far_copies.get(name)
            if far is None or far.client is not client:  # made anew for a new connection
                far = self._far_copies[name] = EngineCopies(client, self.config.image, name)
            return far

    def isolated_changes(self, session: SessionInfo) -> list[ChangedFile]:
        from container.isolated_review import review

        far = self._far(session)
        if far is not None:
            return far.review(session)
        return review(session.name, session.labels)

    def isolated_file(self, session: SessionInfo, path: str) -> FileReview:
        from container.isolated_review import review_file

        far = self._far(session)
        if far is not None:
            return far.review_file(session, path)
        return review_file(session.name, session.labels, path)

    def isolated_apply(
        self, session: SessionInfo, path: str | None, hunk: int | None = None, shown: str = ""
    ) -> str:
        from container import isolated_review

        far = self._far(session)
        if path is None:
            if far is not None:
                return far.apply_all(session)
            return isolated_review.apply_all(session.name, session.labels)
        if hunk is None:
            if far is not None:
                return far.apply_file(session, path)
            return isolated_review.apply_file(session.name, session.labels, path)
        if far is not None:
            return far.apply_hunk(session, path, hunk, shown)
        return isolated_review.apply_hunk(session.name, session.labels, path, hunk, shown)

    def checkpoint(self, session: SessionInfo, message: str) -> str:
        commit, _ = self._tracker(session).checkpoint(message)
        return commit

    def revert(self, session: SessionInfo, path: str) -> bool:
        return not self._tracker(session).revert([path]).empty

    # -- firewall ------------------------------------------------------------------------------

    def firewall_status(self, session: SessionInfo, brief: bool = False) -> FirewallStatus:
        return firewall.read_status(self._client(session), session, brief=brief)

    def allow(self, session: SessionInfo, entries: list[str]) -> list[str]:
        return firewall.allow(self._client(session), session, entries, force=True)

    def deny(self, session: SessionInfo, entries: list[str]) -> list[str]:
        return firewall.deny(self._client(session), session, entries)

    # -- terminals and files -------------------------------------------------------------------

    def channel_factory(self, session: SessionInfo) -> Callable[[], Any]:
        from container.session_attach import session_channel

        ready = self._early.ready.get(session.id) if self._early is not None else None
        return session_channel(self._client(session), session, ready_started_at=ready)

    def history_source(self, session: SessionInfo) -> Callable[[], bytes] | None:
        from container.pane_history import capture_history

        if not session.managed:
            return None
        return partial(capture_history, self._client(session), session, self.config.history_lines)

    def files(self, session: SessionInfo) -> ContainerFiles:
        from claudex_tui.files_service import SessionFiles

        return SessionFiles(self._client(session), session)
