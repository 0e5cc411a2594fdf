"""The Changes tab of an isolated session on the real engine: the agent changes two places of
a file in its copy, the dashboard lists it against the user's directory, and `a` on the second
hunk in the diff brings that hunk alone into the user's file; nothing else is written."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import docker

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from container.errors import ClaudexError
from container.isolated import discard
from container.sessions import Sessions
from tests.integration.conftest import CLI, exec_in
from tests.waiting import until
from tests.widgets.test_dashboard import scoped_client
from widgets.changes_panel import ChangesPanel

OLD = "".join(f"line {i}\n" for i in range(1, 21))


async def test_a_hunk_applied_from_the_changes_tab(
    cli: CLI, engine: docker.DockerClient, project: Path
) -> None:
    (project / "notes.txt").write_text(OLD)
    os.lchown(project / "notes.txt", 4242, 4242)
    token = uuid.uuid4().hex[:8]
    name = f"claudextest-isotab-{token}"
    r = cli(str(project), "--isolated", "--name", name, "--agent", "shell", "-d")
    assert r.code == 0, r.text
    client = scoped_client(token)
    try:
        code, out = exec_in(
            engine,
            name,
            "cd /workspace/proj && sed -i -e 's/^line 2$/two/' -e 's/^line 19$/nineteen/' "
            "notes.txt",
            user="4242",
        )
        assert code == 0, out
        app = ClaudexApp(config=Config(), client_factory=lambda: client)  # type: ignore[arg-type]
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.session_list.selected, "the session selected")
            app.session_list.options.focus()
            await pilot.press("g")
            panel = app.query_one(ChangesPanel)
            await until(pilot, lambda: len(panel.changes) == 1, "the changed file listed")
            assert panel.changes[0].path == str(project / "notes.txt")
            await until(
                pilot,
                lambda: panel.review is not None and len(panel.review.hunks) == 2,
                "its two hunks",
            )
            panel.query_one("#changes-diff").focus()
            await pilot.press("right_square_bracket", "a")
            await until(
                pilot,
                lambda: "nineteen" in (project / "notes.txt").read_text(),
                "the second hunk applied",
            )
            assert (project / "notes.txt").read_text() == OLD.replace("line 19\n", "nineteen\n")
            await until(
                pilot,
                lambda: panel.review is not None and len(panel.review.hunks) == 1,
                "one hunk left",
            )
            assert sorted(p.name for p in project.iterdir()) == ["README.md", "notes.txt"]
    finally:
        with contextlib.suppress(ClaudexError):
            Sessions(engine).remove(name, force=True)
        discard(name)
        client.close()
