"""The Files tab's view of a session, on the real engine (`widgets.files.model.ContainerFiles`).

Every method blocks: the panel calls them from worker threads.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from container import labels
from container.transfer.cancel import CancelToken
from container.transfer.common import TransferReport, existing_names, list_dir
from container.transfer.pull import pull
from container.transfer.push import push
from widgets.files.model import Entry, Outcome, Progress

if TYPE_CHECKING:
    from container.engine import DockerClient


class _EventToken(CancelToken):
    """A CancelToken driven by the panel's threading.Event."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self._event = event


def _outcome(report: TransferReport) -> Outcome:
    return Outcome(
        written=len(report.written),
        bytes=report.bytes,
        skipped=list(report.skipped),
        refused=list(report.refused),
    )


class SessionFiles:
    """One session's files through the Engine API and container/transfer."""

    def __init__(self, client: DockerClient, session: labels.SessionInfo) -> None:
        self.api = client.api
        self.session = session
        uid, _, gid = session.labels.get(labels.AGENT_UID, "1000:1000").partition(":")
        self.uid, self.gid = int(uid), int(gid or uid)

    def list_dir(self, path: str) -> list[Entry]:
        return [
            Entry(e.name, e.kind == "dir" or e.target_is_dir, e.size, e.kind == "link")
            for e in list_dir(self.api, self.session.id, path)
        ]

    def existing(self, directory: str, names: list[str]) -> set[str]:
        return existing_names(self.api, self.session.id, directory, names)

    def push(
        self,
        sources: list[str],
        directory: str,
        *,
        names: list[str],
        force: bool,
        progress: Progress,
        cancel: threading.Event,
    ) -> Outcome:
        report = push(
            self.api,
            self.session.id,
            sources,
            directory,
            uid=self.uid,
            gid=self.gid,
            force=force,
            progress=progress,
            cancel=_EventToken(cancel),
            names=names,
        )
        return _outcome(report)

    def pull(
        self,
        source: str,
        directory: str,
        *,
        name: str,
        force: bool,
        progress: Progress,
        cancel: threading.Event,
    ) -> Outcome:
        report = pull(
            self.api,
            self.session.id,
            source,
            Path(directory),
            force=force,
            progress=progress,
            cancel=_EventToken(cancel),
            name=name if name != posixpath.basename(source) else None,
        )
        return _outcome(report)


def service_factory(client: DockerClient) -> Callable[[labels.SessionInfo], SessionFiles]:
    """What `FilesPanel(service_factory(client))` needs: a SessionFiles per session."""
    return lambda session: SessionFiles(client, session)
