"""The dashboard's first engine calls, made while Python and Textual start (half a second of
imports and styles on a small machine): the default engine's connection, its sessions, and
whether the session to select is ready. The dashboard then draws the list and attaches the
terminal as soon as it is laid out, instead of asking only then.

A listing made here comes before the dashboard follows the engine's events: the dashboard
shows it at once and lists again right after it subscribed (EngineBackend.early_listing).
Anything that fails here is simply asked again the usual way, which reports it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from container.engine import DockerClient
    from container.engines import Engine, EngineListing

WAIT = 15.0  # seconds the dashboard waits for an answer already asked for here


class EarlyStart:
    def __init__(
        self, engine: Engine, select: str | None, client: DockerClient | None = None
    ) -> None:
        self.engine = engine
        self.select = select
        self._client = client  # connected already (the engine check before the dashboard)
        self._connected = threading.Event()
        self._listed = threading.Event()
        self.finished = threading.Event()  # everything asked (the ready check last)
        self._connection: tuple[DockerClient, str] | None = None
        self._listing: EngineListing | None = None
        self.listing_taken = False
        self.ready: dict[str, str] = {}  # container id -> StartedAt of a run seen ready
        threading.Thread(target=self._run, name="claudex-early", daemon=True).start()

    def _run(self) -> None:
        try:
            self._connect()
            if self._connection is not None:
                self._list(self._connection[0])
        except Exception:  # asked again the usual way, which says what is wrong
            pass
        finally:
            self._connected.set()
            self._listed.set()
            self.finished.set()

    def _connect(self) -> None:
        from container.engines import connect_engine, engine_version

        try:
            client = self._client or connect_engine(self.engine, timeout=int(WAIT))
            self._connection = (client, engine_version(client))
        finally:
            self._connected.set()

    def _list(self, client: DockerClient) -> None:
        from container.engines import list_engine
        from container.sessions import Sessions

        try:
            listing = list_engine(self.engine, client=client)  # (an error: listed again later)
            if listing.error is None:
                self._listing = listing
        finally:
            self._listed.set()
        found = listing.sessions or []
        chosen = next((s for s in found if s.name == self.select), None)
        if chosen is None or not chosen.running or not chosen.managed:
            return
        # StartedAt first: a restart between the two makes the attach see another run and
        # wait the usual way (AgentAttach compares the run before skipping the wait).
        started = (client.api.inspect_container(chosen.id).get("State") or {}).get("StartedAt")
        if started and Sessions(client).read_status(chosen.id) == "ready":
            self.ready[chosen.id] = str(started)

    def connection(self, engine: str) -> tuple[DockerClient, str] | None:
        """The engine's client and version, once asked here (None: not asked, or failed)."""
        if engine != self.engine.name or not self._connected.wait(WAIT):
            return None
        return self._connection

    def take_listing(self, client: DockerClient) -> EngineListing | None:
        """The sessions listed here, once, if they were read through `client`."""
        if self.listing_taken:
            return None
        self.listing_taken = True
        if not self._listed.wait(WAIT):
            return None
        listing = self._listing
        return listing if listing is not None and listing.client is client else None
