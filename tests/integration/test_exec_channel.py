"""DockerExec against the real engine: a shell in a container, inside TerminalWidget."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import docker
import pytest
from textual.app import App, ComposeResult

from container.exec_channel import DockerExec
from tests.waiting import until
from widgets.terminal.channel import ChannelPump, TerminalChannel
from widgets.terminal.emulator import TerminalEmulator
from widgets.terminal.widget import TerminalWidget

pytestmark = pytest.mark.integration

IMAGE = "debian:bookworm-slim"


@pytest.fixture(scope="module")
def docker_client() -> docker.DockerClient:
    return docker.from_env()


@pytest.fixture(scope="module")
def test_image(docker_client: docker.DockerClient) -> str:
    """The image to run; present locally (never pulled: there may be no registry)."""
    docker_client.images.get(IMAGE)
    return IMAGE


@pytest.fixture
def container_id(docker_client: docker.DockerClient, test_image: str) -> Iterator[str]:
    container = docker_client.containers.run(
        test_image,
        ["sleep", "infinity"],
        detach=True,
        init=True,
        name=f"claudex-test-exec-{uuid.uuid4().hex[:8]}",
    )
    try:
        yield container.id
    finally:
        container.remove(force=True)


class ExecApp(App[None]):
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, factory: Callable[[], TerminalChannel]) -> None:
        super().__init__()
        self.factory = factory

    def compose(self) -> ComposeResult:
        yield TerminalWidget(self.factory, cursor_blink=False)

    def on_mount(self) -> None:
        self.query_one(TerminalWidget).focus()


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    try:
        await until(pilot, predicate, "the screen", timeout)
    except AssertionError as exc:
        text = pilot.app.query_one(TerminalWidget).screen_text
        raise AssertionError(f"{exc}; it was:\n{text}") from None


async def test_shell_in_container_types_and_resizes(
    docker_client: docker.DockerClient, container_id: str
) -> None:
    def factory() -> DockerExec:
        return DockerExec(
            docker_client,
            container_id,
            ["bash", "--norc", "-i"],
            user="nobody",
            environment={"PS1": "ctr$ "},
            workdir="/tmp",
        )

    app = ExecApp(factory)
    async with app.run_test(size=(120, 40)) as pilot:
        term = app.query_one(TerminalWidget)
        # The first prompt may be lost (docker-py#3332). Keys typed before the exec has started
        # are written once it has (the pump's writer waits for it).
        await pilot.press("enter")
        await wait_for(pilot, lambda: "ctr$" in term.screen_text)
        await pilot.press(
            *"echo",
            "space",
            *"hi-from-",
            "dollar_sign",
            *"(id",
            "space",
            "minus",
            *"un)",
            "space",
            "dollar_sign",
            *"PWD",
            "enter",
        )
        await wait_for(pilot, lambda: "hi-from-nobody /tmp" in term.screen_text)
        await pilot.press(*"tput", "space", *"cols", "enter")
        await wait_for(pilot, lambda: "\n120\n" in term.screen_text)
        await pilot.resize_terminal(90, 30)
        await wait_for(pilot, lambda: term.emulator.columns == 90)
        # The resize is queued before the keys below, and applied before they are written.
        await pilot.press("ctrl+l")
        await pilot.press(*"tput", "space", *"cols", "enter")
        await wait_for(pilot, lambda: "\n90\n" in term.screen_text)
        await pilot.press(*"exit", "space", "7", "enter")
        await wait_for(pilot, lambda: term.exited)
        assert term.exit_code == 7


def test_exec_channel_with_api_client_and_pump(
    docker_client: docker.DockerClient, container_id: str
) -> None:
    """The APIClient form, driven by the pump alone (no Textual app)."""
    output: list[bytes] = []
    ended: list[tuple[int | None, str | None]] = []
    channel = DockerExec(
        docker_client.api,
        container_id,
        ["sh", "-c", "stty size; printf 'caf\\303\\251\\n'; exit 4"],
    )
    pump = ChannelPump(channel, output.append, lambda code, err: ended.append((code, err)))
    pump.start(33, 77)
    pump.join(15)
    assert ended == [(4, None)]
    screen = TerminalEmulator(100, 10)
    screen.feed(b"".join(output))
    text = "\n".join(screen.display)
    assert "café" in text
