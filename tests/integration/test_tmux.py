"""What a user over SSH in tmux sees: attach to the agent, type, detach, come back."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import CLI, REPO

PROMPT = "host-ready> "


class Pane:
    """A pane on a tmux server of its own (`-L NAME`): a server shared with other tests exits
    when their last session ends, and a new session asked of it at that moment fails with
    "server exited unexpectedly"."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tmux = ["tmux", "-L", name]

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def text(self) -> str:
        return subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def wait_for(self, needle: str, timeout: float = 30) -> str:
        return self.wait_until(lambda screen: needle in screen, needle, timeout)

    def wait_until(self, test: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if test(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{what!r} never appeared; the pane shows:\n{self.text()}")

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


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    name = f"claudextest-{uuid.uuid4().hex[:8]}"
    env = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in os.environ.items()
        if k.startswith(("XDG_", "CLAUDEX_", "DOCKER_"))
    )
    subprocess.run(
        [
            "tmux",
            "-L",
            name,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "120",
            "-y",
            "40",
            "-c",
            str(REPO),
            f"env {env} PS1='{PROMPT}' bash --norc --noprofile",
        ],
        check=True,
    )
    try:
        yield Pane(name)
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], check=False)


def test_dashboard_in_tmux(pane: Pane, project: Path, cli: CLI) -> None:
    """`claudex DIR` opens the dashboard on the session's live terminal, 120x40 in tmux."""
    pane.keys(f"{sys.executable} -m claudex_tui.cli {project} --agent shell", "Enter")
    screen = pane.wait_for("agent@proj:/workspace/proj$", timeout=60)
    assert "Terminal" in screen and "Changes" in screen and "Details" in screen
    pane.keys("echo dash-$((6*7))", "Enter")
    pane.wait_for("dash-42")
    pane.keys("C-]")  # leave the terminal: keys now drive the dashboard
    pane.keys("i")
    screen = pane.wait_for("/workspace/proj ")
    assert "Mounts" in screen and "rw" in screen
    pane.keys("?")
    pane.wait_for("claudex keys")
    pane.keys("Escape")
    # An Escape is known as one only once no key follows it at once (else Alt-<key>): the help
    # closing shows it was taken.
    pane.wait_until(lambda screen: "claudex keys" not in screen, "the help closed")
    pane.keys("q")
    screen = pane.wait_until(pane.at_prompt, "the shell prompt after quitting", timeout=10)
    assert "Traceback" not in screen


def test_attach_type_detach_and_come_back(pane: Pane, project: Path, cli: CLI) -> None:
    assert cli(str(project), "-d", "--agent", "shell").code == 0
    command = f"{sys.executable} -m claudex_tui.cli attach"
    pane.keys(f"cd {project} && {command}", "Enter")
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
    # tmux's client queries the terminal as it attaches; keys typed meanwhile can be taken for
    # its answers. The size is asked again until the shell answers.
    pane.retype_until("tput cols", "\n120")


def test_keys_typed_while_attaching_are_not_lost(pane: Pane, project: Path, cli: CLI) -> None:
    res = cli(str(project), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    # Typed at once, while claudex is still starting and connecting: a user typing ahead.
    pane.keys(f"{sys.executable} -m claudex_tui.cli attach {res.out.strip()}", "Enter")
    pane.keys("echo typed-ahead-$((6*7))", "Enter")
    pane.wait_for("typed-ahead-42", timeout=60)
    pane.keys("C-]")
    assert "Traceback" not in pane.wait_for("detached from")
