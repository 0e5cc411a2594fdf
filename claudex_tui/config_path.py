"""Where the config file lives (no pydantic here: commands that only list stay fast)."""

from __future__ import annotations

import os
from pathlib import Path


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "claudex" / "config.toml"
