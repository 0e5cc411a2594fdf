"""The dashboard's first calls, made while it starts (claudex_tui/early_start.py), on the real
engine: the session to select is listed and known ready before the dashboard asks, so its
terminal attaches without waiting for the status again; a session made after that early
listing still shows, because the dashboard lists again once it follows the engine's events."""

from __future__ import annotations

from pathlib import Path

import docker

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from claudex_tui.early_start import EarlyStart
from container.engines import Engine
from tests.integration.conftest import CLI
from tests.waiting import until, wait_for
from widgets.terminal.widget import TerminalWidget


async def test_early_listing_then_the_real_one(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    first = cli(str(project), "-d", "--agent", "shell").out.strip()
    early = EarlyStart(Engine("default", "", "default"), first, client=engine)
    wait_for("the early calls", early.finished.is_set, 60)
    attrs = engine.api.inspect_container(first)
    assert early.ready == {attrs["Id"]: attrs["State"]["StartedAt"]}, "seen ready, this run"
    second = cli(str(project), "-d", "--agent", "shell", "--parallel").out.strip()
    assert second and second != first

    app = ClaudexApp(config=Config(), client_factory=lambda: engine, select=first, early=early)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == first, "the session selected")
        assert early.listing_taken
        await until(pilot, lambda: second in app.dashboard.sessions, "the later session listed")
        app.dashboard.action_open_terminal()

        def shows_prompt() -> bool:
            found = app.query(TerminalWidget)
            return any("agent@proj" in t.screen_text for t in found)

        await until(pilot, shows_prompt, "the agent's prompt in the terminal", 60)


def test_an_engine_that_does_not_answer_leaves_it_to_the_dashboard() -> None:
    early = EarlyStart(Engine("default", "unix:///nonexistent/docker.sock", "config"), None)
    wait_for("the early start to give up", early.finished.is_set, 30)
    assert early.connection("default") is None
    assert early.take_listing(object()) is None  # type: ignore[arg-type]
    assert early.ready == {}
