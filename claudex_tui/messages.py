"""Messages the dashboard's workers and watchers post to the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

from container.labels import SessionInfo

if TYPE_CHECKING:
    from widgets.details_panel import SessionDetails


@dataclass
class EngineUp(Message):
    client: Any


@dataclass
class EngineDown(Message):
    reason: str
    hint: str | None = None


class SessionsChanged(Message):
    """The events stream saw a change; a burst of events collapses into one refresh."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SessionsChanged)


@dataclass
class SessionsLoaded(Message):
    sessions: list[SessionInfo]


@dataclass
class DetailsLoaded(Message):
    details: SessionDetails


@dataclass
class AgentWaiting(Message):
    name: str
    detail: str


@dataclass
class ActionDone(Message):
    """A lifecycle action (start, stop, destroy...) finished; `error` when it failed."""

    verb: str
    name: str
    error: str | None = None
    hint: str | None = None
