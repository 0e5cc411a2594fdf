"""What the Changes tab shows of an isolated session's file (pure data: no I/O), and the
session's line changes grouped into hunks as `diff -u` groups them."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

CONTEXT = 3


@dataclass(frozen=True)
class Hunk:
    """Lines base[a0:a1] the session made copy[b0:b1]; `text` is how it is shown."""

    a0: int
    a1: int
    b0: int
    b1: int
    text: str
    added: int = 0
    removed: int = 0


def hunks(base: Sequence[str], copy: Sequence[str]) -> list[Hunk]:
    """The session's line changes grouped as `diff -u` does (lines keep their newlines)."""
    found = []
    matcher = difflib.SequenceMatcher(None, base, copy, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        a0, a1, b0, b1 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        lines = [f"@@ -{a0 + 1},{a1 - a0} +{b0 + 1},{b1 - b0} @@\n"]
        added = removed = 0
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + line for line in base[i1:i2]]
                continue
            lines += ["-" + line for line in base[i1:i2]]
            lines += ["+" + line for line in copy[j1:j2]]
            added, removed = added + j2 - j1, removed + i2 - i1
        text = "".join(_eol(line) for line in lines)
        found.append(Hunk(a0, a1, b0, b1, text, added, removed))
    return found


def _eol(line: str) -> str:
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def with_hunk(base: Sequence[str], copy: Sequence[str], hunk: Hunk) -> str:
    """The base with only `hunk` applied."""
    return "".join([*base[: hunk.a0], *copy[hunk.b0 : hunk.b1], *base[hunk.a1 :]])


@dataclass
class FileReview:
    """One file: how it stands (apply / conflict / refused) and its hunks or the conflict."""

    path: str
    state: str
    reason: str
    hunks: list[Hunk] = field(default_factory=list)
    text: str = ""  # what is shown: the hunks, or the conflict three-way, or why not
