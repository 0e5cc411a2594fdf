"""The Files tab on the real engine: SessionFiles behind FilesPanel, keys and mouse."""

from __future__ import annotations

from pathlib import Path

import docker
from textual.app import App, ComposeResult

from claudex_tui.files_service import service_factory
from container.sessions import Sessions
from tests.integration.conftest import CLI, exec_in
from tests.widgets.test_files_panel import _line_of, _settle
from widgets.files.panel import FilesPanel
from widgets.files.transfer_row import TransferRow


class Harness(App[None]):
    def __init__(self, engine: docker.DockerClient, host_root: Path) -> None:
        super().__init__()
        self.engine = engine
        self.host_root = host_root

    def compose(self) -> ComposeResult:
        yield FilesPanel(service_factory(self.engine), host_root=self.host_root)


async def test_copy_both_ways_with_the_real_service(
    cli: CLI, project: Path, tmp_path: Path, engine: docker.DockerClient
) -> None:
    res = cli(str(project), "-d", "--agent", "shell", "--host-network")
    assert res.code == 0, res.text
    name = res.out.strip()
    exec_in(engine, name, "echo from-session > /workspace/made-inside.txt", user="4242")
    host = tmp_path / "host"
    host.mkdir()
    (host / "to-push.txt").write_text("from host")

    async with Harness(engine, host).run_test(size=(120, 36)) as pilot:
        panel = pilot.app.query_one(FilesPanel)
        panel.set_session(Sessions(engine).get(name))
        await _settle(pilot)
        # keys: mark on the host, copy into /workspace
        panel.host.focus()
        panel.host.cursor_line = _line_of(panel.host, str(host / "to-push.txt"))
        await pilot.press("space", "c")
        await _settle(pilot)
        row = panel.query_one(TransferRow)
        assert row.has_class("done"), row.query_one(".status").render()
        # mouse: drag the session's file onto the host folder
        src = _line_of(panel.remote, "/workspace/made-inside.txt")
        dst = _line_of(panel.host, str(host))
        await pilot.mouse_down(panel.remote, offset=(8, src + 1))
        await pilot.hover(panel.host, offset=(6, dst + 1))
        await pilot.mouse_up(panel.host, offset=(6, dst + 1))
        await _settle(pilot)

    _, out = exec_in(
        engine, name, "stat -c %u:%g /workspace/to-push.txt; cat /workspace/to-push.txt"
    )
    assert out.split("\n")[:2] == ["4242:4242", "from host"]
    assert (host / "made-inside.txt").read_text() == "from-session\n"
