"""What a `HostFS` answers (stats, directory entries) and the protocol itself: pure data, so
the mount picker can take any host's file system without importing the engine.

The implementations: `container.local_fs.LocalFS` (this machine) and
`container.host_fs.EngineFS` (an engine's host, through a helper container).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

READ_LIMIT = 64 << 10  # read_text: a project's .claudex.toml, which the agent can write


@dataclass(frozen=True)
class HostStat:
    """A path after following its links: the real path, its kind and its owner."""

    real: str
    kind: str  # "dir", "file", "socket" or "other"
    uid: int
    gid: int


@dataclass(frozen=True)
class HostEntry:
    """One entry of a directory listing (links not followed, but told whether they lead to a
    directory)."""

    name: str
    kind: str  # "dir", "file", "link" or "other"
    target_is_dir: bool = False


class HostFS(Protocol):
    """Read-only questions about the engine host's files."""

    @property
    def remote(self) -> bool: ...

    @property
    def label(self) -> str: ...

    def stat(self, path: str) -> HostStat | None: ...

    def stat_many(self, paths: list[str]) -> list[HostStat | None]: ...

    def list_dir(self, path: str) -> list[HostEntry]: ...

    def read_text(self, path: str) -> str | None: ...

    def home(self) -> str: ...

    def close(self) -> None: ...
