"""The session list redraws only what changed: an agent's activity every 2 s that leaves its
row's text as it was (still "now") costs the option list nothing, and a change redraws that
row alone (each prompt replaced makes the option list render every row again)."""

from __future__ import annotations

import time

import pytest
from textual.app import App, ComposeResult

import widgets.session_list as session_list
from container.labels import SessionInfo
from widgets.session_list import SessionList, SessionRow


def _session(n: int) -> SessionInfo:
    return SessionInfo(
        id=f"id{n}",
        name=f"claudex-s{n:02d}",
        state="running",
        status="Up",
        image="claudex",
        created=None,
        signature="0" * 8,
        slug=f"s{n:02d}",
        mounts=[f"/p/{n}"],
        version="1",
        agent="shell",
        network_mode="bridge",
    )


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SessionList(id="sessions")


async def test_activity_that_changes_no_text_replaces_no_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = ListApp()
    async with app.run_test(size=(60, 30)) as pilot:
        lst = app.query_one(SessionList)
        lst.set_rows([SessionRow(_session(n)) for n in range(10)])
        await pilot.pause()
        replaced: list[int] = []
        original = session_list._replace_prompt

        def spy(options: object, index: int, prompt: object, fits: bool) -> None:
            replaced.append(index)
            original(options, index, prompt, fits)  # type: ignore[arg-type]

        monkeypatch.setattr(session_list, "_replace_prompt", spy)
        now = time.time()
        lst.update_row("claudex-s03", last_output=now)
        assert replaced == [3]  # the row now says "now": that row alone
        lst.update_row("claudex-s03", last_output=time.time())
        assert replaced == [3]  # still "now": nothing redrawn
        lst.update_row("claudex-s05", waiting=False)  # was not waiting
        assert replaced == [3]
        await pilot.pause()
        first = lst.options.get_option_at_index(0)
        rendered = lst.options._option_render_cache.keys  # an LRUCache: no __iter__
        assert any(k[0] is first for k in rendered())
        lst.update_row("claudex-s05", waiting=True)
        # Only that row is rendered again: the others' rendered lines are kept.
        assert any(k[0] is first for k in rendered())
        assert replaced == [3, 5]
        await pilot.pause()
        # Shown: the option's two lines are lines 10 and 11 of the list.
        assert "◆ claudex-s05" in lst.options.render_line(10).text
        assert "claudex-s04" in lst.options.render_line(8).text
        # The whole list given again, as the engine's events do: no text changed, no row.
        lst.set_rows(list(lst.rows.values()))
        assert replaced == [3, 5]
