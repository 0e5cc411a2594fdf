"""What a user over SSH in tmux sees: attach to the agent, type, detach, come back."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.integration.conftest import CLI
from tests.integration.tmux_pane import Pane


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
