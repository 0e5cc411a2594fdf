"""Attack tests: each plays the hostile agent on the real engine and image, then checks what a
user cares about. The agent is uid 4242 (owner of the `project` fixture), no sudo, no socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


def remove_prefixed(engine: docker.DockerClient, prefix: str) -> None:
    """Containers named PREFIX-*: a test's own, made outside the CLI's session names."""
    for c in engine.containers.list(all=True, filters={"name": f"^/{prefix}-"}):
        c.remove(force=True, v=True)


@contextmanager
def blocked_server(
    engine: docker.DockerClient, image: str, prefix: str, port: int = 8000
) -> Iterator[tuple[str, docker.models.containers.Container]]:
    """A network named PREFIX with one HTTP server, `blocked.test`, listening on PORT: its IPv4
    address and container. Everything named PREFIX-* goes with it (sessions on the network
    too: a network in use cannot be removed)."""
    network = engine.networks.create(prefix, driver="bridge")
    try:
        server = engine.containers.create(
            image,
            entrypoint=["python3", "-m", "http.server", str(port)],
            name=f"{prefix}-blocked",
            user="nobody",
            detach=True,
        )
        network.connect(server, aliases=["blocked.test"])
        server.start()
        server.reload()
        address = server.attrs["NetworkSettings"]["Networks"][prefix]["IPAddress"]
        wait_for(
            "the server to listen",
            lambda: server.exec_run(["bash", "-c", f": </dev/tcp/127.0.0.1/{port}"]).exit_code == 0,
        )
        yield address, server
    finally:
        remove_prefixed(engine, prefix)
        network.remove()


__all__ = [
    "AGENT",
    "CLI",
    "Result",
    "as_agent",
    "as_root",
    "blocked_server",
    "remove_prefixed",
    "wait_for",
]
