"""Attaching while a session starts, restarts or is killed, on the real engine: the attach
waits for the init's "ready" (tmux's "no sessions" never shows), says why it ended, and the
dashboard's terminal comes back by itself after a restart."""

from __future__ import annotations

import sys
from pathlib import Path

import docker

from claudex_tui.app import ClaudexApp, _dom_id
from claudex_tui.config import Config
from container.session_attach import AgentAttach
from container.sessions import Sessions
from tests.integration.conftest import CLI
from tests.integration.test_tmux import Pane, pane  # noqa: F401  (the fixture)
from tests.security.conftest import wait_for
from tests.waiting import until
from widgets.terminal.widget import TerminalWidget


def _screen(channel: AgentAttach, needle: str, timeout: float = 30) -> str:
    seen = b""

    def got() -> bool:
        nonlocal seen
        data = channel.read(0.2)
        seen += data or b""
        return needle.encode() in seen

    wait_for(f"{needle!r} on the attached terminal", got, timeout)
    return seen.decode(errors="replace")


def test_attach_right_after_a_start_waits_for_ready(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    """Attached the instant the container runs (what the dashboard did after `s`): the
    attach waits for the agent's tmux instead of failing with "no sessions"."""
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    engine.api.stop(name, timeout=1)
    sessions = Sessions(engine)
    engine.api.start(name)
    waited: list[bool] = []
    channel = AgentAttach(engine, sessions.get(name), on_wait=lambda: waited.append(True))
    try:
        channel.start(40, 120)
        text = _screen(channel, "agent@proj")
    finally:
        channel.close()
    assert waited == [True]  # it was not ready yet, and said so once
    assert "no sessions" not in text


def test_cli_attach_says_the_session_stopped_with_its_exit_code(
    pane: Pane,  # noqa: F811
    cli: CLI,
    project: Path,
    engine: docker.DockerClient,
) -> None:
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    pane.keys(f"{sys.executable} -m claudex_tui.cli attach {name}; echo rc=$?", "Enter")
    pane.wait_for("agent@proj:/workspace/proj$", timeout=60)
    engine.api.kill(name)
    screen = pane.wait_for("rc=", timeout=30)
    assert f"{name}: the session stopped (exit 137)" in screen, screen
    assert "rc=137" in screen
    assert "Traceback" not in screen


def test_cli_attach_right_after_a_start_reaches_the_agent(
    pane: Pane,  # noqa: F811
    cli: CLI,
    project: Path,
    engine: docker.DockerClient,
) -> None:
    """Started and attached at once: the agent's prompt, not tmux's "no sessions"."""
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    engine.api.stop(name, timeout=1)
    # Started and attached in one command line: the attach begins before the init is done.
    pane.keys(
        f"{sys.executable} -c 'import docker; docker.from_env().api.start(\"{name}\")' && "
        f"{sys.executable} -m claudex_tui.cli attach {name}",
        "Enter",
    )
    screen = pane.wait_for("agent@proj:/workspace/proj$", timeout=60)
    assert "no sessions" not in screen and "Traceback" not in screen


async def test_dashboard_terminal_comes_back_after_restart_and_stop_start(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    """`docker restart` under an open terminal: it attaches again by itself. Then `x` and `s`
    four times: each time the agent's prompt, never tmux's "no sessions"."""
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    app = ClaudexApp(config=Config(), client_factory=lambda: engine, select=name)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == name, "the session selected")
        app.action_open_terminal()

        def terminal() -> TerminalWidget | None:
            found = app.query(f"#{_dom_id(name)}")
            return found.first(TerminalWidget) if found else None

        def prompt() -> bool:
            term = terminal()
            return term is not None and not term.exited and "agent@proj" in term.screen_text

        await until(pilot, prompt, "the agent's prompt", timeout=60)
        shown = terminal()
        assert shown is not None
        await pilot.press(*"echo before-$((6*7))", "enter")
        await until(pilot, lambda: "before-42" in shown.screen_text, "the command's output")
        first = engine.api.inspect_container(name)["State"]["StartedAt"]
        engine.api.restart(name, timeout=0)

        def reattached() -> bool:
            now = engine.api.inspect_container(name)["State"]["StartedAt"]
            return now != first and prompt()

        await until(pilot, reattached, "the terminal attached again after the restart", 60)

        for _ in range(4):
            app.session_list.options.focus()
            await pilot.press("x")
            await until(pilot, lambda: app.sessions[name].state == "exited", "stopped", 60)
            await pilot.press("s")
            await until(pilot, lambda: app.sessions[name].running, "running again", 60)
            app.action_open_terminal()
            await until(pilot, prompt, "the agent's prompt after s", timeout=60)
            term = terminal()
            assert term is not None and "no sessions" not in term.screen_text
