"""A session's readiness: its init's status file, waiting until the agent runs, and why a
session that stopped on the way did (its exit code and this run's log lines)."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from container.engine import engine_errors
from container.errors import ClaudexError, EngineUnavailable, SessionGone

if TYPE_CHECKING:
    import docker

STATUS_FILE = "/run/claudex/status"
READY_TIMEOUT = 60.0


class Readiness:
    """Part of `Sessions` (container/sessions.py): the calls that wait for a session's init."""

    client: docker.DockerClient
    api: docker.APIClient

    def read_status(self, container_id: str) -> str:
        with engine_errors("reading session status"):
            # Absolute program, root's own working directory: nothing the agent wrote is run.
            result = self.client.containers.get(container_id).exec_run(
                ["/bin/cat", STATUS_FILE], user="root", workdir="/"
            )
        return result.output.decode(errors="replace").strip() if result.exit_code == 0 else ""

    def _inspect(self, container_id: str, name: str) -> dict[str, Any]:
        """The container's attributes; a container removed meanwhile is `SessionGone`."""
        from docker.errors import NotFound

        with engine_errors(f"inspecting {name}"):
            try:
                attrs: dict[str, Any] = self.api.inspect_container(container_id)
            except NotFound:
                raise SessionGone(
                    f"session {name} was removed (by another command) while starting",
                    "start it again",
                ) from None
        return attrs

    def wait_ready(self, container_id: str, name: str, timeout: float = READY_TIMEOUT) -> str:
        """Until the init says `ready` (agent in tmux), or fail with the reason it gave: a
        session that stops on the way says its exit code and the last lines of its log (of
        this run only), whichever call notices. Returns the ready run's StartedAt."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            state = self._inspect(container_id, name).get("State") or {}
            if not state.get("Running"):
                raise self._stopped(container_id, name, state)
            try:
                status = self.read_status(container_id)
            except EngineUnavailable:
                raise
            except ClaudexError:
                # It stopped or restarted between the inspect and the exec: the next turn
                # reports it (or waits for the new run); the same run still up is a real error.
                now = self._inspect(container_id, name).get("State") or {}
                if now.get("Running") and now.get("StartedAt") == state.get("StartedAt"):
                    raise
                continue
            if status == "ready":
                return str(state.get("StartedAt", ""))
            if status.startswith("failed:"):
                raise ClaudexError(
                    f"session {name} {status}; the agent was not started",
                    "fix the cause, then start it again (`claudex --replace` recreates it)",
                )
            if time.monotonic() > deadline:
                raise ClaudexError(
                    f"session {name} did not become ready within {timeout:.0f}s "
                    f"(status: {status or 'none'})",
                    f"see `docker logs {name}`",
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def _stopped(self, container_id: str, name: str, state: dict[str, Any]) -> ClaudexError:
        code = state.get("ExitCode")
        # This run's lines only: earlier runs' (their "claudex-init: ready") would mislead.
        logs = self.logs_tail(container_id, since=epoch_of(str(state.get("StartedAt", ""))))
        detail = f":\n{logs}" if logs else " (it logged nothing in this run)"
        reason = state.get("Error") or ("killed: out of memory" if state.get("OOMKilled") else "")
        return ClaudexError(
            f"session {name} stopped while starting (exit code {code})"
            + (f": {reason}" if reason else "")
            + detail,
            f"see `docker logs {name}`; `claudex --replace` recreates it",
        )

    def logs_tail(self, container_id: str, lines: int = 10, since: float | None = None) -> str:
        try:
            if since is not None:
                data = self.api.logs(container_id, tail=lines, since=since)
            else:
                data = self.api.logs(container_id, tail=lines)
        except Exception:
            return ""
        return str(data.decode(errors="replace").strip())


def epoch_of(stamp: str) -> float | None:
    """Docker's RFC 3339 time (nanoseconds, `Z`) as a Unix time; None when absent or never."""
    from datetime import datetime

    if not stamp or stamp.startswith("0001-"):
        return None
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", stamp)
    if m is None:
        return None
    fraction = (m.group(2) or ".0")[:7]
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.fromisoformat(m.group(1) + fraction + zone).timestamp()
    except ValueError:
        return None
