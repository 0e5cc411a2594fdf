"""Reviewing an isolated session's changes file by file and hunk by hunk (the dashboard's
Changes tab), and applying one file, one hunk or everything.

A hunk is a group of the session's line changes (base -> copy, three lines of context, as
`diff -u` groups them). Applying hunk N means: the base with only that hunk applied, merged
three-way into the user's file as it is now (`git merge-file`, on temporary copies); a merge
that conflicts writes nothing and is shown. What is applied is what the user was shown: the
hunk's text is checked against the copy as it is read for the write (the agent may change its
copy at any moment).
"""

from __future__ import annotations

import difflib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from container.errors import ClaudexError
from container.isolated import base_of, check_copy_path, copies_of, session_folder
from container.isolated_apply import (
    SHOW_LIMIT,
    Change,
    DirChanges,
    Node,
    _base,
    _chunks,
    _open_file,
    _parent,
    _put,
    compare,
    three_way,
    write,
)
from container.tracking_model import ChangedFile

CONTEXT = 3
MAX_REVIEW = 2000  # files listed: the agent decides how many change


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


def merge(yours: str, base: str, theirs: str) -> tuple[str, bool]:
    """Three-way merge of text (`git merge-file --diff3`): the result and whether it is clean
    (otherwise the result shows the conflict)."""
    if yours == base:
        return theirs, True
    with tempfile.TemporaryDirectory(prefix="claudex-merge-") as tmp:
        names = [os.path.join(tmp, n) for n in ("yours", "base", "session")]
        for name, text in zip(names, (yours, base, theirs), strict=True):
            with open(name, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
                fh.write(text)
        env = {"PATH": os.environ.get("PATH", ""), "GIT_CONFIG_NOSYSTEM": "1", "HOME": tmp}
        env["GIT_CONFIG_GLOBAL"] = os.devnull
        labels = ["-L", "your directory", "-L", "when the session started", "-L", "session"]
        try:
            proc = subprocess.run(
                ["git", "merge-file", "-p", "--diff3", *labels, *names],
                env=env, capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClaudexError(f"cannot merge: {exc}") from None
    if proc.returncode < 0 or proc.returncode > 127:
        raise ClaudexError(f"cannot merge: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode("utf-8", errors="surrogateescape"), proc.returncode == 0


# -- reading the three sides ----------------------------------------------------------------


def _read_text(root: str, rel: str) -> str | None:
    """A small text file's content (no link followed); None when missing, large or binary."""
    try:
        with _open_file(root, rel) as (fd, size):
            if size > SHOW_LIMIT:
                return None
            data = b"".join(_chunks(fd, size))
    except FileNotFoundError:
        return ""
    except (OSError, ClaudexError):
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="surrogateescape")


def _as_text(data: bytes | None) -> str | None:
    if data is None or b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="surrogateescape")


def _base_texts(d: DirChanges, changes: list[Change]) -> dict[str, str | None]:
    """The base's text of each changed path ("" for one the session added)."""
    added = {c.path for c in changes if c.what == "added"}
    found = _base(d).contents([c.path for c in changes if c.path not in added], SHOW_LIMIT)
    return {**{rel: _as_text(data) for rel, data in found.items()}, **dict.fromkeys(added, "")}


def _base_text(d: DirChanges, change: Change) -> str | None:
    return _base_texts(d, [change]).get(change.path)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


# -- one session ----------------------------------------------------------------------------


def _copies(session: str, session_labels: dict[str, str]) -> dict[str, str]:
    copies = copies_of(session_labels)
    if not copies:
        raise ClaudexError(f"session {session} is not isolated")
    for copy in copies.values():
        check_copy_path(session, copy)
        if not os.path.isdir(copy):
            raise ClaudexError(f"the copies of session {session} are gone ({copy})")
    return copies


def _split(copies: dict[str, str], path: str) -> tuple[str, str]:
    """A listed path (`<directory>/<relative>`) -> (directory, relative)."""
    for d in sorted(copies, key=len, reverse=True):
        if path.startswith(d.rstrip("/") + "/"):
            return d, path[len(d.rstrip("/")) + 1 :]
    raise ClaudexError(f"{path} is not in the session's directories")


def review(session: str, session_labels: dict[str, str]) -> list[ChangedFile]:
    """What the session changed, as the user's paths, with line counts of base -> copy.
    Applied files ("there") are left out; conflicts and refused files are listed."""
    copies = _copies(session, session_labels)
    files: list[ChangedFile] = []
    for directory in sorted(copies):
        d = compare(directory, copies[directory], base_of(copies[directory]), None)
        listed = [c for c in d.changes if c.state != "there"][: MAX_REVIEW - len(files)]
        texts = _base_texts(d, [c for c in listed if c.copy is not None and c.copy.kind == "file"])
        for c in listed:
            added = removed = 0
            binary = c.copy is None or c.copy.kind != "file"
            if not binary:
                old, new = texts.get(c.path), _read_text(d.copy, c.path)
                if old is None or new is None:
                    binary = True
                else:
                    for h in hunks(_lines(old), _lines(new)):
                        added, removed = added + h.added, removed + h.removed
            status = {"added": "added", "deleted": "deleted"}.get(c.what, "modified")
            path = os.path.join(directory, c.path)
            files.append(ChangedFile(path, status, added, removed, binary))  # type: ignore[arg-type]
    return files


@dataclass
class FileReview:
    """One file: how it stands (apply / conflict / refused) and its hunks or the conflict."""

    path: str
    state: str
    reason: str
    hunks: list[Hunk]
    text: str  # what is shown: the hunks, or the conflict three-way, or why not


def review_file(session: str, session_labels: dict[str, str], path: str) -> FileReview:
    copies = _copies(session, session_labels)
    directory, rel = _split(copies, path)
    copy = copies[directory]
    d = compare(directory, copy, base_of(copy), None, [rel])
    change = next((c for c in d.changes if c.path == rel), None)
    if change is None:
        return FileReview(path, "there", "", [], "(already in your directory)")
    if change.state == "refused":
        return FileReview(path, "refused", change.reason, [], f"not applied: {change.reason}")
    if change.state == "conflict":
        with tempfile.TemporaryDirectory(prefix="stage-", dir=session_folder(session)) as tmp:
            d = compare(directory, copy, base_of(copy), tmp, [rel])
            change = next((c for c in d.changes if c.path == rel), change)
            shown = three_way(d, change)
        return FileReview(path, "conflict", change.reason, [], shown)
    if change.copy is None:
        return FileReview(path, change.state, "", [], "(deleted by the session)")
    if change.copy.kind != "file":
        return FileReview(path, change.state, "", [], f"(a {change.copy.kind}: applied whole)")
    old, new = _base_text(d, change), _read_text(copy, rel)
    if old is None or new is None:
        return FileReview(path, change.state, "", [], "(binary or large: applied whole)")
    found = hunks(_lines(old), _lines(new))
    return FileReview(path, change.state, "", found, "".join(h.text for h in found))


def apply_file(session: str, session_labels: dict[str, str], path: str) -> str:
    """Apply one file (or folder); a conflict raises with the three-way view, writing nothing."""
    return _apply(session, session_labels, path)


def apply_all(session: str, session_labels: dict[str, str]) -> str:
    return _apply(session, session_labels, None)


def _apply(session: str, session_labels: dict[str, str], path: str | None) -> str:
    copies = _copies(session, session_labels)
    chosen = dict([_split(copies, path)]) if path else {}
    dirs = [d for d in sorted(copies) if not chosen or d in chosen]
    with tempfile.TemporaryDirectory(prefix="apply-", dir=session_folder(session)) as staging:
        results = [
            compare(d, copies[d], base_of(copies[d]), staging, [chosen[d]] if chosen else [])
            for d in dirs
        ]
        conflicts = [(d, c) for d in results for c in d.by_state("conflict")]
        if conflicts:
            d, c = conflicts[0]
            raise ClaudexError(
                f"{len(conflicts)} conflict(s), nothing was written: "
                f"{os.path.join(d.directory, c.path)} changed in your directory too",
                three_way(d, c),
            )
        written = write(results)
    return f"applied {written} change(s)" if written else "nothing to apply"


def apply_hunk(
    session: str, session_labels: dict[str, str], path: str, index: int, shown: str
) -> str:
    """Apply hunk `index` of `path` as it was `shown`; a conflict writes nothing."""
    copies = _copies(session, session_labels)
    directory, rel = _split(copies, path)
    copy = copies[directory]
    d = compare(directory, copy, base_of(copy), None, [rel])
    change = next((c for c in d.changes if c.path == rel), None)
    if change is None or change.copy is None or change.state == "refused":
        raise ClaudexError(f"{path}: no hunk of the session's to apply")
    old, new = _base_text(d, change), _read_text(copy, rel)
    if old is None or new is None:
        raise ClaudexError(f"{path}: not a small text file on both sides: apply the whole file")
    found = hunks(_lines(old), _lines(new))
    if index >= len(found) or found[index].text != shown:
        raise ClaudexError(f"{path} changed in the session since it was shown", "look again")
    now = _read_text(directory, rel)
    if now is None:
        raise ClaudexError(f"{path} in your directory is not a small text file: not applied")
    result, clean = merge(now, old, with_hunk(_lines(old), _lines(new), found[index]))
    if not clean:
        raise ClaudexError("the hunk conflicts with your changes: nothing was written", result)
    copy_node = Node("file", mode=0o644)
    now_node = _now_node(directory, rel)
    with tempfile.TemporaryDirectory(prefix="hunk-", dir=session_folder(session)) as tmp:
        staged = os.path.join(tmp, "staged")
        with open(staged, "wb") as fh:
            fh.write(result.encode("utf-8", errors="surrogateescape"))
        if now_node is not None:
            copy_node = Node("file", mode=now_node.mode)
        change = Change(rel, "modified", "apply", copy=copy_node, staged=staged)
        try:
            _put(directory, change, now_node)
        except OSError as exc:
            raise ClaudexError(f"cannot write {path}: {exc.strerror or exc}") from None
    return f"applied a hunk of {os.path.basename(path)}"


def _now_node(directory: str, rel: str) -> Node | None:
    try:
        with _parent(directory, rel) as (fd, name):
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ClaudexError(f"cannot read {rel} in your directory: {exc.strerror}") from None
    return Node("file", st.st_size, st.st_mode & 0o7777)
