"""Starting, stopping, restarting and destroying a session as the dashboard and `claudex
destroy` do it: what a destroy would lose is found first, and what it must keep (the agent's
home, the tracking history) reaches the host before the container goes."""

from __future__ import annotations

import time

from container.agent_home import save_home
from container.diff_text import display_path
from container.engine import engine_errors
from container.errors import ClaudexError, UsageError
from container.labels import SessionInfo
from container.sessions import Sessions
from container.tracking import BaselineMissing, Tracker


def start(sessions: Sessions, session: SessionInfo) -> None:
    """Start it (claudex's scripts checked first) and wait for its init's "ready"."""
    sessions.start_existing(session)
    if session.managed:
        sessions.wait_ready(session.id, session.name)


def stop(sessions: Sessions, session: SessionInfo, timeout: int = 5) -> None:
    sessions.api.stop(session.id, timeout=timeout)


def restart(sessions: Sessions, session: SessionInfo, timeout: int = 5) -> None:
    sessions.restart(session, timeout=timeout)
    if session.managed:
        sessions.wait_ready(session.id, session.name)


def destroy(sessions: Sessions, session: SessionInfo) -> list[str]:
    """Save the agent home and the history, then remove; what was saved where. If they cannot
    be saved, nothing is destroyed (the error is raised)."""
    home = save_home(sessions.api, session)
    bundle = save_history(sessions, session)
    sessions.remove(session.name, force=True)
    return [f"{what} saved to {p}" for what, p in (("home", home), ("history", bundle)) if p]


def outside_files(sessions: Sessions, session: SessionInfo) -> list[str] | None:
    """Files in /workspace outside the mounts, or None when that cannot be known now."""
    tracker = Tracker(sessions.api, session)
    if not (session.running and session.managed):
        return None
    try:
        return tracker.outside_files()
    except ClaudexError:
        return None


def describe_outside(files: list[str] | None, limit: int = 10) -> list[str]:
    """Lines for the destroy confirmation."""
    if not files:
        return []
    lines = [f"    {len(files)} file(s) in /workspace outside the mounts will be lost:"]
    lines += [f"      {display_path(f)}" for f in files[:limit]]
    if len(files) > limit:
        lines.append(f"      ... and {len(files) - limit} more")
    return lines


def save_history(sessions: Sessions, session: SessionInfo) -> str | None:
    """Export the tracking history as a bundle in the state folder; its path, or None when the
    session has no tracking. A stopped session is started for it (it is removed next)."""
    tracker = Tracker(sessions.api, session)
    if not tracker.enabled:
        return None
    if not session.running:
        with engine_errors(f"starting {session.name} to save its history"):
            sessions.api.start(session.id)
            deadline = time.monotonic() + 20
            while not sessions.api.inspect_container(session.id)["State"].get("Running"):
                if time.monotonic() > deadline:
                    raise UsageError(f"{session.name} did not start to save its history")
                time.sleep(0.1)
    try:
        return str(tracker.export_bundle())
    except BaselineMissing:
        return None
