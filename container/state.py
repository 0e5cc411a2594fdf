"""Where claudex keeps state on the host: $XDG_STATE_HOME/claudex (audit bundles, logs)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local/state")
    path = Path(base) / "claudex"
    path.mkdir(parents=True, exist_ok=True)
    return path


def empty_file() -> str:
    """A read-only empty file, mounted over `.env` files to hide them from the agent."""
    path = state_dir() / "empty"
    if not path.exists():
        path.touch()
    os.chmod(path, 0o444)
    return str(path)
