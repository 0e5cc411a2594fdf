"""Directories picked for new sessions lately, per engine, newest first: the picker shows them
first. Kept in $XDG_STATE_HOME/claudex/recent-dirs.json, bounded (KEEP per engine, ENGINES
engines); a missing, unreadable or mangled file is an empty history, never an error."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from container.state import state_dir

KEEP = 10
ENGINES = 8
FILE = "recent-dirs.json"
READ_LIMIT = 64 << 10  # far more than KEEP * ENGINES paths


def _path() -> Path:
    return state_dir() / FILE


def _load_all() -> dict[str, list[str]]:
    try:
        with open(_path(), "rb") as f:
            data = json.loads(f.read(READ_LIMIT + 1)[:READ_LIMIT])
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(engine): [d for d in dirs if isinstance(d, str) and d][:KEEP]
        for engine, dirs in list(data.items())[:ENGINES]
        if isinstance(dirs, list)
    }


def recent_dirs(engine: str = "default") -> list[str]:
    """The engine's recent directories, newest first."""
    return _load_all().get(engine, [])


def remember_dirs(engine: str, dirs: list[str]) -> None:
    """Put `dirs` first in the engine's history (written whole, then renamed into place)."""
    if not dirs:
        return
    data = _load_all()
    old = data.pop(engine, [])
    fresh = list(dict.fromkeys(dirs))
    data = {engine: (fresh + [d for d in old if d not in fresh])[:KEEP], **data}
    data = dict(list(data.items())[:ENGINES])
    path = _path()
    part = path.with_name(f".{FILE}.{os.getpid()}")
    try:
        part.write_text(json.dumps(data, indent=1))
        os.replace(part, path)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink()
