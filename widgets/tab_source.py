"""Where the dashboard's tab panels read their data: one small Protocol per panel, typed with
container's pure data models only (no Textual, no engine I/O). The dashboard's backend satisfies
each of them structurally; tests and screenshots pass a fake one instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from container.details_model import SessionDetails
    from container.firewall_model import FirewallStatus
    from container.isolated_model import FileReview
    from container.labels import SessionInfo
    from container.tracking_model import ChangedFile, Checkpoint, Since


class Reachable(Protocol):
    def reachable(self, session: SessionInfo) -> bool:
        """Is the engine the session runs on connected (nothing is read when not)?"""
        ...


class DetailsSource(Reachable, Protocol):
    """What the Details tab reads (blocks: called from its worker thread)."""

    def details(self, session: SessionInfo) -> SessionDetails: ...


class ChangesSource(Reachable, Protocol):
    """What the Changes tab reads (block: called from its worker threads)."""

    def tracking_enabled(self, session: SessionInfo) -> bool: ...

    def changes(
        self,
        session: SessionInfo,
        since: Since = "start",
        paths: list[str] | None = None,
        literal: bool = False,
    ) -> list[ChangedFile]: ...

    def last_checkpoint(self, session: SessionInfo) -> Checkpoint: ...

    def file_diff(
        self, session: SessionInfo, path: str, old_path: str | None, since: Since
    ) -> str: ...


@runtime_checkable
class IsolatedSource(Protocol):
    """What the Changes tab reads and does for an isolated session (`--isolated`): its copy
    against the user's directory as it is now (blocks: called from its worker threads)."""

    def isolated_changes(self, session: SessionInfo) -> list[ChangedFile]:
        """Files of the copy that differ from the user's directory (paths are the user's)."""
        ...

    def isolated_file(self, session: SessionInfo, path: str) -> FileReview: ...

    def isolated_apply(
        self, session: SessionInfo, path: str | None, hunk: int | None = None, shown: str = ""
    ) -> str:
        """Apply everything (`path` None), a file, or its hunk `hunk` as it was `shown`; what
        was done. A conflict raises ClaudexError (its hint: the conflict three-way)."""
        ...


class FirewallSource(Reachable, Protocol):
    """What the Firewall tab reads (blocks: called from its worker thread)."""

    def firewall_status(self, session: SessionInfo, brief: bool = False) -> FirewallStatus: ...
