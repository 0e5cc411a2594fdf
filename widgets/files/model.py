"""What the Files tab needs from the container side, and the copies it makes: plain data.

The widgets do no container I/O themselves: they talk to a `ContainerFiles` (the app passes a
factory making one per session), so they can be driven by the real engine or a test double.
No Textual here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Protocol

from container.labels import SessionInfo

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Entry:
    """One entry of a container directory."""

    name: str
    is_dir: bool
    size: int = 0
    is_link: bool = False


@dataclass
class Outcome:
    """What one transfer did."""

    written: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        """Count `other` in (a job is made of several calls)."""
        self.written += other.written
        self.bytes += other.bytes
        self.skipped += other.skipped
        self.refused += other.refused


class ContainerFiles(Protocol):
    """A session's files, as the Files tab uses them. Every method blocks (it is called from
    worker threads) and raises an exception whose `str()` is a message for the user.
    `cancel` is set from the UI thread; the transfer then stops and leaves no partial file."""

    def list_dir(self, path: str) -> list[Entry]: ...

    def existing(self, directory: str, names: list[str]) -> set[str]:
        """Which of `names` exist in `directory`."""
        ...

    def push(
        self,
        sources: list[str],
        directory: str,
        *,
        names: list[str],
        force: bool,
        progress: Progress,
        cancel: threading.Event,
    ) -> Outcome: ...

    def pull(
        self,
        source: str,
        directory: str,
        *,
        name: str,
        force: bool,
        progress: Progress,
        cancel: threading.Event,
    ) -> Outcome: ...


ServiceFactory = Callable[[SessionInfo], ContainerFiles]


@dataclass
class Job:
    """One copy the user asked for: sources on one side, a folder on the other."""

    direction: str  # "push" (host -> session) or "pull"
    sources: list[str]
    directory: str
    names: list[str] = field(default_factory=list)
    force: list[bool] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.what()} → {self.where()}"

    def what(self) -> str:
        return short_names(self.sources)

    def side(self) -> str:
        return "session" if self.direction == "push" else "host"

    def where(self) -> str:
        """The destination, named before anything lands there."""
        return f"{self.side()}:{self.directory}"


def short_names(paths: list[str]) -> str:
    """The first path's name, and how many more: `notes.txt +2`."""
    more = f" +{len(paths) - 1}" if len(paths) > 1 else ""
    return f"{PurePosixPath(paths[0]).name}{more}"


def free_name(name: str, taken: Iterable[str]) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext`... whichever is not taken."""
    used = set(taken)
    if name not in used:
        return name
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    n = 2
    while f"{stem} ({n}){dot}{ext}" in used:
        n += 1
    return f"{stem} ({n}){dot}{ext}"


def cut_left(text: str, width: int) -> str:
    """`text` cut from the left to `width` cells (a path keeps its last folders)."""
    return text if len(text) <= width or width < 2 else "…" + text[len(text) - width + 1 :]
