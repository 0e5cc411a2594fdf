"""Following the engine without polling: its events stream, and each agent's "waiting" file.

Plain threads with callbacks (no Textual here); the app turns callbacks into messages.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from container import labels

if TYPE_CHECKING:
    import docker

WAITING_FILE = "/tmp/claudex/waiting"
# Container events that change what the session list shows.
_INTERESTING = {
    "create",
    "start",
    "stop",
    "die",
    "destroy",
    "pause",
    "unpause",
    "rename",
    "kill",
    "restart",
    "oom",
}


class EventsWatcher:
    """Calls `on_change()` for claudex container events; `on_lost(error)` when the stream ends."""

    def __init__(
        self,
        client: docker.DockerClient,
        on_change: Callable[[], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self.client = client
        self.on_change = on_change
        self.on_lost = on_lost
        self._stream: Any = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="claudex-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()

    def _run(self) -> None:
        try:
            self._stream = self.client.events(
                decode=True, filters={"type": "container", "label": labels.SIGNATURE}
            )
            for event in self._stream:
                if self._stopped.is_set():
                    return
                if event.get("Action", event.get("status", "")).split(":")[0] in _INTERESTING:
                    self.on_change()
        except Exception as exc:
            if not self._stopped.is_set():
                self.on_lost(str(exc) or type(exc).__name__)
            return
        if not self._stopped.is_set():
            self.on_lost("the engine closed the events stream")


class WaitingWatcher:
    """Streams an agent's notification file (its hooks append a line when it waits for input)."""

    def __init__(
        self, client: docker.DockerClient, container_id: str, on_waiting: Callable[[str], None]
    ) -> None:
        self.client = client
        self.container_id = container_id
        self.on_waiting = on_waiting
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="claudex-waiting", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        api = self.client.api
        try:
            exec_id = api.exec_create(
                self.container_id,
                [
                    "sh",
                    "-c",
                    "mkdir -p /tmp/claudex; chmod 1777 /tmp/claudex; "
                    f"touch {WAITING_FILE}; chmod 0666 {WAITING_FILE}; "
                    f"exec tail -n0 -F {WAITING_FILE}",
                ],
                user="root",
            )["Id"]
            for chunk in api.exec_start(exec_id, stream=True):
                if self._stopped.is_set():
                    return
                for line in chunk.decode(errors="replace").splitlines():
                    if line.strip():
                        self.on_waiting(line.strip())
        except Exception:
            return  # the session stopped or the engine went away: the list shows that


def ping(client: docker.DockerClient) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def wait_for_engine(client: docker.DockerClient, stop: threading.Event, every: float = 2.0) -> bool:
    """Until the engine answers again (True), or `stop` is set (False)."""
    while not stop.is_set():
        if ping(client):
            return True
        time.sleep(every)
    return False
