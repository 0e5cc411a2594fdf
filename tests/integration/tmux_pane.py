"""A bash in a tmux pane of 120x40, what a user over SSH types into, for the tests that drive
the real CLI in tmux: the `pane` fixture (tests/integration/conftest.py offers it to every
integration test)."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.waiting import wait_for

PROMPT = "host-ready> "
REPO = Path(__file__).resolve().parents[2]  # the shell starts in the checkout


class Pane:
    """One tmux pane on a server of the test's own (`-L SOCKET`, never the user's tmux): a
    server shared with other tests exits when their last session ends, and a new session asked
    of it at that moment fails with "server exited unexpectedly"."""

    def __init__(self, socket: str, name: str) -> None:
        self.socket = socket
        self.name = name

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def text(self, escapes: bool = False) -> str:
        """The screen (with its colours as escape sequences: `escapes`)."""
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.name)

    def wait_until(self, test: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        """The screen once `test` holds for it; else fail showing the pane."""

        def check() -> tuple[str] | None:
            screen = self.text()
            return (screen,) if test(screen) else None

        try:
            return wait_for(repr(what), check, timeout)[0]
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the pane shows:\n{self.text()}") from None

    def wait_for(self, needle: str, timeout: float = 30) -> str:
        return self.wait_until(lambda screen: needle in screen, needle, timeout)

    def retype_until(self, line: str, needle: str, timeout: float = 60) -> str:
        """Types `line` until `needle` shows, each try given a few seconds to answer."""
        deadline = time.monotonic() + timeout
        while True:
            self.keys(line, "Enter")
            try:
                return self.wait_for(needle, timeout=min(5, max(deadline - time.monotonic(), 0)))
            except AssertionError:
                if time.monotonic() > deadline:
                    raise

    def at_prompt(self, screen: str) -> bool:
        lines = [line for line in screen.splitlines() if line.strip()]
        return bool(lines) and lines[-1].startswith(PROMPT.strip())

    def buffer(self) -> str:
        """tmux's paste buffer (what OSC 52 copied)."""
        try:
            return self.tmux("show-buffer")
        except subprocess.CalledProcessError:
            return ""  # no buffer yet


@pytest.fixture
def pane() -> Iterator[Pane]:
    """A bash at `PROMPT` in the repository, with the tests' XDG_/CLAUDEX_/DOCKER_ variables,
    on a tmux server of its own (no config file; OSC 52 sets tmux's buffer)."""
    socket = f"claudextest-{uuid.uuid4().hex[:8]}"
    env = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in os.environ.items()
        if k.startswith(("XDG_", "CLAUDEX_", "DOCKER_"))
    )
    command = f"env {env} PS1='{PROMPT}' bash --norc --noprofile"
    args = ["-x", "120", "-y", "40", "-c", str(REPO), command]
    subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "main", *args],
        check=True,
    )
    try:
        pane = Pane(socket, "main")
        pane.tmux("set", "-g", "set-clipboard", "on")
        yield pane
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False)
