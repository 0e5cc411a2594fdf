"""The agent names a file with markup and terminal escapes, then changes it after a checkpoint:
the dashboard's "since the last checkpoint" view and its revert question show the name as
inert text (no markup parsed, no escape reaching the terminal), No leaves the file as the agent
left it, Yes restores it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from textual.widgets import OptionList, Static

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from claudex_tui.screens.confirm import ConfirmScreen
from container.sessions import Sessions
from container.tracking import Tracker
from tests.security.conftest import CLI, as_agent
from tests.waiting import until
from tests.widgets.test_dashboard import scoped_client
from widgets.changes_panel import ChangesPanel

# [b] and [@click=...] are Textual markup (an action!); ESC ] 0 ; ... BEL would retitle the
# user's terminal. (No "/": it is a file name.)
NAME = "[b]x[@click=app.quit]\x1b]0;pwned\x07[red]y.txt"


@pytest.fixture
def session(cli: CLI, project: Path, engine: docker.DockerClient) -> Iterator[str]:
    name = f"claudextest-hrev-{uuid.uuid4().hex[:6]}"
    res = cli(str(project), "--name", name, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    yield name
    engine.api.remove_container(name, force=True, v=True)


def write(engine: docker.DockerClient, session: str, path: str, text: str) -> None:
    code, out = as_agent(
        engine,
        session,
        f"python3 -c 'import sys; open(sys.argv[1], \"w\").write(sys.argv[2])' "
        f"{_quote(path)} {_quote(text)}",
    )
    assert code == 0, out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


async def test_a_hostile_name_in_the_revert_question(
    session: str, engine: docker.DockerClient, project: Path
) -> None:
    path = f"/workspace/{project.name}/{NAME}"
    write(engine, session, path, "checkpointed\n")
    Tracker(engine.api, Sessions(engine).get(session)).checkpoint("before the agent's edit")
    write(engine, session, path, "the agent's edit\n")

    # The engine as seen by this test only: other runs' sessions stay out of the dashboard.
    client = scoped_client(session)
    app = ClaudexApp(config=Config(), client_factory=lambda: client, select=session)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == session, "the session selected")
        app.session_list.options.focus()
        await pilot.press("g")
        panel = app.query_one(ChangesPanel)
        await until(pilot, lambda: panel.changes, "the changes listed", timeout=60)
        panel.query_one("#changes-files", OptionList).focus()
        await pilot.press("b")
        await until(
            pilot,
            lambda: (
                panel.since == "checkpoint"
                and [c.path for c in panel.changes] == [f"{project.name}/{NAME}"]
            ),
            "the file listed since the checkpoint",
            timeout=60,
        )
        summary = str(panel.query_one("#changes-summary", Static).render())
        assert "since the last checkpoint" in summary and "before the agent's edit" in summary

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question", 60)
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        shown = str(screen.query_one(Static).render())
        assert "[b]x[@click=app.quit]" in shown and "[red]y.txt" in shown  # literally
        assert "\x1b" not in shown and "\x07" not in shown  # escaped, never raw
        assert "Lost: +1 -1 lines changed since then" in shown
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the question gone")
        _code, out = as_agent(engine, session, f"cat {_quote(path)}")
        assert out == "the agent's edit\n"

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "asked again", 60)
        await pilot.press("y")
        await until(pilot, lambda: not panel.changes, "nothing since the checkpoint", 60)
        _code, out = as_agent(engine, session, f"cat {_quote(path)}")
        assert out == "checkpointed\n"
        assert app.is_running
