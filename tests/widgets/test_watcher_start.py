"""The dashboard starts the selected session's watchers at once and the others a few at a time
(each is an exec and a process in its session: all at once, on an engine with 90 sessions, they
held the selected terminal's own exec for seconds)."""

from __future__ import annotations

from collections.abc import Callable

from claudex_tui.demo_backend import SESSIONS
from container.labels import SessionInfo
from tests.fakes import FakeBackend
from tests.waiting import until
from tests.widgets.demo_app import DemoApp


class _Recorded:
    def __init__(self, name: str, started: list[str]) -> None:
        self.name, self.started = name, started

    def start(self) -> None:
        self.started.append(self.name)

    def stop(self) -> None:
        pass


class RecordingBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__()
        self.started: list[str] = []

    def watch_waiting(self, session: SessionInfo, on_line: Callable[[str], None]) -> _Recorded:
        return _Recorded(session.name, self.started)


async def test_selected_session_watched_first_then_the_others() -> None:
    backend = RecordingBackend()
    selected = SESSIONS[3].name  # last in the list
    app = DemoApp(backend=backend, select=selected)
    running = {s.name for s in SESSIONS if s.running and s.managed}
    assert selected in running and len(running) > 2
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: backend.started, "a watcher started")
        assert backend.started[0] == selected
        await until(pilot, lambda: set(backend.started) == running, "every session watched")
        assert len(backend.started) == len(running)  # each once
