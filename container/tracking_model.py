"""What change tracking reports, as pure data: changed files, checkpoints, baselines, reverts
and repository events, and the parser of git's change listing. The dashboard's Changes tab
imports this, never `container.tracking` (which runs git in the session).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Status = Literal["added", "modified", "deleted", "renamed", "copied", "type-changed"]
DiffMode = Literal["patch", "stat", "name-only"]
Since = Literal["start", "checkpoint"]  # what a diff starts from: the baseline, the last checkpoint
_STATUS: dict[str, Status] = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type-changed",
}


@dataclass(frozen=True)
class ChangedFile:
    """One file that differs from the baseline. Line counts are 0 for binary files."""

    path: str
    status: Status
    added: int
    removed: int
    binary: bool
    old_path: str | None = None  # renamed/copied from


@dataclass(frozen=True)
class Checkpoint:
    commit: str
    time: datetime
    message: str
    baseline: bool

    @property
    def short(self) -> str:
        return self.commit[:12]


@dataclass(frozen=True)
class Baseline:
    commit: str
    created: bool  # False: it existed already
    files: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class RevertResult:
    restored: list[str]
    deleted: list[str]
    matched: bool  # some tracked file matched the paths

    @property
    def empty(self) -> bool:
        return not (self.restored or self.deleted)


@dataclass(frozen=True)
class RepoEvent:
    """Something that happened to a mounted git repository since the baseline: a commit or a
    ref that moved (`danger` False), or a change that can make the host's git run programs."""

    repo: str  # relative to /workspace; "" for the tracking itself
    text: str
    danger: bool

    def __str__(self) -> str:
        return f"{self.repo}: {self.text}" if self.repo else self.text


def parse_changes(raw: bytes) -> list[ChangedFile]:
    """`git diff-tree -r -z -M --raw --numstat` output -> ChangedFile list, in git's order."""
    fields = raw.split(b"\0")
    statuses: list[tuple[str, str, str | None]] = []  # (letter, path, old path)
    counts: dict[str, tuple[int, int, bool]] = {}
    i = 0
    while i < len(fields):
        field_ = fields[i]
        if not field_:
            i += 1
            continue
        if field_.startswith(b":"):
            letter = field_.split()[-1][:1].decode()
            if letter in ("R", "C"):
                old, new = os.fsdecode(fields[i + 1]), os.fsdecode(fields[i + 2])
                statuses.append((letter, new, old))
                i += 3
            else:
                statuses.append((letter, os.fsdecode(fields[i + 1]), None))
                i += 2
            continue
        # numstat: "added\tremoved\tpath", or "added\tremoved\t" then old, new for renames
        added, removed, name = field_.split(b"\t", 2)
        if name:
            i += 1
        else:
            name = fields[i + 2]
            i += 3
        binary = added == b"-"
        counts[os.fsdecode(name)] = (
            0 if binary else int(added),
            0 if binary else int(removed),
            binary,
        )
    out = []
    for letter, path, from_path in statuses:
        n_added, n_removed, is_binary = counts.get(path, (0, 0, False))
        status = _STATUS.get(letter, "modified")
        out.append(ChangedFile(path, status, n_added, n_removed, is_binary, from_path))
    return out
