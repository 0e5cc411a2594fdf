"""What tracking hands the dashboard is bounded, whatever the agent writes: one file's diff is cut
at a fixed size (memory and drawing time do not follow a 20 MB text file), and the Changes list
draws a fixed number of rows however many files change."""

from __future__ import annotations

import time
from pathlib import Path

import docker
from textual.app import App, ComposeResult

from container.sessions import Sessions
from container.tracking import FILE_DIFF_LIMIT, Tracker
from container.tracking_model import ChangedFile
from tests.security.conftest import CLI, as_agent
from tests.waiting import until
from widgets.changes_panel import MAX_ROWS, ChangesPanel


def test_a_huge_text_change_gives_a_bounded_diff(
    cli: CLI, engine: docker.DockerClient, project: Path
):
    res = cli(str(project), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    name = res.out.strip().splitlines()[-1]
    work = f"/workspace/{project.name}"
    # 20 MB of text lines, and an escape sequence in them.
    code, out = as_agent(
        engine,
        name,
        f"python3 -c \"import sys; sys.stdout.write(('line \\x1b[2J of text\\\\n') * 1200000)\""
        f" > {work}/huge.txt",
    )
    assert code == 0, out
    tracker = Tracker(engine.api, Sessions(engine).get(name))
    tracker.ensure_baseline()
    started = time.monotonic()
    diff = tracker.file_diff(f"{project.name}/huge.txt")
    took = time.monotonic() - started
    # Cut at the limit in git's bytes; escaping a control byte shows it as 4 characters at most.
    assert len(diff.encode()) < 4 * FILE_DIFF_LIMIT + 4096
    assert "more bytes not shown here" in diff
    assert "+line" in diff and "\x1b" not in diff
    assert took < 30, took


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield ChangesPanel(id="changes")


async def test_the_changes_list_draws_a_bounded_number_of_rows():
    many = [ChangedFile(f"dir/file{i:06}.txt", "added", 1, 0, False) for i in range(50_000)]
    async with _Host().run_test(size=(120, 40)) as pilot:
        panel = pilot.app.query_one(ChangesPanel)
        started = time.monotonic()
        panel.show_changes(many)
        await pilot.pause()
        took = time.monotonic() - started
        summary = str(panel.query_one("#changes-summary").render())
        await until(pilot, lambda: len(panel.changes) == MAX_ROWS, "the capped list")
        assert "50000 file(s) changed" in summary and f"first {MAX_ROWS} listed" in summary
        assert took < 5, took
        panel.show_changes(many)  # the same again: updated in place, still capped
        await pilot.pause()
        assert len(panel.changes) == MAX_ROWS
