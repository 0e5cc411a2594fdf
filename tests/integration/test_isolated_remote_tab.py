"""The Changes tab of an isolated session on a remote engine (the second dockerd, named
`remote = true`): its copies are on that engine's host, so the dashboard reads and applies
them there through helper containers. The tab lists the agent's changes against the user's
directory, shows the file's hunks, `a` in the diff brings one hunk alone into the user's file
on that host, `A` the rest; the list's count is read there too."""

from __future__ import annotations

import os
from pathlib import Path

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from container.engines import Engine
from container.host_fs import HELPER_LABEL
from tests.integration.conftest import CLI
from tests.integration.second_engine import SecondEngine
from tests.integration.test_isolated_remote import agent, far, start_far  # noqa: F401
from tests.waiting import until, wait_for
from widgets.changes_panel import ChangesPanel

OLD = "".join(f"line {i}\n" for i in range(1, 21))
# Every line changed: one hunk larger than a helper's command-line argument may be (128 KiB).
BIG = "".join(f"big {i:<27}\n" for i in range(3000))


def far_app(second_engine: SecondEngine, select: str) -> ClaudexApp:
    """The dashboard with the second engine as its only engine, a remote one."""
    engine = Engine("far", second_engine.host, "config", remote_override=True)
    return ClaudexApp(config=Config(), engines=[engine], select=select)


async def test_the_changes_tab_reviews_and_applies_on_the_remote_host(
    cli: CLI,
    far: dict[str, str],  # noqa: F811
    project: Path,
    second_engine: SecondEngine,
) -> None:
    (project / "notes.txt").write_text(OLD)
    (project / "big.txt").write_text(BIG)
    for f in ("notes.txt", "big.txt"):
        os.lchown(project / f, 4242, 4242)
    name = start_far(cli, far, project)
    d2 = second_engine.client()
    try:
        agent(d2, name, "cd /workspace/proj && sed -i -e 's/^line 2$/two/' "
              "-e 's/^line 19$/nineteen/' notes.txt && echo new > added.txt && "
              "sed -i 's/^big/BIG/' big.txt")  # fmt: skip
        app = far_app(second_engine, f"far/{name}")
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.selected and app.selected.name == name, "selected")
            app.session_list.options.focus()
            await pilot.press("g")
            panel = app.query_one(ChangesPanel)
            await until(pilot, lambda: len(panel.changes) == 3, "the files listed", 90)
            paths = sorted(c.path for c in panel.changes)
            assert paths == [str(project / f) for f in ("added.txt", "big.txt", "notes.txt")]
            notes = [c.path for c in panel.changes].index(str(project / "notes.txt"))
            panel.query_one("#changes-files").highlighted = notes  # type: ignore[attr-defined]
            await until(
                pilot,
                lambda: (
                    panel.review is not None
                    and panel.review.path.endswith("notes.txt")
                    and len(panel.review.hunks) == 2
                ),
                "its two hunks",
                90,
            )
            assert "+nineteen" in panel.review.hunks[1].text  # type: ignore[union-attr]
            panel.query_one("#changes-diff").focus()
            await pilot.press("right_square_bracket", "a")
            await until(
                pilot,
                lambda: "nineteen" in (project / "notes.txt").read_text(),
                "the second hunk applied",
                90,
            )
            assert (project / "notes.txt").read_text() == OLD.replace("line 19\n", "nineteen\n")
            assert (project / "notes.txt").stat().st_uid == 4242  # still the user's file
            assert not (project / "added.txt").exists()  # one hunk: nothing else
            await until(
                pilot,
                lambda: panel.review is not None and len(panel.review.hunks) == 1,
                "one hunk left",
                90,
            )
            # The list's count (files that differ) is read on that host too.
            rows = app.session_list.rows
            count = lambda: getattr(rows.get(f"far/{name}"), "changed", None)  # noqa: E731
            await until(pilot, lambda: count() == 3, "the list's count", 90)

            # A hunk of 200 KB: sent into the helper as a file, not on its command line.
            big = [c.path for c in panel.changes].index(str(project / "big.txt"))
            panel.query_one("#changes-files").highlighted = big  # type: ignore[attr-defined]
            await until(
                pilot,
                lambda: panel.review is not None and panel.review.path.endswith("big.txt"),
                "big.txt's hunk",
                90,
            )
            assert len(panel.review.hunks) == 1  # type: ignore[union-attr]
            assert len(panel.review.hunks[0].text) > 128 * 1024  # type: ignore[union-attr]
            panel.query_one("#changes-diff").focus()
            await pilot.press("a")
            new_big = BIG.replace("big", "BIG")
            await until(
                pilot, lambda: (project / "big.txt").read_text() == new_big, "big.txt's hunk", 90
            )

            await pilot.press("A")
            await until(pilot, lambda: (project / "added.txt").exists(), "the rest applied", 90)
            both = OLD.replace("line 2\n", "two\n").replace("line 19\n", "nineteen\n")
            assert (project / "notes.txt").read_text() == both
            assert (project / "added.txt").read_text() == "new\n"
            assert (project / "added.txt").stat().st_uid == 4242
            await until(pilot, lambda: not panel.changes, "nothing left to apply", 90)
        # Once the dashboard is closed (while it runs its tab and counts start helpers now and
        # then): each helper is removed when its read ends.
        wait_for(
            "no helper container left",
            lambda: not d2.api.containers(all=True, filters={"label": [HELPER_LABEL]}),
            60,
        )
    finally:
        cli("destroy", "--name", name, "--force", "--engine", "far", env=far)
