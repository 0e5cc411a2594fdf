"""Directory names the agent makes, shown by the directory picker (typed-path completion, its
notes) and by the Files tab (the "c copies … →" destination line).

The agent writes its mounted project, so every folder name in it is hostile: markup (with an
`@click` action in it), a newline, and a flood of 20,000 folders.
The user types a path into the project and presses Tab, and browses the session's side in the
Files tab: the names are shown literally, the app keeps running, completion answers in bounded
time and shows a bounded list."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import docker
import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from claudex_tui.config import Config
from claudex_tui.files_service import SessionFiles
from claudex_tui.screens.new_session import NewSessionScreen
from container.sessions import Sessions
from tests.conftest import TEST_PREFIX
from tests.security.conftest import CLI, as_agent
from tests.waiting import settled, until
from tests.widgets.test_new_session import ScreenApp
from widgets.files.panel import FilesPanel
from widgets.mount_picker import MountPicker, PathInput

# No "/" in a name, so no closing tag; an action link would run if parsed as markup.
MARKUP = ["[@click=app.quit]q", "[b]bold", "[link=https:x]x"]
HOSTILE = MARKUP[0]
FLOOD = 20_000


@pytest.fixture
def session(cli: CLI, project: Path, engine: docker.DockerClient) -> Iterator[str]:
    name = f"{TEST_PREFIX}-names-{uuid.uuid4().hex[:6]}"
    res = cli(str(project), "--name", name, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    yield name
    engine.api.remove_container(name, force=True, v=True)


def _note(app: App[Any]) -> str:
    note = app.screen.query_one("#path-note", Static)
    return str(note.render()) if note.display else ""


async def test_hostile_folder_names_in_the_picker_and_the_files_tab(
    engine: docker.DockerClient, session: str, project: Path
) -> None:
    # The agent, in its own shell: markup names, a newline, and a flood of folders.
    names = " ".join(f"'{n}'" for n in MARKUP)
    code, out = as_agent(
        engine,
        session,
        f"cd /workspace/{project.name} && mkdir -- {names} $'nl\\nname' && mkdir flood && "
        f"cd flood && seq -f 'd%g' {FLOOD} | xargs mkdir -- && echo made",
    )
    assert code == 0 and "made" in out, out
    assert (project / HOSTILE).is_dir() and len(list((project / "flood").iterdir())) == FLOOD

    # The picker: Tab after "[" lists the markup names literally; Enter goes into one.
    app = ScreenApp(lambda: NewSessionScreen(cast(Any, None), Config(agent="shell"), project))
    async with app.run_test(size=(120, 40)) as pilot:
        picker = await until(pilot, lambda: app.screen.query(MountPicker).first(), "the picker")
        box = app.screen.query_one(PathInput)

        async def typed(*keys: str) -> None:
            await pilot.press(*keys)
            await until(
                pilot,
                lambda: not [w for w in picker.workers if w.group == "path" and not w.is_finished],
                "the path looked at",
            )
            await pilot.pause()

        await typed("ctrl+l", "[", "tab")
        note = _note(app)
        on_screen = "\n".join(s.text for s in app.screen._compositor.render_strips())
        for name in MARKUP:
            assert name in note and name in on_screen, note
        await typed("ctrl+u", *f"{project}/[@", "tab")
        assert box.value == f"{project}/{HOSTILE}/"
        await typed("enter")
        await until(pilot, lambda: str(picker.host_tree.path) == f"{project}/{HOSTILE}", "in it")
        # The flood: Tab answers in bounded time with a bounded list.
        started = time.monotonic()
        await typed("slash", *f"{project}/flood/d1".lstrip("/"), "tab")
        assert time.monotonic() - started < 20
        note = _note(app)
        assert note.startswith("d1  d10  d100") and "(+" in note and len(note) < 200
        assert app.is_running

    # The Files tab: the destination line names the hostile folder literally.
    info = Sessions(engine).get(session)

    class Harness(App[None]):
        def compose(self) -> ComposeResult:
            yield FilesPanel(lambda s: SessionFiles(engine, s), host_root=project)

    async with Harness().run_test(size=(120, 40)) as pilot:
        panel = pilot.app.query_one(FilesPanel)
        panel.set_session(info)
        await settled(pilot, "the session's files listed")
        target = f"/workspace/{project.name}/{HOSTILE}"

        def shown() -> bool:
            return bool(panel.remote.find(target))

        project_node = await until(
            pilot, lambda: panel.remote.find(f"/workspace/{project.name}"), "the project"
        )
        project_node[0].expand()
        await until(pilot, shown, "the hostile folder listed")
        panel.remote.move_cursor(panel.remote.find(target)[0])
        panel.host.focus()
        dest = panel.query_one("#files-dest", Static)
        await until(pilot, lambda: target in str(dest.render()), "the destination line")
        assert str(dest.render()).startswith("c copies the highlighted → session:")
        assert pilot.app.is_running
