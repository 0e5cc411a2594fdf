"""Isolated sessions of the same directories, kept together in the session list (one group
per directory set, at the place of its first session) under a header line."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence

from rich.text import Text

from container.labels import ISOLATED, SessionInfo


def isolated_dirs(session: SessionInfo) -> tuple[str, ...] | None:
    """The user directories an isolated session has copies of (None: not isolated)."""
    try:
        data = json.loads(session.labels.get(ISOLATED) or "{}")
    except ValueError:
        return None
    if not isinstance(data, dict) or not data:
        return None
    return tuple(sorted(str(k) for k in data))


def grouped(keys: Sequence[str], session_of: Callable[[str], SessionInfo]) -> list[list[str]]:
    """`keys` in runs: each isolated directory set's sessions together (at the place of the
    first), every other session a run of its own."""
    runs: list[list[str]] = []
    by_dirs: dict[tuple[str, ...], list[str]] = {}
    for key in keys:
        dirs = isolated_dirs(session_of(key))
        if dirs is None:
            runs.append([key])
        elif dirs in by_dirs:
            by_dirs[dirs].append(key)
        else:
            by_dirs[dirs] = [key]
            runs.append(by_dirs[dirs])
    return runs


def group_id(dirs: tuple[str, ...]) -> str:
    """The header's option id (never a session's: ':' is not in container names)."""
    return "isolated:" + hashlib.sha256("\n".join(dirs).encode()).hexdigest()[:16]


def render_group_header(dirs: tuple[str, ...], count: int, width: int = 0) -> Text:
    text = Text()
    text.append("▾ ", style="dim")
    names = ", ".join(os.path.basename(d.rstrip("/")) or d for d in dirs)
    text.append(f"isolated copies of {names}", style="bold")
    text.append(f" · {count} sessions", style="dim")
    if width > 0:
        text.truncate(width, overflow="ellipsis")
    return text
