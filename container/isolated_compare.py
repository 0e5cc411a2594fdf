"""`claudex compare A B`: how two isolated sessions' results differ, directory by directory.

Both copies are agent-written: they are read as data only, as `claudex apply` reads one
(container.isolated_tree: no link followed, only regular files read, `.git` left out), a
link shown by its target, a special file named and never opened. Text diffs are grouped as
`diff -u` does (container.isolated_model.hunks, bounded on hostile input)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from container.errors import ClaudexError, UsageError
from container.isolated import check_copy_path, copies_of
from container.isolated_model import hunks
from container.isolated_tree import SHOW_LIMIT, Node, _chunks, _open_file, _same_bytes, scan

MAX_LISTED = 2000  # files listed: the agents decide how many differ


@dataclass(frozen=True)
class Difference:
    """One path whose result differs: `what` says how, `text` is its diff (may be empty)."""

    path: str  # the user's path (directory joined with the relative path)
    what: str
    text: str = ""


def _read(root: str, rel: str) -> str | None:
    """A small text file's content, read without following links; None otherwise."""
    try:
        with _open_file(root, rel) as (fd, size):
            if size > SHOW_LIMIT:
                return None
            data = b"".join(_chunks(fd, size))
    except (OSError, ClaudexError):
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="surrogateescape")


def _describe(node: Node) -> str:
    if node.kind == "link":
        return f"a link to {node.target!r}"
    return {"file": "a file", "dir": "a folder", "other": "a special file"}.get(
        node.kind, "unreadable"
    )


def _differ(copy_a: str, copy_b: str, rel: str, a: Node | None, b: Node | None) -> str | None:
    """How `rel` differs between the two copies (None: it does not)."""
    if a is None and b is None:
        return None
    if a is None or b is None:
        node = b if a is None else a
        assert node is not None
        side = "B" if a is None else "A"
        return f"only in {side} ({_describe(node)})"
    if a.kind != b.kind:
        return f"{_describe(a)} in A, {_describe(b)} in B"
    if a.kind == "dir":
        return None
    if a.kind == "link":
        return None if a.target == b.target else f"{_describe(a)} in A, {_describe(b)} in B"
    if a.kind != "file":
        return f"{_describe(a)} in both: not compared"
    if a.size == b.size and _same_bytes(copy_a, rel, copy_b, rel):
        return None if a.executable == b.executable else "executable in one only"
    return "differs"


def _diff(copy_a: str, copy_b: str, rel: str, a: Node | None, b: Node | None) -> str:
    texts = [
        ("" if n is None else _read(c, rel) if n.kind == "file" else None)
        for c, n in ((copy_a, a), (copy_b, b))
    ]
    old, new = texts
    if old is None or new is None:
        return ""
    found = hunks(old.splitlines(keepends=True), new.splitlines(keepends=True))
    if not found:
        return ""
    return f"--- A/{rel}\n+++ B/{rel}\n" + "".join(h.text for h in found)


def compare_copies(directory: str, copy_a: str, copy_b: str, limit: int) -> list[Difference]:
    """The differences between two copies of `directory` (at most `limit` listed)."""
    tree_a, tree_b = scan(copy_a), scan(copy_b)
    found: list[Difference] = []
    for rel in sorted(set(tree_a) | set(tree_b)):
        if len(found) >= limit:
            break
        a, b = tree_a.get(rel), tree_b.get(rel)
        what = _differ(copy_a, copy_b, rel, a, b)
        if what is None:
            continue
        texts = what == "differs" or what.endswith("(a file)")
        text = _diff(copy_a, copy_b, rel, a, b) if texts else ""
        found.append(Difference(os.path.join(directory, rel), what, text))
    return found


def compare_sessions(
    name_a: str, labels_a: dict[str, str], name_b: str, labels_b: dict[str, str]
) -> list[Difference]:
    """What differs between the results of two isolated sessions, in the directories both
    work on."""
    copies_a, copies_b = copies_of(labels_a), copies_of(labels_b)
    for name, copies in ((name_a, copies_a), (name_b, copies_b)):
        if not copies:
            raise UsageError(
                f"session {name} is not isolated: it works on your directories themselves",
                "compare isolated sessions (`claudex list` marks them)",
            )
        for copy in copies.values():
            check_copy_path(name, copy)
            if not os.path.isdir(copy):
                raise ClaudexError(f"the copies of session {name} are gone ({copy})")
    common = sorted(set(copies_a) & set(copies_b))
    if not common:
        raise UsageError(
            f"sessions {name_a} and {name_b} work on no directory in common",
            "compare sessions started on the same directories",
        )
    found: list[Difference] = []
    for directory in common:
        left = MAX_LISTED - len(found)
        found += compare_copies(directory, copies_a[directory], copies_b[directory], left)
    return found
