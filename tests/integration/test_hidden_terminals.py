"""A terminal out of sight costs nothing, on the real engine and image: after switching to
another session, the hidden one's tmux has no client, no exec of its terminal runs and the
dashboard no longer reads it (one reader thread: the shown terminal's); its
bell still marks it waiting (read from its tmux); switching back shows its old screen in the
first frame, then what was typed into it meanwhile."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import docker

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from claudex_tui.screens.dashboard_base import terminal_id
from tests.integration.conftest import CLI
from tests.security.conftest import as_agent
from tests.waiting import until
from widgets.terminal.widget import TerminalWidget

TMUX = "tmux -f /etc/claudex/tmux.conf"


def _clients(engine: docker.DockerClient, name: str) -> str:
    return as_agent(engine, name, f"{TMUX} list-clients 2>&1")[1].strip()


def _terminal_execs(engine: docker.DockerClient, name: str) -> list[list[str]]:
    """The running execs of a session that are a terminal (a tmux attach) or its guard."""
    found = []
    for exec_id in engine.api.inspect_container(name).get("ExecIDs") or []:
        try:
            info: dict[str, Any] = engine.api.exec_inspect(exec_id)
        except docker.errors.NotFound:
            continue
        config = info.get("ProcessConfig") or {}
        argv = [config.get("entrypoint", ""), *(config.get("arguments") or [])]
        if info.get("Running") and ("tmux" in argv[0] or "claudex-guard" in argv):
            found.append(argv)
    return found


def _readers() -> int:
    """Terminal reader threads in this process (the dashboard's side of each attach)."""
    return sum(t.name == "terminal-reader" and t.is_alive() for t in threading.enumerate())


def _drawn(term: TerminalWidget) -> str:
    return "\n".join(term.render_line(y).text.rstrip() for y in range(term.size.height))


async def test_a_hidden_terminal_detaches_and_comes_back_at_once(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    first = cli(str(project), "-d", "--agent", "shell").out.strip()
    second = cli(str(project), "-d", "--agent", "shell", "--parallel").out.strip()
    assert first and second and first != second
    app = ClaudexApp(config=Config(), client_factory=lambda: engine, select=first)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == first, "the session selected")
        app.dashboard.action_open_terminal()

        def terminal(name: str) -> TerminalWidget | None:
            found = app.query(f"#{terminal_id(name)}")
            return found.first(TerminalWidget) if found else None

        def shows(name: str, text: str) -> bool:
            term = terminal(name)
            return term is not None and text in term.screen_text

        await until(pilot, lambda: shows(first, "agent@proj"), "the first agent's prompt", 60)
        await pilot.press(*"echo before-$((6*7))", "enter")
        await until(pilot, lambda: shows(first, "before-42"), "the command's output")
        assert _clients(engine, first) != ""

        app.dashboard.select_and_open(second)
        await until(pilot, lambda: shows(second, "agent@proj"), "the second agent's prompt", 60)
        hidden = terminal(first)
        assert hidden is not None
        await until(pilot, lambda: _clients(engine, first) == "", "no client on the hidden one")
        await until(pilot, lambda: not _terminal_execs(engine, first), "no terminal exec left")
        await until(pilot, lambda: _readers() == 1, "only the shown terminal read on the host")
        assert hidden.detached and not hidden.exited
        assert _clients(engine, second) != ""  # the one shown is attached

        # Typed into the hidden session meanwhile, then a bell: it is marked waiting.
        code, out = as_agent(
            engine, first, f"{TMUX} send-keys -t agent 'echo meanwhile-$((6*7))' Enter"
        )
        assert code == 0, out
        as_agent(engine, first, f"{TMUX} send-keys -t agent 'sleep 1; printf \"\\a\"' Enter")
        await until(
            pilot, lambda: app.session_list.rows[first].waiting, "the hidden session's bell"
        )

        app.dashboard.select_and_open(first)
        await pilot.pause()
        assert "before-42" in _drawn(hidden)  # the first frame: its last screen, at once
        await until(pilot, lambda: shows(first, "meanwhile-42"), "what was typed meanwhile")
        await until(pilot, lambda: _clients(engine, first) != "", "attached again")
        await pilot.press(*"echo after-$((6*7))", "enter")
        await until(pilot, lambda: shows(first, "after-42"), "typing after coming back")


async def test_a_hidden_terminal_of_a_restarted_session_attaches_to_the_new_run(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    """Restarted while out of sight: shown again, it waits for the new run's agent (never
    tmux's "no sessions") and reads it."""
    first = cli(str(project), "-d", "--agent", "shell").out.strip()
    second = cli(str(project), "-d", "--agent", "shell", "--parallel").out.strip()
    app = ClaudexApp(config=Config(), client_factory=lambda: engine, select=first)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == first, "the session selected")
        app.dashboard.action_open_terminal()
        term = app.query_one(f"#{terminal_id(first)}", TerminalWidget)
        await until(pilot, lambda: "agent@proj" in term.screen_text, "the agent's prompt", 60)
        app.dashboard.select_and_open(second)
        await until(pilot, lambda: term.detached, "the first one detached")
        started = engine.api.inspect_container(first)["State"]["StartedAt"]
        engine.api.restart(first, timeout=0)
        await until(
            pilot,
            lambda: engine.api.inspect_container(first)["State"]["StartedAt"] != started,
            "the restart",
        )
        await until(pilot, lambda: app.sessions[first].running, "listed running again", 60)
        app.dashboard.select_and_open(first)
        term = app.query_one(f"#{terminal_id(first)}", TerminalWidget)
        await until(pilot, lambda: _clients(engine, first) != "", "attached to the new run", 60)
        await pilot.press(*"echo new-run-$((6*7))", "enter")
        await until(pilot, lambda: "new-run-42" in term.screen_text, "the new run's agent", 60)
        assert not term.exited and "no sessions" not in term.screen_text
