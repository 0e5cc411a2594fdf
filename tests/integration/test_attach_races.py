"""Attaching while a session starts, restarts or is killed, on the real engine: the attach
waits for the init's "ready" (tmux's "no sessions" never shows) and says why it ended; it and
the dashboard's terminal come back by themselves after a restart or their engine's return."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import docker
import pytest

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config, EngineConfig
from claudex_tui.screens.confirm import ConfirmScreen
from claudex_tui.screens.dashboard_base import terminal_id
from container.session_attach import AgentAttach
from container.sessions import Sessions
from tests.integration.conftest import CLI
from tests.integration.second_engine import SecondEngine
from tests.integration.tmux_pane import Pane
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
    pane: Pane,
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
    pane: Pane,
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
        app.dashboard.action_open_terminal()

        def terminal() -> TerminalWidget | None:
            found = app.query(f"#{terminal_id(name)}")
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
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "stop asks first")
            await pilot.press("y")
            await until(pilot, lambda: app.sessions[name].state == "exited", "stopped", 60)
            await pilot.press("s")
            await until(pilot, lambda: app.sessions[name].running, "running again", 60)
            app.dashboard.action_open_terminal()
            await until(pilot, prompt, "the agent's prompt after s", timeout=60)
            term = terminal()
            assert term is not None and "no sessions" not in term.screen_text


# -- the engine goes away and comes back: a second dockerd of this run (live-restore) -------


@pytest.fixture
def d2_env(second_engine: SecondEngine, tmp_path: Path) -> dict[str, str]:
    """A config naming the second engine `d2`."""
    conf = tmp_path / "xdg-d2" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'[engines.d2]\nhost = "{second_engine.host}"\n')
    return {"XDG_CONFIG_HOME": str(conf.parent)}


def _attach_on_d2(pane: Pane, cli: CLI, env: dict[str, str], project: Path) -> str:
    res = cli(str(project), "-d", "--agent", "shell", "--engine", "d2", env=env)
    assert res.code == 0, res.text
    name = res.out.strip()
    setup = " ".join(f"{k}={v}" for k, v in env.items())
    pane.keys(f"{setup} {sys.executable} -m claudex_tui.cli attach --engine d2 {name}; echo rc=$?")
    pane.keys("Enter")
    pane.wait_for("agent@proj:/workspace/proj$", timeout=60)
    return name


def test_cli_attach_comes_back_after_its_engine_restarts(
    pane: Pane,
    cli: CLI,
    d2_env: dict[str, str],
    project: Path,
    second_engine: SecondEngine,
) -> None:
    """The engine stops under an attached terminal: the user reads that it went away and that
    claudex waits; once it is back, the same agent's terminal is there again."""
    name = _attach_on_d2(pane, cli, d2_env, project)
    pane.keys("echo before-$((6*7))", "Enter")
    pane.wait_for("before-42")
    second_engine.stop()
    try:
        screen = pane.wait_for("waiting for the engine to come back", timeout=60)
        assert f"claudex: {name}: the engine went away" in screen, screen
        assert "rc=" not in screen and "Traceback" not in screen
    finally:
        second_engine.start()
    # tmux redraws the agent's screen over the messages: the same shell, its output kept.
    screen = pane.wait_until(
        lambda s: "waiting for the engine" not in s and "before-42" in s,
        "the agent's terminal again",
        timeout=60,
    )
    assert "agent@proj:/workspace/proj$" in screen, screen
    pane.keys("echo after-$((6*7))", "Enter")
    pane.wait_for("after-42")
    pane.keys("C-]")
    screen = pane.wait_for("rc=0")
    assert "detached from" in screen and "Traceback" not in screen


def test_cli_attach_says_the_session_did_not_survive_its_engine(
    pane: Pane,
    cli: CLI,
    d2_env: dict[str, str],
    project: Path,
    second_engine: SecondEngine,
) -> None:
    """The session's init dies while its engine is away: once the engine answers, the attach
    says the session stopped, with its exit code, and ends with a failure status."""
    name = _attach_on_d2(pane, cli, d2_env, project)
    pid = second_engine.client().api.inspect_container(name)["State"]["Pid"]
    second_engine.stop()
    try:
        pane.wait_for("waiting for the engine to come back", timeout=60)
        os.kill(pid, signal.SIGKILL)
        wait_for("the session's init gone", lambda: not Path(f"/proc/{pid}").exists(), 30)
    finally:
        second_engine.start()
    screen = pane.wait_for("rc=", timeout=60)
    assert f"session {name} stopped (exit " in screen, screen
    assert "rc=0" not in screen and "Traceback" not in screen
    assert "start it with `claudex" in screen


def test_cli_attach_waiting_for_its_engine_stops_on_ctrl_c(
    pane: Pane,
    cli: CLI,
    d2_env: dict[str, str],
    project: Path,
    second_engine: SecondEngine,
) -> None:
    """While the engine is away, Ctrl-C ends the wait: one line, status 130, no traceback."""
    _attach_on_d2(pane, cli, d2_env, project)
    second_engine.stop()
    try:
        pane.wait_for("waiting for the engine to come back", timeout=60)
        pane.keys("C-c")
        screen = pane.wait_for("rc=", timeout=30)
    finally:
        second_engine.start()
    assert "claudex: interrupted" in screen and "rc=130" in screen, screen
    assert "Traceback" not in screen


async def test_dashboard_terminal_comes_back_after_its_engine_restarts(
    cli: CLI, d2_env: dict[str, str], project: Path, second_engine: SecondEngine
) -> None:
    """An open terminal on a session of an engine that goes away: it says so, and attaches
    again by itself once the engine is back (without restarting the dashboard)."""
    res = cli(str(project), "-d", "--agent", "shell", "--engine", "d2", env=d2_env)
    assert res.code == 0, res.text
    key = f"d2/{res.out.strip()}"
    config = Config(engines={"d2": EngineConfig(host=second_engine.host)})
    app = ClaudexApp(config=config, select=key)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == key, "the session selected", 60)
        app.dashboard.action_open_terminal()

        def terminal() -> TerminalWidget | None:
            found = app.query(f"#{terminal_id(key)}")
            return found.first(TerminalWidget) if found else None

        def prompt() -> bool:
            term = terminal()
            return term is not None and not term.exited and "agent@proj" in term.screen_text

        await until(pilot, prompt, "the agent's prompt", timeout=60)
        await pilot.press(*"echo before-$((6*7))", "enter")
        await until(pilot, lambda: "before-42" in _text(terminal()), "the command's output")
        second_engine.stop()
        try:
            await until(
                pilot,
                lambda: (
                    (t := terminal()) is not None
                    and t.exited
                    and "the engine went away" in (t.end_reason or "")
                ),
                "the terminal saying the engine went away",
                timeout=60,
            )
        finally:
            second_engine.start()
        await until(pilot, prompt, "the terminal attached again", timeout=90)
        assert "before-42" in _text(terminal())  # the same agent, its screen as it was
        await pilot.press(*"echo after-$((6*7))", "enter")
        await until(pilot, lambda: "after-42" in _text(terminal()), "output after the return")


def _text(term: TerminalWidget | None) -> str:
    return term.screen_text if term is not None else ""
