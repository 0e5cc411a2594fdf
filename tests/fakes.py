"""Fakes shared by the widget tests: a terminal channel and a session's files that tests
drive, and the demo backend with them (the data itself is `claudex_tui.demo_backend`'s, which
the screenshots use too)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claudex_tui.demo_backend import TERMINAL, DemoBackend
from container.labels import SessionInfo
from widgets.files.model import Entry, Outcome


class ScriptedChannel:
    """A terminal channel whose program is the test: `emit` is output, `written` is input."""

    def __init__(self) -> None:
        self.output: queue.Queue[bytes] = queue.Queue()
        self.written: list[bytes] = []
        self.sizes: list[tuple[int, int]] = []
        self.closed = threading.Event()
        self.code: int | None = None

    def emit(self, data: bytes) -> None:
        self.output.put(data)

    def start(self, rows: int, columns: int) -> None:
        self.sizes.append((rows, columns))

    def read(self, timeout: float | None) -> bytes | None:
        try:
            return self.output.get(timeout=timeout)
        except queue.Empty:
            return b"" if self.closed.is_set() else None

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def resize(self, rows: int, columns: int) -> None:
        self.sizes.append((rows, columns))

    def close(self) -> None:
        self.closed.set()

    @property
    def exit_code(self) -> int | None:
        return self.code

    def end(self, code: int) -> None:
        self.code = code
        self.output.put(b"")


class FakeFiles:
    """An in-memory session filesystem recording every call."""

    def __init__(self) -> None:
        self.tree: dict[str, list[Entry]] = {
            "/workspace": [Entry("proj", True), Entry("notes.md", False, 12)],
            "/workspace/proj": [Entry("main.py", False, 40)],
            "/": [Entry("workspace", True), Entry("etc", True)],
        }
        self.pushes: list[tuple[list[str], str, list[str], bool]] = []
        self.pulls: list[tuple[str, str, str, bool]] = []
        self.slow = False

    def list_dir(self, path: str) -> list[Entry]:
        return list(self.tree.get(path, []))

    def existing(self, directory: str, names: list[str]) -> set[str]:
        there = {e.name for e in self.tree.get(directory, [])}
        return {n for n in names if n in there}

    def push(self, sources, directory, *, names, force, progress, cancel) -> Outcome:  # type: ignore[no-untyped-def]
        self.pushes.append((list(sources), directory, list(names), force))
        if self.slow:  # goes on until cancelled, however long the test takes to get there
            done = 0
            while not cancel.wait(0.01):
                done = min(done + 1, 499)
                progress(done, 500)
            raise RuntimeError("transfer cancelled")
        listing = self.tree.setdefault(directory, [])
        for name in names:
            if name not in {e.name for e in listing}:
                listing.append(Entry(name, False, 1))
        return Outcome(written=len(sources), bytes=len(sources))

    def pull(self, source, directory, *, name, force, progress, cancel) -> Outcome:  # type: ignore[no-untyped-def]
        self.pulls.append((source, directory, name, force))
        Path(directory, name).write_text(f"from {source}")
        return Outcome(written=1, bytes=1)


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
