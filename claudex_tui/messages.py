"""Messages of the dashboard: the engines' to the app; the rest, its workers' and
watchers', to the dashboard screen (they stop there: bubble=False)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from container.labels import SessionInfo


@dataclass
class EngineUp(Message):
    engine: str = "default"
    version: str = ""


@dataclass
class EngineDown(Message):
    reason: str
    hint: str | None = None
    engine: str = "default"


class SessionsChanged(Message):
    """The events stream saw a change; a burst of events collapses into one refresh."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SessionsChanged)


@dataclass
class SessionsLoaded(Message, bubble=False):
    sessions: list[SessionInfo]


@dataclass
class AgentWaiting(Message, bubble=False):
    name: str
    detail: str


@dataclass
class AgentWrote(Message, bubble=False):
    """The agent's tmux wrote output (read from tmux: its terminal may not be read)."""

    name: str


@dataclass
class ActionDone(Message, bubble=False):
    """A lifecycle action (start, stop, destroy...) finished; `error` when it failed."""

    verb: str
    name: str
    error: str | None = None
    hint: str | None = None


@dataclass
class FirewallsChecked(Message, bubble=False):
    """Modes of running sessions' firewalls (the live check, without the lists)."""

    statuses: dict[str, Any]


@dataclass
class CountsLoaded(Message, bubble=False):
    """Changed-file counts of running sessions, for the session list."""

    counts: dict[str, int]
