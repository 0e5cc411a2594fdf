"""Every test runs with its own config and state folders, and a name prefix of its own."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from container import labels
from container.engine import connect
from container.image import DEFAULT_IMAGE, build_image, up_to_date

# One second dockerd per run for every test that asks for it, in any folder: registered here
# only (a test module importing the fixture gets a dockerd and a 3.4 GB image load of its own).
from tests.integration.second_engine import second_engine  # noqa: F401

TEST_PREFIX = "claudextest"
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("xdg")
    saved = {
        k: os.environ.get(k)
        for k in (
            "XDG_CONFIG_HOME",
            "XDG_STATE_HOME",
            "XDG_DATA_HOME",
            "CLAUDEX_NAME_PREFIX",
            "CLAUDEX_NAME_SALT",
        )
    }
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    os.environ["XDG_STATE_HOME"] = str(root / "state")
    os.environ["XDG_DATA_HOME"] = str(root / "data")  # isolated sessions' copies
    os.environ["CLAUDEX_NAME_PREFIX"] = TEST_PREFIX
    os.environ.pop("CLAUDEX_NAME_SALT", None)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    """The real engine; unreachable is a failure here, never a skip."""
    return connect()


@pytest.fixture(scope="session")
def image(engine: docker.DockerClient) -> str:
    ca = [HOST_CA] if os.path.exists(HOST_CA) else []
    if not up_to_date(engine, DEFAULT_IMAGE, ca):
        build_image(engine, DEFAULT_IMAGE, ca_files=ca)
    return DEFAULT_IMAGE


def _remove_test_containers(engine: docker.DockerClient, base: Path, since: float) -> None:
    """This run's sessions only: two runs may share an engine. A session is this run's when it
    mounts a directory under this run's base temp folder, or mounts none under any pytest
    folder and was created after this run started."""
    root = str(base)
    for c in engine.api.containers(all=True, filters={"label": [labels.SIGNATURE]}):
        if not any(n.lstrip("/").startswith(TEST_PREFIX) for n in c["Names"]):
            continue
        mounts = (c.get("Labels") or {}).get(labels.MOUNTS, "")
        mine = root in mounts or ("/pytest-" not in mounts and c.get("Created", 0) >= since)
        if mine:
            with contextlib.suppress(Exception):
                engine.api.remove_container(c["Id"], force=True, v=True)


@pytest.fixture(scope="session", autouse=True)
def _cleanup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    since = int(time.time()) - 1
    base = tmp_path_factory.getbasetemp()
    yield
    with contextlib.suppress(Exception):
        _remove_test_containers(connect(), base, since)
