"""Reading the trees of an isolated session (the user's directory, the session's copy, a
plain base) without following any link: every path is opened component by component from the
tree's root with O_NOFOLLOW, and only regular files are read. Used by `claudex apply`
(container.isolated_apply) and the bases (container.isolated_base)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from container.errors import ClaudexError

MAX_ENTRIES = 2_000_000  # paths in one tree: a copy with more is refused, not walked forever
MAX_DEPTH = 256
SHOW_LIMIT = 1 << 20  # bytes of a file shown three-way
CHUNK = 1 << 16
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class Node:
    """One entry of a tree, as lstat saw it."""

    kind: str  # file | link | dir | other (pipe, socket, device) | unreadable | stale (a base)
    size: int = 0  # -1: not known (a base's file: its bytes are compared)
    mode: int = 0
    target: str = ""  # a link's
    stamp: tuple[int, int, int, int] = (0, 0, 0, 0)  # inode, size, mtime, ctime (ns)

    @property
    def executable(self) -> bool:
        return bool(self.mode & 0o100)


Tree = dict[str, Node]  # path relative to the tree's root ("a/b") -> entry

# -- reading trees without following links --------------------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


def _hidden(name: str) -> bool:
    return name.casefold() == ".git"


def scan(root: str) -> Tree:
    """Every entry under `root` but `.git` (at any depth), no link followed."""
    tree: Tree = {}
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _visit(root_fd, "", 0, tree)
    finally:
        os.close(root_fd)
    return tree


def _visit(dir_fd: int, prefix: str, depth: int, tree: Tree) -> None:
    if depth > MAX_DEPTH:
        raise ClaudexError(f"{prefix} is nested more than {MAX_DEPTH} folders deep: not applied")
    found = []
    with os.scandir(dir_fd) as entries:
        for e in entries:
            if _hidden(e.name):
                continue
            try:
                found.append((e.name, e.stat(follow_symlinks=False)))
            except OSError:
                continue  # removed meanwhile
    for name, st in found:
        rel = prefix + name
        kind = _kind(st.st_mode)
        target = ""
        if kind == "link":
            try:
                target = os.readlink(name, dir_fd=dir_fd)
            except OSError:
                kind = "unreadable"
        size = st.st_size if kind == "file" else 0
        stamp = (st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns)
        tree[rel] = Node(kind, size, st.st_mode & 0o7777, target, stamp)
        if len(tree) > MAX_ENTRIES:
            raise ClaudexError(f"more than {MAX_ENTRIES} files: not compared")
        if kind == "dir":
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                # Unreadable, or swapped for something else meanwhile: what it holds is not
                # known, so nothing in it may pass for deleted.
                tree[rel] = replace(tree[rel], kind="unreadable")
                continue
            try:
                _visit(child, rel + "/", depth + 1, tree)
            except PermissionError:
                for inner in [k for k in tree if k.startswith(rel + "/")]:
                    del tree[inner]
                tree[rel] = replace(tree[rel], kind="unreadable")
            finally:
                os.close(child)


@contextmanager
def _parent(root: str, rel: str, create: bool = False) -> Iterator[tuple[int, str]]:
    """The folder holding `rel` (opened from `root` one component at a time, never through
    a link; made when missing and `create`), and the last component's name."""
    parts = rel.split("/")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                _own_like(fd, part, fd)
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        yield fd, parts[-1]
    finally:
        os.close(fd)


@contextmanager
def _open_file(root: str, rel: str) -> Iterator[tuple[int, int]]:
    """A regular file under `root` (never through a link; never a pipe or device), and the
    size it had when opened."""
    with _parent(root, rel) as (dir_fd, name):
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ClaudexError(f"{rel} is not a regular file")
        os.set_blocking(fd, True)
        yield fd, st.st_size
    finally:
        os.close(fd)


def _chunks(fd: int, size: int) -> Iterator[bytes]:
    """At most `size` bytes (a file growing while read is cut where it was)."""
    left = size
    while left > 0:
        data = os.read(fd, min(CHUNK, left))
        if not data:
            return
        left -= len(data)
        yield data


def _same_bytes(root_a: str, rel_a: str, root_b: str, rel_b: str) -> bool:
    try:
        with _open_file(root_a, rel_a) as (fa, sa), _open_file(root_b, rel_b) as (fb, sb):
            if sa != sb:
                return False
            return all(a == os.read(fb, len(a)) for a in _chunks(fa, sa))
    except (OSError, ClaudexError):
        return False


def _same_staged(root: str, rel: str, staged: str) -> bool:
    try:
        with _open_file(root, rel) as (fa, sa), open(staged, "rb") as fb:
            if sa != os.fstat(fb.fileno()).st_size:
                return False
            return all(a == fb.read(len(a)) for a in _chunks(fa, sa))
    except (OSError, ClaudexError):
        return False


def _text_copy(root: str, rel: str, dest: str) -> bool:
    """Copy a small text file out for showing; False when it is missing, large or binary."""
    try:
        with _open_file(root, rel) as (fd, size):
            if size > SHOW_LIMIT:
                return False
            data = b"".join(_chunks(fd, size))
    except (OSError, ClaudexError):
        return False
    if b"\0" in data[:8192]:
        return False
    with open(dest, "wb") as fh:
        fh.write(data)
    return True


def _own_like(ref_dir_fd: int, name: str, dir_fd: int) -> None:
    """As root (tests, or a root user), what is written belongs to the folder's owner."""
    if os.geteuid() != 0:
        return
    st = os.fstat(ref_dir_fd)
    os.chown(name, st.st_uid, st.st_gid, dir_fd=dir_fd, follow_symlinks=False)
