"""Following the engine without polling: its events stream, and each agent's "waiting" file
(the contract with the image's notify.sh: the agent's hooks append a line to WAITING_FILE when
it waits for input).

Plain threads with callbacks (no Textual here); the dashboard turns callbacks into messages.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from container import labels, scripts
from container.exec_channel import close_exec

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

# Only these, filtered by the engine: every exec claudex runs (a change count, a firewall
# check: dozens a minute) is three events the dashboard would otherwise read and throw away.
EVENT_FILTERS = {"type": "container", "label": labels.SIGNATURE, "event": sorted(_INTERESTING)}


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
            self._stream = self.client.events(decode=True, filters=EVENT_FILTERS)
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


# Follows the agent's notification file as the agent (see the script for how).
_WAITING_SCRIPT = scripts.source("waiting.py")
_LINE_MAX = 200  # characters of a notification passed on
_PER_SECOND = 4  # notifications passed on per session and second (the reader sends at most 2)


def clean_line(raw: bytes) -> str:
    """What the agent wrote, as one short printable line."""
    text = raw.decode(errors="replace")[:_LINE_MAX]
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


class WaitingWatcher:
    """Streams an agent's notification file (its hooks append a line when it waits for input).

    Runs in the session as the agent's own user, read from the session's labels; a session
    without that label is not watched (the old watcher ran as root and followed the agent's
    links: issue 12)."""

    def __init__(
        self, client: docker.DockerClient, container_id: str, on_waiting: Callable[[str], None]
    ) -> None:
        self.client = client
        self.container_id = container_id
        self.on_waiting = on_waiting
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._sock: Any = None
        self._response: Any = None
        self._thread = threading.Thread(target=self._run, name="claudex-waiting", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Closes the exec's connection: the reader in the session sees its stdin end and exits."""
        self._stopped.set()
        with self._lock:
            sock, response = self._sock, self._response
            self._sock = self._response = None
        close_exec(sock, response)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def command(self) -> list[str]:
        """What runs in the session (as the agent) and prints the lines passed on."""
        return ["python3", "-I", "-S", "-c", _WAITING_SCRIPT, WAITING_FILE]

    def _run(self) -> None:
        from docker.utils.socket import frames_iter

        api = self.client.api
        try:
            user = labels.agent_user(
                (api.inspect_container(self.container_id)["Config"] or {}).get("Labels")
            )
            if user is None or self._stopped.is_set():
                return
            exec_id = api.exec_create(
                self.container_id,
                self.command(),
                user=user,
                workdir="/",
                stdin=True,
            )["Id"]
            response = api.exec_start(exec_id, socket=True)
            sock = getattr(response, "_sock", response)
            sock.settimeout(None)
            with self._lock:
                if self._stopped.is_set():
                    close_exec(sock, response)
                    return
                self._sock, self._response = sock, response
            pending = b""
            second, passed = 0, 0
            for stream, data in frames_iter(sock, tty=False):
                if self._stopped.is_set():
                    return
                if stream != 1:
                    continue
                *lines, pending = (pending + data).split(b"\n")
                pending = pending[-_LINE_MAX:]  # a line longer than that is cut, never stored
                line = next((clean_line(raw) for raw in reversed(lines) if raw.strip()), "")
                now = int(time.monotonic())
                second, passed = (now, 0) if now != second else (second, passed)
                if line and passed < _PER_SECOND:
                    passed += 1
                    self.on_waiting(line)
        except Exception:
            return  # the session stopped or the engine went away: the list shows that
        finally:
            self.stop()


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
