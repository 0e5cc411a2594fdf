"""Paths on the engine's host as the mount picker shows and takes them: shortened for display,
typed (relative, `~`), completed with Tab, and `HostPath` for DirectoryTree. No Textual here.

Completion and `HostPath.is_dir` ask the host (blocking): the picker calls them from worker
threads.
"""

from __future__ import annotations

import os.path
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from container.errors import ClaudexError
from container.host_entries import HostFS
from container.local_fs import LOCAL


def short_path(path: str, width: int, home: str | None = None) -> str:
    """`path` with the home folder as `~`, cut from the left to `width` cells."""
    home = home if home is not None else str(Path.home())
    if home not in ("", "/") and (path == home or path.startswith(home + "/")):
        path = "~" + path[len(home) :]
    if width > 1 and len(path) > width:
        path = "…" + path[len(path) - width + 1 :]
    return path


def typed_path(text: str, base: str, home: str | None) -> str | None:
    """The absolute path `text` names, typed relative to `base` (`~` is `home`); None when
    it cannot be told (empty, or `~` where the home folder is not known)."""
    text = text.strip()
    if not text:
        return None
    if text == "~" or text.startswith("~/"):
        if not home:
            return None
        text = home + text[1:]
    full = posixpath.normpath(posixpath.join(base, text))
    return "/" + full.lstrip("/")  # normpath keeps a leading "//"


@dataclass(frozen=True)
class Completion:
    """What Tab made of a typed path: the new text and, when several fit, their names."""

    text: str
    candidates: tuple[str, ...] = ()
    problem: str | None = None


def complete_path(text: str, base: str, home: str | None, fs: HostFS) -> Completion:
    """Complete the last part of `text` with the directories in its folder (blocking: lists
    that folder). One match gets a trailing `/`; several complete to what they share."""
    full = typed_path(text or "./", base, home)
    if full is None:
        return Completion(text, problem="type an absolute path (the home folder is not known)")
    if text.endswith("/") or text in ("", "~", ".", ".."):
        folder, prefix = full, ""
    else:
        folder, prefix = posixpath.split(full)
    try:
        entries = fs.list_dir(folder)
    except ClaudexError as exc:
        return Completion(text, problem=exc.message)
    except OSError as exc:
        return Completion(text, problem=f"cannot list {folder}: {exc.strerror or exc}")
    names = sorted(
        e.name
        for e in entries
        if (e.kind == "dir" or e.target_is_dir)
        and (prefix.startswith(".") or not e.name.startswith("."))
    )
    matches = [n for n in names if n.startswith(prefix)]
    if not matches:
        where = _with_tilde(folder, home, text)
        problem = f"no directory in {where} starts with {prefix!r}" if prefix else None
        return Completion(text, problem=problem or f"{where} has no directories")
    shared = os.path.commonprefix(matches)  # noqa: RUF071 -- names, not paths
    done = posixpath.join(folder, shared) + ("/" if len(matches) == 1 else "")
    return Completion(_with_tilde(done, home, text), tuple(matches) if len(matches) > 1 else ())


def _with_tilde(path: str, home: str | None, typed: str) -> str:
    """`path` with the home folder as `~` again when the user typed it that way."""
    if home and typed.startswith("~") and (path == home or path.startswith(home.rstrip("/") + "/")):
        return "~" + path[len(home.rstrip("/")) :]
    return path


class HostPath(PurePosixPath):
    """A path on the engine's host. Whether it is a directory comes from the listing that
    found it (one exec lists a whole remote folder); otherwise the host is asked."""

    fs: HostFS = LOCAL
    listed_dir: bool | None = None

    def is_dir(self) -> bool:
        if self.listed_dir is None:
            found = self.fs.stat(str(self))
            self.listed_dir = found is not None and found.kind == "dir"
        return self.listed_dir

    def expanduser(self) -> HostPath:
        return self

    def resolve(self) -> HostPath:
        return self


def host_path_type(fs: HostFS) -> type[HostPath]:
    """HostPath bound to `fs`; paths derived from one (parent, children) keep the binding."""
    return type("BoundHostPath", (HostPath,), {"fs": fs})
