"""What a user over SSH in tmux sees: attach to the agent, type, detach, come back."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import CLI, REPO


class Pane:
    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def text(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True, check=True).stdout

    def wait_for(self, needle: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if needle in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} never appeared; the pane shows:\n{self.text()}")


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    name = f"claudextest-{uuid.uuid4().hex[:8]}"
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in os.environ.items()
                   if k.startswith(("XDG_", "CLAUDEX_", "DOCKER_")))
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40",
                    "-c", str(REPO), f"env {env} bash --norc --noprofile"], check=True)
    try:
        yield Pane(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_attach_type_detach_and_come_back(pane: Pane, project: Path, cli: CLI) -> None:
    command = f"{sys.executable} -m claudex_tui.cli {project} --agent shell"
    pane.keys(command, "Enter")
    pane.wait_for("agent@proj:/workspace/proj$", timeout=60)  # the agent's shell, in the mount
    pane.keys("echo hello-from-$((6*7))", "Enter")
    pane.wait_for("hello-from-42")
    pane.keys("C-]")
    pane.wait_for("detached from")
    # Back to the agent: what it showed before is still there, it never stopped.
    pane.keys("clear", "Enter")
    pane.keys(command, "Enter")
    screen = pane.wait_for("hello-from-42")
    assert "Traceback" not in screen
    time.sleep(1)  # tmux's client queries the terminal as it attaches; let it settle
    pane.keys("tput cols", "Enter")
    pane.wait_for("\n120")
