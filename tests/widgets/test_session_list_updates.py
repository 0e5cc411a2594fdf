"""The session list redraws only what changed: an agent's activity every 2 s that leaves its
row's text as it was (still "0s" ago) costs the option list nothing, and a change redraws that
row alone (each prompt replaced makes the option list render every row again)."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

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


async def test_activity_that_changes_no_text_replaces_no_row() -> None:
    app = ListApp()
    async with app.run_test(size=(60, 30)) as pilot:
        lst = app.query_one(SessionList)
        lst.set_rows([SessionRow(_session(n)) for n in range(10)])
        await pilot.pause()
        replaced: list[int] = []
        original = lst.options.replace_option_prompt_at_index

        def spy(index: int, prompt: object) -> object:
            replaced.append(index)
            return original(index, prompt)  # type: ignore[arg-type]

        lst.options.replace_option_prompt_at_index = spy  # type: ignore[method-assign,assignment]
        now = time.time()
        lst.update_row("claudex-s03", last_output=now)
        assert replaced == [3]  # the row now says "0s": that row alone
        lst.update_row("claudex-s03", last_output=time.time())
        assert replaced == [3]  # still "0s": nothing redrawn
        lst.update_row("claudex-s05", waiting=False)  # was not waiting
        assert replaced == [3]
        lst.update_row("claudex-s05", waiting=True)
        assert replaced == [3, 5]
        assert "◆" in str(lst.options.get_option_at_index(5).prompt)
        # The whole list given again, as the engine's events do: no text changed, no row.
        lst.set_rows(list(lst.rows.values()))
        assert replaced == [3, 5]
