"""`claudex shell [NAME]` and attaching the agent's terminal without the dashboard."""

from __future__ import annotations

import argparse
import sys
import time

from claudex_tui.commands.session_arg import add_session_arguments
from container.engine import connect, engine_errors
from container.errors import (
    ClaudexError,
    EngineUnavailable,
    SessionGone,
    SessionNotRunning,
    UsageError,
)
from container.labels import AGENT_UID, SessionInfo
from container.mount_targets import WORKSPACE
from container.session_attach import current_state
from container.sessions import Sessions

# How long an attach whose engine went away waits for it (Ctrl-C stops it sooner).
ENGINE_WAIT = 600.0


def _open(sessions: Sessions, session: SessionInfo, cmd: list[str], user: str) -> int:
    from claudex_tui.passthrough import passthrough
    from container.exec_channel import DockerExec

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("an interactive shell needs a terminal (stdin and stdout)")
    workdir = WORKSPACE if session.managed else None
    channel = DockerExec(sessions.api, session.id, cmd, user=user, workdir=workdir)
    with engine_errors("opening a terminal in the session"):
        code = passthrough(channel)
    if code is None:
        return _detached(session)
    return code


def agent_user(session: SessionInfo) -> str:
    return session.labels.get(AGENT_UID, "") if session.managed else ""


def attach_agent(sessions: Sessions, session: SessionInfo) -> int:
    """The agent's tmux session, once the session is ready; it keeps running when this
    terminal goes away. When the attach ends by itself, says why (stopped, engine gone); after
    a restart or while its engine is away, it waits and attaches again."""
    from claudex_tui.passthrough import passthrough
    from container.session_attach import AgentAttach

    sessions.require_running(session)
    if not session.managed:
        return _open(sessions, session, ["bash", "-l"], "")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("attaching needs a terminal (stdin and stdout)")

    def waiting() -> None:
        print(f"claudex: waiting for session {session.name} to be ready…", file=sys.stderr)

    while True:
        channel = AgentAttach(sessions.client, session, on_wait=waiting)
        with engine_errors("attaching to the session"):
            code = passthrough(channel)
        if code is None:
            return _detached(session)
        end = channel.why_ended()
        print(f"\r\nclaudex: {session.name}: {end.reason}", file=sys.stderr)
        if not end.reattach:
            return code
        _wait_until_back(sessions, session)
        print(f"claudex: attaching to {session.name} again", file=sys.stderr)


def _wait_until_back(sessions: Sessions, session: SessionInfo) -> None:
    """Until the session's engine answers and the session runs there again; a clear error
    when the engine stays away ENGINE_WAIT seconds or the session did not survive."""
    deadline = time.monotonic() + ENGINE_WAIT
    told = False
    while True:
        try:
            state = current_state(sessions.api, session.id)
            break
        except SessionGone:
            raise ClaudexError(
                f"session {session.name} was removed", "`claudex list` shows the sessions left"
            ) from None
        except EngineUnavailable:  # refused, reset, timed out: still away
            if time.monotonic() > deadline:
                raise EngineUnavailable(
                    f"the engine did not come back within {ENGINE_WAIT / 60:.0f} minutes",
                    f"attach again once it is back: `claudex attach {session.name}`",
                ) from None
            if not told:
                print(
                    "claudex: waiting for the engine to come back (Ctrl-C to stop)…",
                    file=sys.stderr,
                )
                told = True
            time.sleep(1.0)
    if not state.get("Running"):
        raise SessionNotRunning(
            f"session {session.name} stopped (exit {state.get('ExitCode')})",
            f"start it with `claudex {' '.join(session.mounts) or '--name ' + session.name}`",
        )


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    add_session_arguments(p)


def run_attach(args: argparse.Namespace) -> int:
    sessions = Sessions(connect())
    return attach_agent(sessions, sessions.resolve(args.name))


def run(args: argparse.Namespace) -> int:
    sessions = Sessions(connect())
    session = sessions.resolve(args.name)
    sessions.require_running(session)
    return _open(sessions, session, ["bash", "-l"], agent_user(session))


def _detached(session: SessionInfo) -> int:
    # Back to the agent is `attach` (a new `shell` would be another plain shell).
    print(
        f"\r\ndetached from {session.name}; it keeps running "
        f"(`claudex attach {session.name}` goes back to the agent)",
        file=sys.stderr,
    )
    return 0
