"""Several isolated sessions of the same directories are shown together in the session list,
under one header per directory set, at the place of the first; other sessions stay where
they were, and the cursor moves over the sessions only."""

from __future__ import annotations

import json
from dataclasses import replace

from textual.app import App, ComposeResult

from container.labels import ISOLATED, SessionInfo
from tests.waiting import until
from widgets.session_list import SessionList, SessionRow


def _session(name: str, dirs: list[str] | None = None) -> SessionInfo:
    info = SessionInfo(
        id=name, name=name, state="running", status="Up", image="claudex", created=None,
        signature="0" * 8, slug=name, mounts=dirs or [f"/p/{name}"], version="1",
        agent="shell", network_mode="bridge",
    )  # fmt: skip
    if dirs is None:
        return info
    copies = {d: f"/data/claudex/isolated/{name}/work/{i}" for i, d in enumerate(dirs)}
    return replace(info, labels={**info.labels, ISOLATED: json.dumps(copies)})


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SessionList(id="sessions")


async def test_isolated_sessions_of_the_same_directories_are_grouped() -> None:
    app = ListApp()
    async with app.run_test(size=(70, 30)) as pilot:
        lst = app.query_one(SessionList)
        lst.set_rows(
            [
                SessionRow(_session("web-a", ["/p/web", "/p/lib"])),
                SessionRow(_session("plain")),
                SessionRow(_session("other", ["/p/other"])),
                SessionRow(_session("web-b", ["/p/lib", "/p/web"])),  # same set, other order
                SessionRow(_session("web-c", ["/p/web"])),  # another set
                SessionRow(_session("web-d", ["/p/web", "/p/lib"])),
            ]
        )
        await pilot.pause()
        options = lst.options
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        # First seen in name order; web-d joins its group, web-c (another set) comes after.
        assert ids[:2] == ["other", "plain"] and ids[3:] == ["web-a", "web-b", "web-d", "web-c"]
        assert ids[2] is not None and ids[2].startswith("isolated:")
        header = options.get_option_at_index(2)
        assert header.disabled and "isolated copies of lib, web · 3 sessions" in str(header.prompt)
        assert lst.shown == ids[:2] + ids[3:]

        lst.select("web-a")
        lst.move(1)
        await until(pilot, lambda: lst.selected == "web-b", "the next session of the group")
        lst.move(-1)
        lst.move(-1)
        await until(pilot, lambda: lst.selected == "plain", "the header is skipped")
