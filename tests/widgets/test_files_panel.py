"""The Files tab with Pilot: keyboard copy, mouse drag, conflicts, cancel, stopped sessions.

The container side is an in-memory double of `ContainerFiles` (what these tests claim is the
widget's behaviour; the real service has its own test on the engine)."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Label

from container.labels import SessionInfo
from tests.fakes import FakeFiles
from tests.waiting import settled, until
from widgets.files.conflict_screen import ConflictScreen
from widgets.files.model import free_name
from widgets.files.panel import FilesPanel
from widgets.files.transfer_row import TransferRow
from widgets.files.trees import ContainerTree, HostTree


def _session(state: str = "running") -> SessionInfo:
    return SessionInfo(
        id="c0ffee",
        name="claudex-demo-12345678",
        state=state,
        status="",
        image="claudex",
        created=None,
        signature="12345678",
        slug="demo",
        mounts=["/home/u/demo"],
        version="",
        agent="shell",
        network_mode="firewalled",
    )


class Harness(App[None]):
    def __init__(self, files: FakeFiles, host_root: Path) -> None:
        super().__init__()
        self.files = files
        self.host_root = host_root

    def compose(self) -> ComposeResult:
        yield FilesPanel(lambda _s: self.files, host_root=self.host_root)


@pytest.fixture
def host(tmp_path: Path) -> Path:
    root = tmp_path / "host"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "b.txt").write_text("b")
    return root


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await settled(pilot, "the Files panel's listings, checks and transfers")


async def _ready(pilot, state: str = "running") -> FilesPanel:  # type: ignore[no-untyped-def]
    panel = pilot.app.query_one(FilesPanel)
    panel.set_session(_session(state))
    await _settle(pilot)
    return panel


def _line_of(tree: HostTree | ContainerTree, path: str) -> int:
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and tree.node_path(node) == path:
            return line
    raise AssertionError(f"{path} is not shown")


async def test_keyboard_mark_and_copy_to_the_session(host: Path) -> None:
    files = FakeFiles()
    async with Harness(files, host).run_test(size=(120, 36)) as pilot:
        panel = await _ready(pilot)
        tree = panel.host
        tree.focus()
        tree.cursor_line = _line_of(tree, str(host / "a.txt"))
        await pilot.press("space")  # marks a.txt, moves to b.txt
        await pilot.press("space")  # marks b.txt
        assert tree.marks == {str(host / "a.txt"), str(host / "b.txt")}
        await pilot.press("c")
        await _settle(pilot)
        assert files.pushes == [
            ([str(host / "a.txt"), str(host / "b.txt")], "/workspace", ["a.txt", "b.txt"], False)
        ]
        assert tree.marks == set()
        row = panel.query_one(TransferRow)
        assert row.has_class("done")
        # the session folder was listed again: the copies show up
        names = [str(n.label) for n in panel.remote.find("/workspace")[0].children]
        assert any(n.startswith("a.txt") for n in names), names


async def test_keyboard_copy_from_the_session_to_the_host_folder(host: Path) -> None:
    files = FakeFiles()
    async with Harness(files, host).run_test(size=(120, 36)) as pilot:
        panel = await _ready(pilot)
        panel.host.cursor_line = _line_of(panel.host, str(host / "sub"))
        remote = panel.remote
        remote.focus()
        remote.cursor_line = _line_of(remote, "/workspace/notes.md")
        await pilot.press("f5")
        await _settle(pilot)
        assert files.pulls == [("/workspace/notes.md", str(host / "sub"), "notes.md", False)]
        assert (host / "sub" / "notes.md").read_text() == "from /workspace/notes.md"


async def test_mouse_drag_from_host_file_to_session_folder(host: Path) -> None:
    files = FakeFiles()
    async with Harness(files, host).run_test(size=(120, 36)) as pilot:
        panel = await _ready(pilot)
        host_line = _line_of(panel.host, str(host / "b.txt"))
        proj_line = _line_of(panel.remote, "/workspace/proj")
        # +1: the pane's border
        await pilot.mouse_down(panel.host, offset=(6, host_line + 1))
        await pilot.hover(panel.remote, offset=(8, proj_line + 1))
        await pilot.pause()
        indicator = panel.query_one("#drag-indicator", Label)
        assert indicator.display
        assert "b.txt" in str(indicator.render())
        assert panel.remote.has_class("drop-target")
        await pilot.mouse_up(panel.remote, offset=(8, proj_line + 1))
        await _settle(pilot)
        assert not indicator.display
        assert not panel.remote.has_class("drop-target")
        assert files.pushes == [([str(host / "b.txt")], "/workspace/proj", ["b.txt"], False)]


async def test_mouse_drag_from_session_file_to_host_folder(host: Path) -> None:
    files = FakeFiles()
    async with Harness(files, host).run_test(size=(120, 36)) as pilot:
        panel = await _ready(pilot)
        src_line = _line_of(panel.remote, "/workspace/notes.md")
        sub_line = _line_of(panel.host, str(host / "sub"))
        await pilot.mouse_down(panel.remote, offset=(8, src_line + 1))
        await pilot.hover(panel.host, offset=(6, sub_line + 1))
        await pilot.mouse_up(panel.host, offset=(6, sub_line + 1))
        await _settle(pilot)
        assert files.pulls == [("/workspace/notes.md", str(host / "sub"), "notes.md", False)]


async def test_a_click_is_not_a_drop(host: Path) -> None:
    files = FakeFiles()
    async with Harness(files, host).run_test(size=(120, 36)) as pilot:
        panel = await _ready(pilot)
        line = _line_of(panel.host, str(host / "a.txt"))
        await pilot.click(panel.host, offset=(6, line + 1))
        await _settle(pilot)
        assert files.pushes == [] and files.pulls == []


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("o", [([], "/workspace", ["notes.md"], True)]),
        ("r", [([], "/workspace", ["notes (2).md"], False)]),
        ("s", []),
    ],
)
async def test_conflicts_ask_overwrite_skip_or_rename(
    host: Path, key: str, expected: list[tuple[list[str], str, list[str], bool]]
) -> None:
    (host / "notes.md").write_text("mine")
    files = FakeFiles()
    async with Harness(files, host).run_test(size=(120, 36)) as pilot:
        panel = await _ready(pilot)
        panel.host.focus()
        panel.host.cursor_line = _line_of(panel.host, str(host / "notes.md"))
        await pilot.press("c")
        await _settle(pilot)
        assert isinstance(pilot.app.screen, ConflictScreen)
        await pilot.press(key)
        await _settle(pilot)
        assert not isinstance(pilot.app.screen, ConflictScreen)
        want = [([str(host / "notes.md")], d, n, f) for _, d, n, f in expected]
        assert files.pushes == want


async def test_transfers_run_in_the_background_and_can_be_cancelled(host: Path) -> None:
    files = FakeFiles()
    files.slow = True
    async with Harness(files, host).run_test(size=(120, 36)) as pilot:
        panel = await _ready(pilot)
        panel.host.focus()
        panel.host.cursor_line = _line_of(panel.host, str(host / "a.txt"))
        await pilot.press("c")

        def progress_shown() -> bool:
            rows = panel.query(TransferRow)
            return bool(rows) and "/s" in str(rows.first().query_one(".status", Label).render())

        await until(pilot, progress_shown, "the transfer's progress")
        row = panel.query_one(TransferRow)
        # the UI keeps working meanwhile: moving and marking in the other pane
        panel.remote.focus()
        await pilot.press("down", "down", "space")
        assert panel.remote.marks
        await pilot.click(row.query_one("Button"))
        await _settle(pilot)
        assert row.has_class("failed")
        assert "cancelled" in str(row.query_one(".status", Label).render())


async def test_stopped_and_no_session(host: Path) -> None:
    files = FakeFiles()
    async with Harness(files, host).run_test(size=(120, 36)) as pilot:
        panel = await _ready(pilot, state="exited")
        first = panel.remote.get_node_at_line(0)
        assert first is not None and "start it to browse" in str(first.label)
        panel.host.focus()
        await pilot.press("c")
        await _settle(pilot)
        assert files.pushes == []
        panel.set_session(None)
        await _settle(pilot)
        first = panel.remote.get_node_at_line(0)
        assert first is not None and "select a session" in str(first.label)


def test_free_name() -> None:
    assert free_name("a.txt", []) == "a.txt"
    assert free_name("a.txt", ["a.txt"]) == "a (2).txt"
    assert free_name("a.txt", ["a.txt", "a (2).txt"]) == "a (3).txt"
    assert free_name(".env", [".env"]) == ".env (2)"
    assert PurePosixPath(free_name("dir", ["dir"])).name == "dir (2)"


def test_snapshot(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = Path("/tmp/claudex-files-snapshot")  # fixed: the root path is drawn
    # Completed in place, never made again: two test runs at once share it.
    (root / "src").mkdir(parents=True, exist_ok=True)
    for name, data in (("README.md", b"hi"), ("data.bin", b"0" * 2048)):
        if not (root / name).is_file() or (root / name).read_bytes() != data:
            part = tmp_path / name
            part.write_bytes(data)
            shutil.move(part, root / name)
    files = FakeFiles()

    async def setup(pilot) -> None:  # type: ignore[no-untyped-def]
        panel = pilot.app.query_one(FilesPanel)
        panel.set_session(_session())
        await _settle(pilot)
        panel.host.focus()
        panel.host.cursor_line = _line_of(panel.host, str(root / "README.md"))
        await pilot.press("space")
        await _settle(pilot)

    assert snap_compare(Harness(files, root), terminal_size=(100, 24), run_before=setup)
