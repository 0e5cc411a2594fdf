"""Every test runs with its own config and state folders, and a name prefix of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_PREFIX = "claudextest"


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("xdg")
    saved = {
        k: os.environ.get(k)
        for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "CLAUDEX_NAME_PREFIX", "CLAUDEX_NAME_SALT")
    }
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    os.environ["XDG_STATE_HOME"] = str(root / "state")
    os.environ["CLAUDEX_NAME_PREFIX"] = TEST_PREFIX
    os.environ.pop("CLAUDEX_NAME_SALT", None)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
