"""What the dashboard's Details tab shows about one session (data only, no engine I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from container.labels import SessionInfo


@dataclass
class MountRow:
    source: str
    target: str
    read_only: bool
    role: str = "dir"


@dataclass
class McpServerRow:
    """One of the session's MCP servers: as the host configured it for the broker, and how
    many runs of it are up now."""

    name: str
    image: str
    allow: list[str] = field(default_factory=list)
    running: int = 0


@dataclass
class SessionDetails:
    """What was gathered about a session (inspect, image, one stats sample)."""

    session: SessionInfo
    mounts: list[MountRow] = field(default_factory=list)
    image_id: str = ""
    image_created: datetime | None = None
    image_stale: str | None = None
    cpu_percent: float | None = None
    memory_bytes: int | None = None
    memory_limit: int | None = None
    status_line: str = ""
    mcp_servers: list[McpServerRow] = field(default_factory=list)
    mcp_error: str = ""
    """The broker's last refusal or error (its own log, printable, capped)."""
