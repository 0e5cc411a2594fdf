"""Fakes shared by the widget tests: the demo backend with terminals and files tests can
drive (the data itself is `claudex_tui.demo_backend`'s, which the screenshots use too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from claudex_tui.demo_backend import TERMINAL, DemoBackend
from container.labels import SessionInfo
from tests.widgets.test_files_panel import FakeFiles
from tests.widgets.test_terminal_widget import ScriptedChannel


class FakeBackend(DemoBackend):
    """The demo's engine; terminals are ScriptedChannels showing the demo's screen, the Files
    tab is an in-memory FakeFiles (`files_of` replaces it, for a test that plants entries)."""

    def __init__(self) -> None:
        super().__init__()
        self.channels: list[ScriptedChannel] = []
        self.files_of: FakeFiles | None = None

    def channel_factory(self, session: SessionInfo) -> Callable[[], Any]:
        def make() -> ScriptedChannel:
            channel = ScriptedChannel()
            channel.emit(TERMINAL)
            self.channels.append(channel)
            return channel

        return make

    def files(self, session: SessionInfo) -> FakeFiles:
        return self.files_of or FakeFiles()
