"""The mount picker: marking with keys, read-only, conflicts shown inline, editable targets."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer, Input, Static

from container.errors import UsageError
from container.mount_targets import mount_conflicts, target_problem
from container.mounts import plan_mounts
from tests.waiting import until
from widgets.host_paths import short_path
from widgets.mount_picker import HostTree, MountPicker

# Snapshots need the same absolute paths on every run (they are shown in the mounts list).
SNAPSHOT_TREE = Path("/tmp/claudex-snapshot-tree")
NOTE = "not a directory\n"


def make_tree(root: Path) -> Path:
    """alpha/app, beta/app, gamma, a hidden dir and a file (files are never listed).

    Completed in place, never removed and made again: the snapshot trees are at fixed paths,
    which two test runs at once share."""
    for d in ("alpha/app", "beta/app", "gamma", ".hidden"):
        (root / d).mkdir(parents=True, exist_ok=True)
    notes = root / "notes.txt"
    if not notes.is_file() or notes.read_text() != NOTE:
        part = root / f".notes.{uuid.uuid4().hex}"  # whole or absent for a reader meanwhile
        part.write_text(NOTE)
        os.replace(part, notes)
    return root


class PickerApp(App[None]):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.changes: list[MountPicker.Changed] = []

    def compose(self) -> ComposeResult:
        yield MountPicker(self.root)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(HostTree).focus()

    def on_mount_picker_changed(self, event: MountPicker.Changed) -> None:
        self.changes.append(event)


async def wait_loaded(pilot: Pilot[None], path: Path | None = None) -> None:
    """Until the tree lists `path`'s children (default: the root's)."""

    def listed() -> bool:
        trees = pilot.app.screen.query(HostTree)  # the picker may be on a pushed screen
        if not trees:
            return False
        tree = trees.first()
        if path is None:
            return bool(tree.root.children)
        return any(n.data and n.data.path == path and n.children for n in tree.nodes())

    await until(pilot, listed, f"the tree to list {path or 'its root'}")
    await pilot.pause()


async def marks_shown(pilot: Pilot[None], count: int) -> None:
    """Until the mounts list is drawn with `count` marks (it is drawn after a refresh)."""
    marks = pilot.app.screen.query_one("#marks")
    title = f"Mounts ({count})" if count else "Mounts"
    await until(pilot, lambda: marks.border_title == title, f"the mounts list to show {title}")


def labels(tree: HostTree) -> list[str]:
    return [str(n.label) for n in tree.nodes() if n is not tree.root]


# -- pure helpers (container/mounts.py) --------------------------------------------------------


def test_target_rules_and_conflicts() -> None:
    assert target_problem("/workspace/src") is None
    assert target_problem("/etc/x") == "target must be under /workspace/"
    assert target_problem("/workspace/../etc") is not None
    problems = mount_conflicts(
        {
            "/x": "/workspace/x",
            "/y": "/workspace/x",
            "/z": "/workspace/x/z",
            "/a": "/workspace/a",
            "/a/in": "/workspace/in",
        }
    )
    assert problems["/x"] == "same target as /y"
    assert problems["/y"] == "same target as /x"
    assert problems["/z"] == "target inside /workspace/x (of /x)"
    assert problems["/a"] == "contains /a/in, which is picked too"
    assert problems["/a/in"] == "inside /a, which is picked too"
    assert mount_conflicts({"/x": "/workspace/x", "/y": "/workspace/y"}) == {}


def test_plan_mounts_takes_chosen_targets(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    alpha, gamma = str(root / "alpha"), str(root / "gamma")
    plan = plan_mounts([alpha], [gamma], targets={gamma: "/workspace/ref"}, home=str(tmp_path))
    assert plan.dir_targets() == {alpha: "/workspace/alpha", gamma: "/workspace/ref"}
    with pytest.raises(UsageError, match="same target"):
        plan_mounts([alpha, gamma], targets={gamma: "/workspace/alpha"}, home=str(tmp_path))


def test_short_path() -> None:
    assert short_path("/home/u/src/app", 40, home="/home/u") == "~/src/app"
    assert short_path("/very/long/path/to/app", 10, home="/h") == "…th/to/app"


# -- the widget --------------------------------------------------------------------------------


async def test_mark_toggle_conflict_and_edit_target(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    app = PickerApp(root)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_loaded(pilot)
        picker = app.query_one(MountPicker)
        tree = app.query_one(HostTree)
        # Directories only, hidden ones left out.
        assert labels(tree) == ["alpha", "beta", "gamma"]

        # Mark alpha, open it, mark alpha/app inside it: a conflict on both.
        await pilot.press("down", "space", "enter")
        await wait_loaded(pilot, root / "alpha")
        await pilot.press("down", "space")
        conflicts = picker.conflicts
        assert conflicts[str(root / "alpha")] == f"contains {root}/alpha/app, which is picked too"
        assert conflicts[str(root / "alpha/app")] == f"inside {root}/alpha, which is picked too"
        await until(
            pilot,
            lambda: (
                f"inside {root}/alpha, which is picked too"
                in [str(s.render()) for s in app.query(".problem").results(Static)]
            ),
            "the conflict shown in the mounts list",
        )

        # Unmark alpha (up two lines): the conflict goes away.
        await pilot.press("up", "space")
        await pilot.pause()
        assert [m.source for m in picker.marks] == [str(root / "alpha/app")]
        assert picker.conflicts == {}

        # gamma read-only (r marks and makes read-only at once; r again toggles back and forth).
        await pilot.press("down", "down", "down", "r")
        await pilot.pause()
        marks = {m.source: m for m in picker.marks}
        assert marks[str(root / "gamma")].read_only
        assert not marks[str(root / "alpha/app")].read_only
        await pilot.press("r")
        await pilot.pause()
        assert not {m.source: m for m in picker.marks}[str(root / "gamma")].read_only
        await pilot.press("r")
        await pilot.pause()
        assert {m.source: m for m in picker.marks}[str(root / "gamma")].read_only

        # Edit gamma's target to alpha/app's: "same target" on both, shown inline.
        await pilot.press("t")
        await pilot.pause()
        target = app.focused
        assert isinstance(target, Input)
        assert target.value == "/workspace/gamma"
        await pilot.press("ctrl+u", *"/workspace/app")
        await pilot.pause()
        conflicts = picker.conflicts
        assert conflicts[str(root / "gamma")] == f"same target as {root}/alpha/app"
        assert conflicts[str(root / "alpha/app")] == f"same target as {root}/gamma"
        assert "-problem" in target.parent.parent.classes  # type: ignore[union-attr]

        # A target outside /workspace is refused too; then a good one resolves everything.
        await pilot.press("ctrl+u", *"/etc/ref")
        await pilot.pause()
        assert picker.conflicts == {str(root / "gamma"): "target must be under /workspace/"}
        await pilot.press("ctrl+u", *"/workspace/ref", "enter")
        await pilot.pause()
        assert app.focused is tree  # Enter ends the edit
        assert picker.conflicts == {}
        marks = {m.source: m for m in picker.marks}
        assert marks[str(root / "gamma")].target == "/workspace/ref"
        assert marks[str(root / "alpha/app")].target == "/workspace/app"

        # Every change was announced; the last one carries the final marks.
        assert app.changes
        assert app.changes[-1].marks == picker.marks


async def test_default_targets_follow_marks_and_up_goes_to_parent(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree")
    app = PickerApp(root / "alpha")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_loaded(pilot)
        picker = app.query_one(MountPicker)
        await pilot.press("down", "space")  # alpha/app
        await pilot.pause()
        assert picker.marks[0].target == "/workspace/app"
        # Backspace shows the parent folder: beta/app can be marked too.
        await pilot.press("backspace")
        await wait_loaded(pilot)
        tree = app.query_one(HostTree)
        assert labels(tree)[:3] == ["alpha", "beta", "gamma"]
        # The cursor is on the folder we came from: one down is beta.
        await until(
            pilot,
            lambda: tree.cursor_node is not None and str(tree.cursor_node.label) == "alpha",
            "the cursor on alpha",
        )
        await pilot.press("down", "enter")
        await wait_loaded(pilot, root / "beta")
        await pilot.press("down", "space")
        await pilot.pause()
        # Two dirs called app: both targets are told apart by their parents' names.
        assert {m.source: m.target for m in picker.marks} == {
            str(root / "alpha/app"): "/workspace/alpha-app",
            str(root / "beta/app"): "/workspace/beta-app",
        }
        # Mouse: the row's mode button toggles read-only, its ✕ unmarks.
        await pilot.click(".mode")
        await pilot.pause()
        assert picker.marks[0].read_only
        await pilot.click(".unmark")
        await pilot.pause()
        assert [m.source for m in picker.marks] == [str(root / "beta/app")]
        assert picker.marks[0].target == "/workspace/app"


async def _marked_with_conflict(pilot: Pilot[None]) -> None:
    await wait_loaded(pilot)
    await pilot.press("down", "space", "enter")
    await wait_loaded(pilot, SNAPSHOT_TREE / "alpha")
    await pilot.press("down", "space", "down", "down", "r")
    await marks_shown(pilot, 3)


def test_snapshot_picker_120x40(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = PickerApp(make_tree(SNAPSHOT_TREE))
    assert snap_compare(app, terminal_size=(120, 40), run_before=_marked_with_conflict)


def test_snapshot_picker_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = PickerApp(make_tree(SNAPSHOT_TREE))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_marked_with_conflict)
