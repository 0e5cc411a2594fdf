"""The `com.claudex.*` labels (the only source of truth) and the session model built from them.

Pure data: the dashboard's widgets import this module, so it does no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SIGNATURE = "com.claudex.signature"
SLUG = "com.claudex.slug"
MOUNTS = "com.claudex.mounts"
VERSION = "com.claudex.version"
# Labels of our own (the Go tool does not set them; absent means "Go-made session").
MANAGED = "com.claudex.managed-by"
AGENT = "com.claudex.agent"
NETWORK_MODE = "com.claudex.network-mode"
READ_ONLY = "com.claudex.read-only"
GIT = "com.claudex.git"
PARALLEL = "com.claudex.parallel"
AGENT_UID = "com.claudex.agent-uid"
DOCKER_SOCKET = "com.claudex.docker-socket"
ISOLATED = "com.claudex.isolated"  # JSON {user directory: the session's copy} (container.isolated)
AGENT_HOME = "com.claudex.agent-home"  # "own" (logins copied in) or "shared" (host's, read-write)
CONTEXT_HASH = "com.claudex.context-hash"
IMAGE_ROLE = "com.claudex.image"

MANAGED_VALUE = "claudex-py"
FIREWALLED = "firewalled"
HOST_NETWORK = "host"


def agent_user(attrs_labels: dict[str, str] | None) -> str | None:
    """The agent's "uid:gid" from a session's labels, or None (never root, never a name)."""
    value = (attrs_labels or {}).get(AGENT_UID, "")
    uid, _, gid = value.partition(":")
    if not (uid.isdigit() and gid.isdigit()) or int(uid) == 0:
        return None
    return f"{int(uid)}:{int(gid) or int(uid)}"  # never root's group either


def _json_list(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        data = json.loads(value)
    except ValueError:
        return []
    return [str(x) for x in data] if isinstance(data, list) else []


@dataclass(frozen=True)
class SessionInfo:
    """One session as listed by the engine (from a single `containers/json` call)."""

    id: str
    name: str
    state: str
    status: str
    image: str
    created: datetime | None
    signature: str
    slug: str
    mounts: list[str]
    version: str
    agent: str
    network_mode: str
    read_only: list[str] = field(default_factory=list)
    managed: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    engine: str = ""
    """Name of the engine the session runs on ("" when only one engine is in play)."""

    @property
    def key(self) -> tuple[str, str]:
        """Unique over engines: two engines may each have a session of the same name."""
        return (self.engine, self.name)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.short_id,
            "state": self.state,
            "status": self.status,
            "image": self.image,
            "created": self.created.isoformat() if self.created else None,
            "signature": self.signature,
            "slug": self.slug,
            "mounts": self.mounts,
            "read_only": self.read_only,
            "agent": self.agent,
            "network": self.network_mode,
            "version": self.version,
            "managed": self.managed,
            "engine": self.engine or None,
        }

    @classmethod
    def from_list_entry(cls, entry: dict[str, Any]) -> SessionInfo:
        """Build from one item of the low-level `containers(all=True)` answer (no inspect)."""
        labels: dict[str, str] = entry.get("Labels") or {}
        names = entry.get("Names") or [""]
        created = entry.get("Created")
        return cls(
            id=entry.get("Id", ""),
            name=names[0].lstrip("/"),
            state=entry.get("State", "unknown"),
            status=entry.get("Status", ""),
            image=entry.get("Image", ""),
            created=datetime.fromtimestamp(created).astimezone() if created else None,
            signature=labels.get(SIGNATURE, ""),
            slug=labels.get(SLUG, ""),
            mounts=_json_list(labels.get(MOUNTS)),
            version=labels.get(VERSION, ""),
            agent=labels.get(AGENT, "claude"),
            network_mode=labels.get(NETWORK_MODE, "unknown"),
            read_only=_json_list(labels.get(READ_ONLY)),
            managed=labels.get(MANAGED) == MANAGED_VALUE,
            labels=dict(labels),
        )
