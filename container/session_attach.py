"""The agent's terminal of a session: attached once the session is ready, and, when it ends,
why it ended (for `claudex attach` and the dashboard's terminal).

Attaching before the init has made the agent's tmux gives tmux's "no sessions" (exit 1), which
happened right after a start or restart: the attach waits for the init's `ready` first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from container.errors import EngineUnavailable, SessionGone
from container.exec_channel import DockerExec
from container.labels import AGENT_UID, SessionInfo

if TYPE_CHECKING:
    import docker

AGENT_TMUX = ["tmux", "-f", "/etc/claudex/tmux.conf", "attach-session", "-t", "agent"]
# A killed container ends the exec a moment before the engine marks the container stopped.
SETTLE_SECONDS = 3.0


@dataclass(frozen=True)
class AttachEnd:
    """Why an attach ended; `reattach`: attaching again makes sense once the session (or its
    engine) is back, as after a restart or an engine that went away."""

    reason: str
    reattach: bool = False


def current_state(client: Any, container_id: str) -> dict[str, Any]:
    """The session's State as its engine reports it now. Raises SessionGone when it was
    removed, EngineUnavailable when the engine does not answer (refused, reset, timed out)."""
    from docker.errors import NotFound

    api = getattr(client, "api", client)
    try:
        return dict(api.inspect_container(container_id)["State"])
    except NotFound:
        raise SessionGone(f"session {container_id} was removed") from None
    except Exception as exc:
        raise EngineUnavailable(f"the engine does not answer ({exc})") from None


class ReadyRun:
    """The run of a session (its StartedAt) already seen ready, shared by the attaches of one
    terminal: attaching again to the same run (a terminal shown again) skips the wait."""

    started_at: str | None = None


class AgentAttach(DockerExec):
    """`tmux attach` to the agent of a claudex session, after waiting until it is ready.

    Args:
        client: the session's engine.
        session: the session.
        on_wait: called once (from the starting thread) when the session is not ready yet.
        ready_run: the run seen ready by an earlier attach of the same terminal.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        session: SessionInfo,
        on_wait: Callable[[], None] | None = None,
        ready_timeout: float | None = None,
        ready_run: ReadyRun | None = None,
    ) -> None:
        from container.session_ready import READY_TIMEOUT
        from container.sessions import Sessions

        user = session.labels.get(AGENT_UID, "")
        super().__init__(client, session.id, AGENT_TMUX, user=user)
        self.sessions = Sessions(client)
        self.session = session
        self.on_wait = on_wait
        self.ready_timeout = ready_timeout or READY_TIMEOUT
        self.ready_run = ready_run or ReadyRun()
        self.started_at: str | None = None

    def start(self, rows: int, columns: int) -> None:
        known = self.ready_run.started_at
        if known is not None and self._running_since() == known:
            self.started_at = known  # the same run, ready before: no status exec to wait for
        else:
            if self.on_wait is not None and self.sessions.read_status(self.session.id) != "ready":
                self.on_wait()
            self.started_at = self.sessions.wait_ready(
                self.session.id, self.session.name, self.ready_timeout
            )
            self.ready_run.started_at = self.started_at
        super().start(rows, columns)

    def _running_since(self) -> str | None:
        """The StartedAt of the session's run if it runs (None if not, or on any error: the
        full wait then finds out)."""
        try:
            state = self.api.inspect_container(self.session.id)["State"]
        except Exception:
            return None
        return str(state.get("StartedAt")) if state.get("Running") else None

    def why_ended(self) -> AttachEnd:
        """Blocks up to a few seconds: asks the engine what became of the session."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            state, code = self._state()
            if isinstance(state, AttachEnd):
                return state
            if not state.get("Running"):
                return AttachEnd(f"the session stopped (exit {state.get('ExitCode')})")
            if self.started_at and state.get("StartedAt") != self.started_at:
                return AttachEnd("the session restarted", reattach=True)
            # A clean exit of tmux is the user's (or the agent's) doing; a killed one may be
            # the container going down, which the engine reports a moment later.
            if (code is not None and code < 128) or time.monotonic() > deadline:
                return AttachEnd(f"the agent's terminal closed (exit {code})")
            time.sleep(0.1)

    def _state(self) -> tuple[dict[str, Any] | AttachEnd, int | None]:
        from docker.errors import NotFound

        try:
            state: dict[str, Any] = self.api.inspect_container(self.session.id)["State"]
        except NotFound:
            return AttachEnd("the session was removed"), None
        except Exception as exc:  # connection refused, reset, timeout: the engine is gone
            return AttachEnd(f"the engine went away ({type(exc).__name__})", reattach=True), None
        try:
            code = self.exit_code
        except Exception:
            code = None
        return state, code


def session_channel(
    client: docker.DockerClient, session: SessionInfo, ready_started_at: str | None = None
) -> Callable[[], DockerExec]:
    """Makes the channel of a session's terminal: the agent's tmux in a session claudex made
    (attached once it is ready; `ready_started_at`: its run already seen ready), a login shell
    in one the Go tool made."""
    if session.managed:
        ready_run = ReadyRun()
        ready_run.started_at = ready_started_at
        return lambda: AgentAttach(client, session, ready_run=ready_run)
    return lambda: DockerExec(client, session.id, ["bash", "-l"])
