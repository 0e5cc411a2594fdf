"""Attack tests: each plays the hostile agent on the real engine and image, then checks what a
user cares about. The agent is uid 4242 (owner of the `project` fixture), no sudo, no socket.
"""

from __future__ import annotations

import docker
import pytest

from tests.integration.conftest import CLI, Result, cli, exec_in, project  # noqa: F401
from tests.waiting import wait_for

AGENT = "4242"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/security" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def as_agent(engine: docker.DockerClient, name: str, cmd: str) -> tuple[int, str]:
    """`bash -c CMD` in the session as the agent user (what the agent's own shell can do)."""
    return exec_in(engine, name, cmd, user=AGENT)


def as_root(engine: docker.DockerClient, name: str, cmd: str) -> tuple[int, str]:
    """For checking results only: what claudex itself sees as root in the container."""
    return exec_in(engine, name, cmd, user="root")


__all__ = ["AGENT", "CLI", "Result", "as_agent", "as_root", "wait_for"]
