"""The directory picker as a daily tool: where it starts, typed paths with Tab completion, a
missing path said inline, recent directories first, Backspace keeps your place, focus and
ro/rw that can be seen, and the form's dropdowns and Parallel at 80x24 and 120x40.

No engine: the screen is driven with a client it never uses (nothing is created here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Select, Static
from textual.widgets._select import SelectCurrent

from claudex_tui.config import Config
from claudex_tui.demo_backend import demo_session as _session
from claudex_tui.messages import SessionsLoaded
from claudex_tui.recent_dirs import KEEP, recent_dirs, remember_dirs
from claudex_tui.screens.new_session import NewSessionScreen
from container.local_fs import LOCAL
from container.state import state_dir
from tests.waiting import until
from tests.widgets.demo_app import DemoApp
from tests.widgets.test_mount_picker import make_tree, wait_loaded
from tests.widgets.test_new_session import ScreenApp
from widgets.host_paths import complete_path, typed_path
from widgets.mount_picker import HostTree, MountPicker, PathInput, RecentList

SIZES = [(80, 24), (120, 40)]


def screen_text(app: App[Any]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def region_text(app: App[Any], widget: Widget) -> list[str]:
    """The lines the widget shows on screen (paths cut to fit keep their ends)."""
    r = widget.region
    return [line[r.x : r.right] for line in screen_text(app).splitlines()[r.y : r.bottom]]


def _app(start: Path | None) -> ScreenApp:
    config = Config(agent="shell", allow_defaults=False)
    return ScreenApp(lambda: NewSessionScreen(cast(Any, None), config, start))


def _picker(app: App[Any]) -> MountPicker:
    return app.screen.query_one(MountPicker)


def _note(app: App[Any]) -> str:
    note = app.screen.query_one("#path-note", Static)
    return str(note.render()) if note.display else ""


async def _typed(pilot: Pilot[None], *keys: str) -> PathInput:
    """Press keys (the path line has the keyboard), then wait until its worker is done."""
    box = pilot.app.screen.query_one(PathInput)
    await pilot.press(*keys)
    picker = _picker(pilot.app)
    await until(
        pilot,
        lambda: not [w for w in picker.workers if w.group == "path" and not w.is_finished],
        "the path looked at",
    )
    await pilot.pause()
    return box


@pytest.fixture(autouse=True)
def _no_history() -> None:
    """Each test starts with no recent directories (the state dir is the test run's)."""
    (state_dir() / "recent-dirs.json").unlink(missing_ok=True)


# -- pure helpers ------------------------------------------------------------------------------


def test_typed_path() -> None:
    assert typed_path("src", "/home/u", "/home/u") == "/home/u/src"
    assert typed_path("~/a/../b", "/x", "/home/u") == "/home/u/b"
    assert typed_path("//etc/", "/x", None) == "/etc"
    assert typed_path("  ", "/x", None) is None
    assert typed_path("~/a", "/x", None) is None  # a remote host whose home is not known yet


def test_complete_path(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    base = str(root)
    assert complete_path("al", base, None, LOCAL).text == f"{root}/alpha/"
    several = complete_path(f"{root}/", base, None, LOCAL)
    assert several.text == f"{root}/" and several.candidates == ("alpha", "beta", "gamma")
    assert complete_path(".h", base, None, LOCAL).text == f"{root}/.hidden/"  # asked for
    assert complete_path("~/g", "/", base, LOCAL).text == "~/gamma/"  # stays in ~ form
    assert "starts with 'zz'" in (complete_path("zz", base, None, LOCAL).problem or "")
    assert "notes.txt" not in complete_path(f"{root}/", base, None, LOCAL).candidates


def test_recent_dirs_are_bounded_newest_first_and_survive_a_mangled_file() -> None:
    remember_dirs("default", [f"/p/{n}" for n in range(KEEP + 5)])
    assert len(recent_dirs("default")) == KEEP
    remember_dirs("default", ["/p/3"])
    assert recent_dirs("default")[:2] == ["/p/3", "/p/0"]  # moved first, not repeated
    assert recent_dirs("default").count("/p/3") == 1
    assert recent_dirs("other") == []
    (state_dir() / "recent-dirs.json").write_text("{not json")
    assert recent_dirs("default") == []
    (state_dir() / "recent-dirs.json").write_text(json.dumps({"default": [1, "/ok", None]}))
    assert recent_dirs("default") == ["/ok"]


# -- where it starts ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_starts_at_the_current_directory(
    size: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "here")
    monkeypatch.chdir(root)
    app = _app(None)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        assert str(app.screen.query_one(HostTree).path) == str(root)
        assert app.screen.query_one(PathInput).value == str(root)
        assert app.screen.query_one(HostTree).has_focus


async def test_a_directory_gone_since_starts_at_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "here")
    monkeypatch.chdir(root)
    app = _app(tmp_path / "removed")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        assert str(app.screen.query_one(HostTree).path) == str(root)


async def test_the_dashboard_starts_it_at_the_selected_sessions_directory(tmp_path: Path) -> None:
    proj = make_tree(tmp_path / "proj")
    session = _session("claudex-proj-11111111", [str(proj / "beta"), str(proj / "gamma")])

    app = DemoApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.session_list.selected, "the demo's sessions")
        app.dashboard.post_message(SessionsLoaded([session]))  # they went, this one came
        await until(pilot, lambda: app.session_list.selected == session.name, "selected")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewSessionScreen), "the new session")
        await wait_loaded(pilot)
        assert str(app.screen.query_one(HostTree).path) == str(proj / "beta")


# -- typing a path -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_typed_path_with_tab_completion_and_enter(
    size: tuple[int, int], tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "tree")
    (root / "alpha" / "apps").mkdir(exist_ok=True)
    app = _app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        tree = app.screen.query_one(HostTree)
        # "/" starts an absolute path; Tab completes one folder at a time.
        box = await _typed(pilot, "slash", *str(root).lstrip("/")[:-2], "tab")
        assert box.has_focus and box.value == f"{root}/"
        box = await _typed(pilot, "tab")  # several: listed under the line, nothing changed
        assert box.value == f"{root}/" and "alpha  beta  gamma" in _note(app)
        box = await _typed(pilot, "a", "tab", "a", "tab")
        assert box.value == f"{root}/alpha/app"  # app and apps share "app"
        assert "app  apps" in _note(app)
        box = await _typed(pilot, "s", "tab")
        assert box.value == f"{root}/alpha/apps/" and _note(app) == ""
        await _typed(pilot, "enter")
        await until(pilot, lambda: str(tree.path) == f"{root}/alpha/apps", "the tree there")
        assert tree.has_focus and box.value == f"{root}/alpha/apps"
        # Relative to the folder shown, and Ctrl-L edits the shown path from its end.
        await pilot.press("ctrl+l")
        assert box.has_focus and box.value == f"{root}/alpha/apps/"
        await _typed(pilot, "ctrl+u", *"../../gamma", "enter")
        await until(pilot, lambda: str(tree.path) == f"{root}/gamma", "the relative path")
        # Esc gives the keyboard back to the tree and leaves the screen open.
        await pilot.press("slash", "x", "escape")
        assert tree.has_focus and box.value == f"{root}/gamma"
        assert isinstance(app.screen, NewSessionScreen)


@pytest.mark.parametrize("size", SIZES)
async def test_a_missing_path_is_said_inline(size: tuple[int, int], tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    app = _app(root)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        tree = app.screen.query_one(HostTree)
        await _typed(pilot, "slash", *str(root / "nope" / "x").lstrip("/"), "enter")
        assert _note(app) == f"no such directory: {root}/nope/x"
        text = screen_text(app)
        assert "no such directory:" in text and "nope/x" in text  # on screen, under the line
        assert str(tree.path) == str(root)
        assert isinstance(app.screen, NewSessionScreen)  # Enter did not create anything
        await _typed(pilot, "ctrl+u", *str(root / "notes.txt"), "enter")
        assert _note(app) == f"not a directory: {root}/notes.txt"
        await pilot.press("backspace")  # typing again clears the message
        assert _note(app) == ""
        await _typed(pilot, "ctrl+u", *str(root / "zz"), "tab")
        assert "starts with 'zz'" in _note(app)


# -- recent directories ------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_recent_directories_shown_first(size: tuple[int, int], tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    gone = tmp_path / "gone"
    remember_dirs("default", [str(root / "alpha" / "app")])
    remember_dirs("default", [str(root / "beta"), str(gone)])
    app = _app(root / "alpha")
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        recent = app.screen.query_one(RecentList)
        ids = [recent.get_option_at_index(i).id for i in range(recent.option_count)]
        assert ids == [str(root / "beta"), str(root / "alpha" / "app")]  # newest first, no gone
        tree = app.screen.query_one(HostTree)
        assert recent.region.y < tree.region.y and recent.region.height >= 2  # above, visible
        lines = [line.strip() for line in region_text(app, recent)]
        assert lines[0].startswith("recent") and lines[0].endswith("/tree/beta")
        assert lines[1].startswith("recent") and lines[1].endswith("/tree/alpha/app")
        # Space marks a recent one at once; Enter shows it in the tree.
        recent.focus()
        await pilot.press("home", "space")
        await until(pilot, lambda: len(_picker(app).marks) == 1, "the recent one marked")
        assert _picker(app).marks[0].source == str(root / "beta")
        await until(pilot, lambda: " RW " in screen_text(app), "its mode shown in the list")
        await pilot.press("down", "enter")
        await until(pilot, lambda: str(tree.path) == str(root / "alpha" / "app"), "shown")
        assert tree.has_focus


# -- Backspace, focus, ro/rw -------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_backspace_lands_on_the_folder_you_came_from(
    size: tuple[int, int], tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "tree")
    app = _app(root / "beta")
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        tree = app.screen.query_one(HostTree)
        await pilot.press("backspace")

        def on_beta() -> bool:
            node = tree.cursor_node
            return node is not None and node.data is not None and node.data.path.name == "beta"

        await until(pilot, on_beta, "the cursor on beta, the folder we came from")
        assert str(tree.path) == str(root)
        await pilot.press("space")  # and the keys act on it
        await until(pilot, lambda: _picker(app).marks, "beta marked")
        assert _picker(app).marks[0].source == str(root / "beta")


@pytest.mark.parametrize("size", SIZES)
async def test_focus_and_read_only_are_clear(size: tuple[int, int], tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    app = _app(root)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        tree = app.screen.query_one(HostTree)
        focused_border = tree.styles.border_top
        await pilot.press("down", "space", "down", "r")
        await until(pilot, lambda: len(_picker(app).marks) == 2, "two marks")
        await until(pilot, lambda: "RO" in screen_text(app), "the marks drawn")
        text = screen_text(app)
        assert " RW  📁 alpha" in text and " RO  📁 beta" in text
        modes = [str(b.label) for b in app.screen.query(".mode").results(Button)]
        assert modes == ["RW", "RO"]
        # The tree with the keyboard has a heavy accent border; without it, a faint round one.
        app.screen.query_one(PathInput).focus()
        await pilot.pause()
        assert focused_border[0] == "heavy" and tree.styles.border_top[0] == "round"


@pytest.mark.parametrize("size", SIZES)
async def test_dropdowns_show_focus_and_parallel_is_not_cut(
    size: tuple[int, int], tmp_path: Path
) -> None:
    app = _app(make_tree(tmp_path / "tree"))
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        for name in ("agent", "network"):
            select = app.screen.query_one(f"#{name}", Select)
            current = select.query_one(SelectCurrent)
            label = select.parent.query_one(".label") if select.parent else None
            before = (current.styles.background, label.styles.color if label else None)
            select.focus()
            await pilot.pause()
            after = (current.styles.background, label.styles.color if label else None)
            assert after[0] != before[0] and after[1] != before[1], name
        parallel = app.screen.query_one("#parallel", Checkbox)
        text = screen_text(app)
        assert "Parallel" in text and "a new session even if" in text
        assert parallel.region.width >= len("Parallel") + 4  # the box and the whole label
        assert parallel.region.right <= app.screen.size.width
