"""The new-session screen: creating a real session from the keyboard, errors shown in the screen."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import docker
import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Button, Input, ProgressBar, Select, Static

from claudex_tui.config import Config
from claudex_tui.recent_dirs import recent_dirs
from claudex_tui.screens.new_session import NewSessionScreen, split_entries
from claudex_tui.start_request import start_request
from container import labels
from container.errors import SessionNotFound
from container.labels import SessionInfo
from container.sessions import Sessions
from container.state import state_dir
from tests.conftest import TEST_PREFIX
from tests.integration.conftest import exec_in
from tests.waiting import until
from tests.widgets.test_mount_picker import SNAPSHOT_TREE, make_tree, marks_shown, wait_loaded
from widgets.mount_picker import HostTree, MountPicker


class ScreenApp(App[None]):
    """Pushes the screen as the dashboard does, and keeps what it dismissed with."""

    def __init__(self, make_screen: Callable[[], NewSessionScreen]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.dismissed = False
        self.result: SessionInfo | None = None

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self._done)

    def _done(self, result: SessionInfo | None) -> None:
        self.dismissed, self.result = True, result


def owned_dir(path: Path) -> Path:
    path.mkdir()
    (path / "README.md").write_text("hello\n")
    for p in (path, path / "README.md"):
        os.chown(p, 4242, 4242)
    return path


def text_of(app: App[Any], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


@pytest.fixture
def made(engine: docker.DockerClient) -> Iterator[list[str]]:
    """Names of sessions a test created; removed afterwards whatever happened."""
    names: list[str] = []
    yield names
    sessions = Sessions(engine)
    for name in names:
        with contextlib.suppress(SessionNotFound):
            sessions.remove(name, force=True)


def test_split_entries() -> None:
    # Commas separate entries, spaces do not: a mistyped "b.org c.net" is one bad entry.
    assert split_entries(" a.com, b.org  c.net,,") == ["a.com", "b.org  c.net"]


@pytest.mark.integration
async def test_create_shell_session_from_the_keyboard(
    engine: docker.DockerClient,
    image: str,
    made: list[str],
    tmp_path: Path,
) -> None:
    proj = owned_dir(tmp_path / "proj")
    app = ScreenApp(lambda: NewSessionScreen(engine, Config(agent="claude"), tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot)
        screen = app.screen
        assert isinstance(screen, NewSessionScreen)
        await pilot.press("down", "space")  # mark proj
        await pilot.pause()
        name_input = screen.query_one("#name", Input)
        assert name_input.placeholder.startswith(f"{TEST_PREFIX}-proj-")
        # Tab: the mark's target, the name, then the agent: choose shell in its list.
        await pilot.press("tab", "tab", "tab")
        agent = screen.query_one("#agent", Select)
        assert screen.focused is agent
        await pilot.press("enter", "down", "down", "enter")
        await pilot.pause()
        assert agent.value == "shell"
        await pilot.press("shift+tab", "enter")  # Enter in the name field creates
        await until(
            pilot,
            lambda: app.dismissed or "creating session" in text_of(app, "#steps"),
            "the create to begin",
            timeout=180,
        )
        if not app.dismissed:
            assert screen.query_one("#create", Button).disabled  # no second create meanwhile
        await until(pilot, lambda: app.dismissed, "the session created", timeout=180)

    session = app.result
    assert session is not None
    made.append(session.name)
    assert session.name == name_input.placeholder
    assert session.running
    assert session.agent == "shell"
    assert session.mounts == [str(proj)]
    assert session.labels[labels.AGENT_UID] == "4242:4242"
    assert session.network_mode == labels.FIREWALLED
    code, out = exec_in(engine, session.name, "cat /workspace/proj/README.md")
    assert (code, out) == (0, "hello\n")
    assert recent_dirs()[0] == str(proj)  # offered first by the next picker


@pytest.mark.integration
async def test_name_taken_by_other_mounts_is_shown_then_fixed(
    engine: docker.DockerClient,
    image: str,
    made: list[str],
    tmp_path: Path,
) -> None:
    other, proj = owned_dir(tmp_path / "other"), owned_dir(tmp_path / "proj")
    taken = f"{TEST_PREFIX}-taken-{uuid.uuid4().hex[:6]}"
    sessions = Sessions(engine)
    made.append(taken)
    sessions.start_session(start_request(Config(), [str(other)], agent="shell", name=taken))

    app = ScreenApp(lambda: NewSessionScreen(engine, Config(agent="shell"), tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        screen = app.screen
        await pilot.press("down", "down", "space")  # proj
        await pilot.press("tab", "tab", *taken, "enter")
        await until(pilot, lambda: text_of(app, "#error"), "the error shown", timeout=180)
        error = text_of(app, "#error")
        assert f"the name {taken} is already used by a session with other mounts" in error
        assert "pick another --name" in error
        assert "Traceback" not in error
        assert app.screen is screen and not app.dismissed
        assert not screen.query_one("#create", Button).disabled

        # Fix the name and retry from the same screen.
        retry = f"{TEST_PREFIX}-retry-{uuid.uuid4().hex[:6]}"
        made.append(retry)
        await pilot.press("ctrl+u", *retry, "enter")
        await until(pilot, lambda: app.dismissed, "the retry's session created", timeout=180)
    assert app.result is not None
    assert app.result.name == retry
    assert app.result.mounts == [str(proj)]


# -- snapshots (no engine: nothing is created) -------------------------------------------------


def _no_recent_dirs() -> None:
    """Pictures show no recent directories (a test before may have created a session)."""
    (state_dir() / "recent-dirs.json").unlink(missing_ok=True)


def _screen_app() -> ScreenApp:
    _no_recent_dirs()
    root = make_tree(SNAPSHOT_TREE)
    # No default list: its length may change, the snapshot must not.
    config = Config(agent="codex", allow=["example.com"], allow_defaults=False)
    return ScreenApp(lambda: NewSessionScreen(cast(Any, None), config, root))


async def _two_marks(pilot: Pilot[None]) -> None:
    await wait_loaded(pilot)
    await pilot.press("down", "space", "down", "down", "r")
    await marks_shown(pilot, 2)


async def _host_network_and_conflict(pilot: Pilot[None]) -> None:
    await wait_loaded(pilot)
    await pilot.press("down", "space", "enter")
    await wait_loaded(pilot, SNAPSHOT_TREE / "alpha")
    await pilot.press("down", "space")
    network = pilot.app.screen.query_one("#network", Select)
    network.focus()
    await pilot.press("enter", "down", "enter")
    await until(pilot, lambda: network.value == "host", "the host network chosen")
    await marks_shown(pilot, 2)
    await pilot.press("ctrl+s")  # refused: the conflict must be resolved first
    await until(
        pilot,
        lambda: "cannot be mounted as asked" in text_of(pilot.app, "#error"),
        "the refusal shown",
    )
    tree = pilot.app.screen.query_one(HostTree)
    tree.focus()
    await until(pilot, lambda: tree.has_focus, "the tree focused")


def _two_engines_app() -> ScreenApp:
    from container.engines import Engine

    _no_recent_dirs()
    root = make_tree(SNAPSHOT_TREE)
    config = Config(agent="codex", allow=["example.com"], allow_defaults=False)
    engines = [
        (Engine("default", "unix:///var/run/docker.sock", "default"), cast(Any, None)),
        (Engine("box", "unix:///srv/box/docker.sock", "config"), cast(Any, None)),
    ]
    return ScreenApp(
        lambda: NewSessionScreen(cast(Any, None), config, root, engines=engines, engine="box")
    )


def test_snapshot_new_session_with_two_engines(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def marked(pilot: Pilot[None]) -> None:
        await wait_loaded(pilot)
        await pilot.press("down", "space")
        await marks_shown(pilot, 1)

    assert snap_compare(_two_engines_app(), terminal_size=(120, 40), run_before=marked)


async def test_switching_engine_starts_the_picker_afresh() -> None:
    app = _two_engines_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot)
        screen = app.screen
        assert isinstance(screen, NewSessionScreen) and screen.engine_name == "box"
        await pilot.press("down", "space")
        first = screen.query_one(MountPicker)
        assert len(first.marks) == 1
        screen.query_one("#engine", Select).value = "default"

        def new_picker() -> MountPicker | None:
            pickers = screen.query(MountPicker)
            return pickers.first() if len(pickers) == 1 and pickers.first() is not first else None

        # The other engine's host: nothing marked there yet, its own tree.
        picker = await until(pilot, new_picker, "the other engine's picker in place")
        assert picker is not None and screen.engine_name == "default" and picker.marks == []
        await wait_loaded(pilot)


def test_snapshot_new_session_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(_screen_app(), terminal_size=(80, 24), run_before=_two_marks)


def test_snapshot_new_session_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        _screen_app(), terminal_size=(120, 40), run_before=_host_network_and_conflict
    )


async def test_refused_until_conflicts_are_resolved() -> None:
    app = _screen_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "no directory picked" in text_of(app, "#error")
        await _host_network_and_conflict(pilot)
        assert "cannot be mounted as asked" in text_of(app, "#error")
        assert app.screen.query_one("#host-warning").display
        assert app.screen.query_one("#allow", Input).disabled
        await pilot.press("escape")
        await pilot.pause()
        assert app.dismissed and app.result is None


async def test_image_build_progress_shows_a_bar() -> None:
    from claudex_tui.screens.new_session import _Building
    from container.image import BuildProgress

    app = _screen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        screen = app.screen
        for step in (1, 2, 3):
            screen.post_message(_Building(BuildProgress(step, 12, f"Step {step}/12 : RUN x")))
        await pilot.pause()
        bar = screen.query_one("#build", ProgressBar)
        assert bar.display and (bar.progress, bar.total) == (3, 12)
        assert text_of(app, "#build-line") == "Step 3/12 : RUN x"


async def test_image_build_progress_shows_the_step_time_and_estimate() -> None:
    from claudex_tui.screens.new_session import _Building
    from container.image import BuildProgress

    app = _screen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        progress = BuildProgress(6, 19, "added 3 packages", "RUN npm install", 0, 75, 130)
        app.screen.post_message(_Building(progress))
        await pilot.pause()
        assert (
            text_of(app, "#build-line") == "step 6/19 · 1m15s · about 2m10s left · RUN npm install"
        )
