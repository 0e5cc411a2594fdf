"""The list's change counts and the firewall checks (every 15 s) read each quiet session only
every third round: every read is an exec in that session, and 20 quiet sessions made them the
most of an idle dashboard's work. The selected session, sessions with output lately and
sessions never read are read every round."""

from __future__ import annotations

import time
from typing import Any

import pytest

from claudex_tui.screens.dashboard_tabs import QUIET_ROUNDS
from container.labels import SessionInfo
from tests.fakes import FakeBackend
from tests.waiting import steady, until
from tests.widgets.demo_app import DemoApp


class CountingBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__()
        self.reads: dict[str, list[str]] = {"counts": [], "firewall-check": []}

    def changes(self, session: SessionInfo, *args: Any, **kw: Any) -> Any:
        self.reads["counts"].append(session.name)
        return super().changes(session, *args, **kw)

    def firewall_status(self, session: SessionInfo, brief: bool = False) -> Any:
        self.reads["firewall-check"].append(session.name)
        return super().firewall_status(session, brief)


@pytest.mark.parametrize("kind", ["counts", "firewall-check"])
async def test_quiet_sessions_are_read_every_third_round(kind: str) -> None:
    backend = CountingBackend()
    app = DemoApp(backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = app.dashboard
        await until(pilot, lambda: app.session_list.selected, "the first session selected")
        running = sorted(s.name for s in dash._running_managed())
        assert len(running) >= 3, "the demo has several running sessions"
        selected = app.session_list.selected
        check = dash._refresh_counts if kind == "counts" else dash._check_firewalls

        async def one_round() -> list[str]:
            backend.reads[kind].clear()
            check()
            await until(pilot, steady(lambda: not dash._busy(kind)), f"the {kind} round")
            return sorted(backend.reads[kind])

        assert await one_round() == running  # the first round reads every session
        assert await one_round() == [selected]
        busy = next(n for n in running if n != selected)
        app.session_list.update_row(busy, last_output=time.time())  # it wrote lately
        assert await one_round() == sorted({selected, busy})
        assert QUIET_ROUNDS == 3
        assert await one_round() == running  # every third round: all of them
