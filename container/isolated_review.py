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

import os
import subprocess
import tempfile

from container.errors import ClaudexError
from container.isolated import base_of, check_copy_path, copies_of, session_folder
from container.isolated_apply import Change, DirChanges, _base, _put, compare, three_way, write
from container.isolated_model import FileReview, hunks, with_hunk
from container.isolated_tree import SHOW_LIMIT, Node, _chunks, _open_file, _parent
from container.tracking_model import ChangedFile

MAX_REVIEW = 2000  # files listed: the agent decides how many change


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


def _sides(d: DirChanges, change: Change) -> tuple[str, str, str] | None:
    """The base's, the copy's and the user's text of a changed file (None: not small text)."""
    old, new = _base_text(d, change), _read_text(d.copy, change.path)
    now = _read_text(d.directory, change.path)
    return None if old is None or new is None or now is None else (old, new, now)


def _target(d: DirChanges, change: Change) -> tuple[str, str, bool] | None:
    """(the user's text now, what applying the session's change makes of it, whether that
    merged cleanly): the hunks shown are now -> target, so the user's own edits elsewhere are
    kept and a hunk already applied is not offered again."""
    sides = _sides(d, change)
    if sides is None:
        return None
    old, new, now = sides
    merged, clean = merge(now, old, new)
    return now, merged, clean


def _one(session: str, session_labels: dict[str, str], path: str) -> tuple[DirChanges, Change]:
    copies = _copies(session, session_labels)
    directory, rel = _split(copies, path)
    copy = copies[directory]
    d = compare(directory, copy, base_of(copy), None, [rel])
    change = next((c for c in d.changes if c.path == rel), None)
    if change is None:
        raise ClaudexError(f"{path}: the session's copy holds nothing else (applied already?)")
    return d, change


def review_file(session: str, session_labels: dict[str, str], path: str) -> FileReview:
    try:
        d, change = _one(session, session_labels, path)
    except ClaudexError as exc:
        if "holds nothing else" not in exc.message:
            raise
        return FileReview(path, "there", "", [], "(already in your directory)")
    if change.state == "refused":
        return FileReview(path, "refused", change.reason, [], f"not applied: {change.reason}")
    if change.copy is not None and change.copy.kind == "file":
        target = _target(d, change)
        if target is not None:
            now, merged, clean = target
            if not clean:
                reason = "changed in your directory too, on the same lines"
                return FileReview(path, "conflict", reason, [], merged)
            found = hunks(_lines(now), _lines(merged))
            return FileReview(path, "apply", "", found, "".join(h.text for h in found))
    if change.state == "conflict":
        with tempfile.TemporaryDirectory(prefix="stage-", dir=session_folder(session)) as tmp:
            d = compare(d.directory, d.copy, d.base, tmp, [change.path])
            change = next((c for c in d.changes if c.path == change.path), change)
            shown = three_way(d, change)
        return FileReview(path, "conflict", change.reason, [], shown)
    if change.copy is None:
        return FileReview(path, change.state, "", [], "(deleted by the session)")
    if change.copy.kind != "file":
        return FileReview(path, change.state, "", [], f"(a {change.copy.kind}: applied whole)")
    return FileReview(path, change.state, "", [], "(binary or large: applied whole)")


def apply_file(session: str, session_labels: dict[str, str], path: str) -> str:
    """Apply one file (or folder). A text file the user changed elsewhere gets the session's
    change merged in; a conflict raises with the three-way view, writing nothing."""
    try:
        d, change = _one(session, session_labels, path)
    except ClaudexError:
        return _apply(session, session_labels, path)  # a folder, or nothing: said there
    if change.state == "conflict" and change.copy is not None and change.copy.kind == "file":
        target = _target(d, change)
        if target is not None:
            _now, merged, clean = target
            if not clean:
                raise ClaudexError("a conflict, nothing was written: " + path, merged)
            _write_text(session, d.directory, change, merged)
            return f"applied {os.path.basename(path)}, merged with your changes"
    return _apply(session, session_labels, path)


def apply_all(session: str, session_labels: dict[str, str]) -> str:
    return _apply(session, session_labels, None)


def merge_conflicts(d: DirChanges) -> None:
    """The conflicts that are only so by file: a small text file the user changed on other
    lines than the session gets the session's change merged in (state "apply", the merged
    text staged beside the copy's), as the Changes tab's `a` does; overlapping changes, a
    file the user removed, binaries stay conflicts. Needs `compare` with staging."""
    for c in d.by_state("conflict"):
        if c.copy is None or c.copy.kind != "file" or c.staged is None:
            continue
        if _now_node(d.directory, c.path) is None:
            continue  # removed by the user: not merged into nothing
        old, now = _base_text(d, c), _read_text(d.directory, c.path)
        with open(c.staged, "rb") as fh:
            data = fh.read(SHOW_LIMIT + 1)
        new = _as_text(data) if len(data) <= SHOW_LIMIT else None
        if old is None or now is None or new is None:
            continue
        merged, clean = merge(now, old, new)
        if not clean:
            continue
        with open(c.staged + ".merged", "wb") as out:
            out.write(merged.encode("utf-8", errors="surrogateescape"))
        c.staged, c.state = c.staged + ".merged", "apply"
        c.reason = "merged with your changes on other lines"


def _apply(session: str, session_labels: dict[str, str], path: str | None) -> str:
    copies = _copies(session, session_labels)
    chosen = dict([_split(copies, path)]) if path else {}
    dirs = [d for d in sorted(copies) if not chosen or d in chosen]
    with tempfile.TemporaryDirectory(prefix="apply-", dir=session_folder(session)) as staging:
        results = [
            compare(d, copies[d], base_of(copies[d]), staging, [chosen[d]] if chosen else [])
            for d in dirs
        ]
        for d in results:
            merge_conflicts(d)
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
    """Apply hunk `index` of `path` as it was `shown` (user's text now -> merged target); what
    either side changed since it was shown makes it refused, nothing written."""
    d, change = _one(session, session_labels, path)
    if change.copy is None or change.copy.kind != "file" or change.state == "refused":
        raise ClaudexError(f"{path}: not a text file the session changed: apply the whole file")
    target = _target(d, change)
    if target is None:
        raise ClaudexError(f"{path}: not a small text file on every side: apply the whole file")
    now, merged, clean = target
    if not clean:
        raise ClaudexError("a conflict, nothing was written: " + path, merged)
    found = hunks(_lines(now), _lines(merged))
    if index >= len(found) or found[index].text != shown:
        raise ClaudexError(f"{path} changed since it was shown: nothing was written", "look again")
    _write_text(session, d.directory, change, with_hunk(_lines(now), _lines(merged), found[index]))
    return f"applied a hunk of {os.path.basename(path)}"


def _write_text(session: str, directory: str, change: Change, text: str) -> None:
    """`text` put in place of the user's file (never through a link; its mode kept)."""
    now_node = _now_node(directory, change.path)
    mode = now_node.mode if now_node is not None else (change.copy.mode if change.copy else 0o644)
    with tempfile.TemporaryDirectory(prefix="hunk-", dir=session_folder(session)) as tmp:
        staged = os.path.join(tmp, "staged")
        with open(staged, "wb") as fh:
            fh.write(text.encode("utf-8", errors="surrogateescape"))
        put = Change(change.path, "modified", "apply", copy=Node("file", mode=mode), staged=staged)
        try:
            _put(directory, put, now_node)
        except OSError as exc:
            where = os.path.join(directory, change.path)
            raise ClaudexError(f"cannot write {where}: {exc.strerror or exc}") from None


def _now_node(directory: str, rel: str) -> Node | None:
    try:
        with _parent(directory, rel) as (fd, name):
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ClaudexError(f"cannot read {rel} in your directory: {exc.strerror}") from None
    return Node("file", st.st_size, st.st_mode & 0o7777)
