"""What the Changes tab shows of an isolated session's file (pure data: no I/O), and the
session's line changes grouped into hunks as `diff -u` groups them."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

CONTEXT = 3
Op = tuple[str, int, int, int, int]  # difflib's opcode: tag, base[i1:i2], copy[j1:j2]


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
    for group in _grouped(_opcodes(base, copy), CONTEXT):
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


def _opcodes(base: Sequence[str], copy: Sequence[str]) -> list[Op]:
    """difflib's opcodes, matched only between the common start and end (an edit is mostly
    local; and a file of many equal lines would make difflib quadratic)."""
    start, limit = 0, min(len(base), len(copy))
    while start < limit and base[start] == copy[start]:
        start += 1
    end = 0
    while end < limit - start and base[-1 - end] == copy[-1 - end]:
        end += 1
    a1, b1 = len(base) - end, len(copy) - end
    inner = difflib.SequenceMatcher(None, base[start:a1], copy[start:b1]).get_opcodes()
    ops = [("equal", 0, start, 0, start)]
    ops += [(t, i1 + start, i2 + start, j1 + start, j2 + start) for t, i1, i2, j1, j2 in inner]
    ops.append(("equal", a1, len(base), b1, len(copy)))
    merged: list[Op] = []
    for op in ops:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        if merged and op[0] == "equal" == merged[-1][0]:
            merged[-1] = ("equal", merged[-1][1], op[2], merged[-1][3], op[4])
        else:
            merged.append(op)
    return merged


def _grouped(codes: list[Op], n: int) -> list[list[Op]]:
    """Opcodes in groups with `n` lines of context (difflib's get_grouped_opcodes)."""
    if not codes:
        codes = [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        t, i1, i2, j1, j2 = codes[0]
        codes[0] = (t, max(i1, i2 - n), i2, max(j1, j2 - n), j2)
    if codes[-1][0] == "equal":
        t, i1, i2, j1, j2 = codes[-1]
        codes[-1] = (t, i1, min(i2, i1 + n), j1, min(j2, j1 + n))
    nn = n + n
    groups: list[list[Op]] = []
    group: list[Op] = []
    for t, i1, i2, j1, j2 in codes:
        if t == "equal" and i2 - i1 > nn:
            group.append((t, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((t, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


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
