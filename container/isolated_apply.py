"""`claudex apply`: an isolated session's changes, brought into the user's directory.

Three trees: the BASE (the user's files as they were copied; host side, never mounted:
trusted), the session's COPY (agent-written: hostile) and the user's directory as it is NOW.
A path the session changed (COPY differs from BASE) is applied when NOW is still the BASE, is
already there when NOW equals the COPY, and is otherwise a conflict; one conflict and nothing
at all is written.

The copy is read as plain data, never with git: every path is opened component by component
from the copy's root with O_NOFOLLOW, so no symbolic link is followed (the agent may swap any
file for one at any moment), only regular files are read, and what is applied is the snapshot
staged (host side) while comparing, not the copy as it is later. A link is applied as a link
when it leads to a place inside the directory; special files, links leading out, and anything
named `.git` (at any depth: hooks and config the user's git would run) are never applied.
The user's directory is written the same way: no link followed, a temporary file renamed over.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field

from container.errors import ClaudexError
from container.isolated_base import DirBase, GitBase, ignored_filter, open_base
from container.isolated_tree import (
    CHUNK,
    SHOW_LIMIT,
    Node,
    Tree,
    _chunks,
    _open_file,
    _own_like,
    _parent,
    _same_bytes,
    _same_staged,
    _text_copy,
    scan,
)
from container.sizes import human_bytes


@dataclass
class Change:
    """One path the session changed, and what applying it means now."""

    path: str
    what: str  # added | modified | deleted
    state: str  # apply | there (already in the directory) | conflict | refused
    reason: str = ""
    copy: Node | None = None
    staged: str | None = None  # the copy's bytes, staged host side (files)


@dataclass
class DirChanges:
    """The session's changes to one of the user's directories."""

    directory: str
    copy: str
    base: str
    changes: list[Change] = field(default_factory=list)
    source: DirBase | GitBase | None = None  # the base, read (container.isolated_base)

    def by_state(self, state: str) -> list[Change]:
        return [c for c in self.changes if c.state == state]


# -- comparing ------------------------------------------------------------------------------


def _link_problem(rel: str, target: str) -> str | None:
    if not target or posixpath.isabs(target):
        return f"a symbolic link to {target!r}, outside the directory: not applied"
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    if joined == ".." or joined.startswith("../"):
        return f"a symbolic link to {target!r}, outside the directory: not applied"
    return None


class _Stager:
    """The copy's changed files, copied host side as the snapshot that is applied."""

    def __init__(self, folder: str, free: int) -> None:
        self.folder = folder
        self.free = free
        self.used = 0
        self.count = 0

    def stage(self, copy: str, rel: str) -> str:
        self.count += 1
        path = os.path.join(self.folder, str(self.count))
        with _open_file(copy, rel) as (src, size), open(path, "wb") as out:
            self.used += size
            if self.used > self.free:
                raise ClaudexError(
                    f"the session's changed files need more than {human_bytes(self.free)}, "
                    "the space free to stage them",
                    f"{rel} alone is {human_bytes(size)}; free some space",
                )
            for data in _chunks(src, size):
                out.write(data)
        return path


def _base(d: DirChanges) -> DirBase | GitBase:
    if d.source is None:
        d.source = open_base(d.base)
    return d.source


def _equal_to_base(d: DirChanges, rel: str, now: Node | None, base: Node | None) -> bool:
    """Is the user's entry still what the base holds?"""
    if now is None or base is None:
        return now is None and base is None
    if now.kind != base.kind:
        return False
    if now.kind == "link":
        return now.target == base.target
    if now.kind == "file":
        return (
            base.size in (-1, now.size)
            and now.executable == base.executable
            and _base(d).same(rel, d.directory)
        )
    return now.kind == "dir"


def _equal_to_copy(d: DirChanges, rel: str, now: Node | None, change: Change) -> bool:
    """Is the user's entry already what the session made?"""
    copy = change.copy
    if now is None or copy is None:
        return now is None and copy is None
    if now.kind != copy.kind:
        return False
    if now.kind == "link":
        return now.target == copy.target
    if now.kind == "file":
        if now.executable != copy.executable:
            return False
        if change.staged is None:  # only counting: the copy is compared where it is
            return now.size == copy.size and _same_bytes(d.directory, rel, d.copy, rel)
        return _same_staged(d.directory, rel, change.staged)
    return now.kind == "dir"


def _selected(rel: str, only: Sequence[str]) -> bool:
    return not only or any(p in ("", ".") or rel == p or rel.startswith(p + "/") for p in only)


def compare(
    directory: str, copy: str, base: str, staging: str | None, only: Sequence[str] = ()
) -> DirChanges:
    """What the session changed in `directory` (relative paths `only`, when given) and what
    applying each change would mean now. Changed files are staged under `staging` (None:
    only looked at, for counting; such changes cannot be written)."""
    d = DirChanges(directory, copy, base)
    base_tree, copy_tree, now_tree = _base(d).tree(), scan(copy), scan(directory)
    stamps = _base(d).stamps()
    ignored = ignored_filter(base)
    stager = None
    if staging is not None:
        st = os.statvfs(staging)
        stager = _Stager(staging, st.f_bavail * st.f_frsize)
    refused: list[str] = []
    for rel in sorted(set(base_tree) | set(copy_tree)):
        if not _selected(rel, only) or ignored(rel):
            continue
        if any(rel.startswith(r + "/") for r in refused):
            continue
        b, c = base_tree.get(rel), copy_tree.get(rel)
        if (
            c is not None
            and c.kind == "file"
            and stamps.get(rel) == c.stamp
            and b is not None
            and b.kind in ("file", "stale")
        ):
            continue  # not written since the copy was made from the base (its ctime says so)
        change = _changed(d, rel, b, c, stager)
        if change is None:
            continue
        if change.state == "refused":
            refused.append(rel)
        else:
            now = now_tree.get(rel)
            if _equal_to_base(d, rel, now, b):
                change.state = "apply"
            elif _equal_to_copy(d, rel, now, change):
                change.state = "there"
            else:
                change.state = "conflict"
                change.reason = "changed in your directory too since the session started"
        d.changes.append(change)
    _check_parents(d, now_tree)
    return d


def _changed(
    d: DirChanges, rel: str, b: Node | None, c: Node | None, stager: _Stager | None
) -> Change | None:
    """The session's change to `rel`, if any (state "refused" when it is never applied)."""
    what = "added" if b is None else ("deleted" if c is None else "modified")
    if c is None:
        return Change(rel, what, "", copy=None)
    if c.kind == "other":
        return Change(rel, what, "refused", "a special file (pipe, socket, device): not applied")
    if c.kind == "unreadable" or (b is not None and b.kind == "unreadable"):
        return Change(rel, what, "refused", "cannot be read: not applied")
    if b is not None and (b.kind == "dir") != (c.kind == "dir"):
        return Change(rel, what, "refused", "a folder made a file or the other way: apply by hand")
    if c.kind == "link":
        problem = _link_problem(rel, c.target)
        if problem:
            return Change(rel, what, "refused", problem)
        if b is not None and b.kind == "link" and b.target == c.target:
            return None
        return Change(rel, what, "", copy=c)
    if c.kind == "dir":
        return None if b is not None else Change(rel, what, "", copy=c)
    if (
        b is not None
        and b.kind == "file"
        and b.size in (-1, c.size)
        and b.executable == c.executable
        and _base(d).same(rel, d.copy)
    ):
        return None
    if stager is None:
        return Change(rel, what, "", copy=c)
    try:
        staged = stager.stage(d.copy, rel)
    except OSError as exc:
        return Change(rel, what, "refused", f"cannot be read: {exc.strerror}")
    except ClaudexError as exc:
        if "not a regular file" in exc.message:  # swapped for something else meanwhile
            return Change(rel, what, "refused", "not a regular file any more: not applied")
        raise
    return Change(rel, what, "", copy=c, staged=staged)


def _check_parents(d: DirChanges, now: Tree) -> None:
    """A change to apply whose folder in the user's directory is a link or a file cannot be
    written without following it: a conflict, found before anything is written."""
    for change in d.changes:
        if change.state != "apply":
            continue
        parts = change.path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            node = now.get(prefix)
            if node is not None and node.kind != "dir":
                change.state = "conflict"
                change.reason = f"{prefix} in your directory is not a folder ({node.kind})"
                break


def differing(directory: str, copy: str, base: str) -> int:
    """How many paths the session changed that are not in `directory` as they are there
    (what `claudex apply` would write, trips on, or refuses)."""
    found = compare(directory, copy, base, None)
    return sum(1 for c in found.changes if c.state != "there")


def session_differing(session: str, session_labels: dict[str, str]) -> int | None:
    """`differing` over an isolated session's directories; None when it is not isolated or
    its copies are not on this host."""
    from container.isolated import base_of, check_copy_path, copies_of

    copies = copies_of(session_labels)
    if not copies:
        return None
    total = 0
    for directory, copy in copies.items():
        try:
            check_copy_path(session, copy)
            total += differing(directory, copy, base_of(copy))
        except (OSError, ClaudexError):
            return None
    return total


# -- showing a conflict ---------------------------------------------------------------------


def three_way(d: DirChanges, change: Change) -> str:
    """The conflict as `git merge-file --diff3` shows it (run on temporary copies only)."""
    if change.copy is None:
        return "deleted by the session, changed in your directory"
    if change.staged is None:
        return "changed by the session and in your directory (not a text file)"
    with tempfile.TemporaryDirectory(prefix="claudex-conflict-") as tmp:
        yours, base, theirs = (os.path.join(tmp, n) for n in ("yours", "base", "session"))
        if not _text_copy(d.directory, change.path, yours):
            return "changed by the session; in your directory it is gone, large or binary"
        if not _base(d).text(change.path, base):
            open(base, "wb").close()  # added on both sides
        shutil.copyfile(change.staged, theirs)
        with open(theirs, "rb") as fh:
            if b"\0" in fh.read(8192) or os.path.getsize(theirs) > SHOW_LIMIT:
                return "changed by the session and in your directory (large or binary)"
        env = {"PATH": os.environ.get("PATH", ""), "GIT_CONFIG_NOSYSTEM": "1"}
        env["GIT_CONFIG_GLOBAL"] = os.devnull
        env["HOME"] = tmp
        labels = ["-L", "your directory", "-L", "when the session started", "-L", "session"]
        try:
            proc = subprocess.run(
                ["git", "merge-file", "-p", "--diff3", *labels, yours, base, theirs],
                cwd=tmp,
                env=env,
                capture_output=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"(cannot show it: {exc})"
        return proc.stdout.decode(errors="replace")


# -- writing --------------------------------------------------------------------------------


def _mode(change: Change, now: Node | None) -> int:
    """Permissions of a written file: the user's (or 0644) with the copy's executable bit;
    never set-id bits, never writable by others than the user's group."""
    mode = (now.mode & 0o777) if now is not None and now.kind == "file" else 0o644
    mode &= ~0o002
    if change.copy is not None and change.copy.executable:
        return mode | ((mode & 0o444) >> 2)
    return mode & ~0o111


def write(changes: Sequence[DirChanges]) -> int:
    """Apply every change in state "apply" (the caller checked there is no conflict).
    Returns how many paths were written."""
    needed = sum(
        os.path.getsize(c.staged) for d in changes for c in d.by_state("apply") if c.staged
    )
    for d in changes:
        st = os.statvfs(d.directory)
        if needed > st.f_bavail * st.f_frsize:
            raise ClaudexError(
                f"the changes need {human_bytes(needed)}, {d.directory} has "
                f"{human_bytes(st.f_bavail * st.f_frsize)} free",
                "free some space, then apply again (nothing was written)",
            )
    written = 0
    for d in changes:
        todo = d.by_state("apply")
        now = scan(d.directory)
        steps = [c for c in sorted(todo, key=_depth) if c.copy is not None and c.copy.kind == "dir"]
        steps += [c for c in todo if c.copy is not None and c.copy.kind in ("file", "link")]
        steps += [c for c in sorted(todo, key=_depth, reverse=True) if c.copy is None]
        for c in steps:
            try:
                _write_one(d.directory, c, now.get(c.path))
            except OSError as exc:
                raise ClaudexError(
                    f"applying stopped at {os.path.join(d.directory, c.path)}: "
                    f"{exc.strerror or exc}",
                    f"{written} change(s) were written before it; "
                    "`claudex apply --check` shows what is left",
                ) from None
            written += 1
    return written


def _depth(change: Change) -> int:
    return change.path.count("/")


def _write_one(directory: str, change: Change, now: Node | None) -> None:
    """One change: a folder made, a file or link put in place, or a path removed."""
    if change.copy is None:
        try:
            with _parent(directory, change.path) as (fd, name):
                if _is_dir(fd, name):
                    with suppress(OSError):  # kept when the user added files there
                        os.rmdir(name, dir_fd=fd)
                else:
                    os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass  # gone already
        return
    if change.copy.kind == "dir":
        with _parent(directory, change.path, create=True) as (fd, name):
            if not _is_dir(fd, name):
                os.mkdir(name, 0o755, dir_fd=fd)
                _own_like(fd, name, fd)
        return
    _put(directory, change, now)


def _is_dir(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _put(directory: str, change: Change, now: Node | None) -> None:
    """Write one file or link: a temporary beside it, renamed over (never through a link)."""
    copy = change.copy
    assert copy is not None
    with _parent(directory, change.path, create=True) as (fd, name):
        tmp = f".claudex-apply-{os.getpid()}-{name}"[:200]
        try:
            if copy.kind == "link":
                os.symlink(copy.target, tmp, dir_fd=fd)
            else:
                assert change.staged is not None
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                out = os.open(tmp, flags, 0o600, dir_fd=fd)
                with os.fdopen(out, "wb") as fh, open(change.staged, "rb") as src:
                    shutil.copyfileobj(src, fh, CHUNK)
                    os.fchmod(fh.fileno(), _mode(change, now))
            if now is not None and os.geteuid() == 0:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                os.chown(tmp, st.st_uid, st.st_gid, dir_fd=fd, follow_symlinks=False)
            else:
                _own_like(fd, tmp, fd)
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=fd)
            raise
