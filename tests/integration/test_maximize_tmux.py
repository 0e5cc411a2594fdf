"""Maximize in a real terminal (tmux, 120x40, as over SSH): Alt-Z from inside the agent's
terminal gives it the whole screen but a status line, the agent sees the full width, and Alt-Z
again brings the list and tabs back."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.integration.conftest import CLI
from tests.integration.tmux_pane import Pane


def _lines(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if line.strip()]


def test_alt_z_maximizes_the_terminal(pane: Pane, project: Path, cli: CLI) -> None:
    pane.keys(f"{sys.executable} -m claudex_tui.cli {project} --agent shell", "Enter")
    pane.wait_for("agent@proj:/workspace/proj$", timeout=60)
    assert "Changes" in pane.text()
    pane.keys("M-z")  # tmux sends ESC z, as a terminal over SSH does
    screen = pane.wait_until(
        lambda s: "restore" in _lines(s)[-1] and "Changes" not in s, "the maximized terminal"
    )
    assert _lines(screen)[-1].lstrip().startswith("claudex")  # the session's name, first
    # The agent's terminal is the screen's width now (the exec was resized).
    pane.retype_until("clear; echo cols-$(tput cols)", "cols-120")
    pane.keys("M-z")
    # A capture can catch the redraw half done (tabs back, old status line): wait for both.
    pane.wait_until(
        lambda s: "Changes" in s and "restore" not in _lines(s)[-1], "the list and tabs back"
    )
    pane.retype_until("clear; echo width-$(tput cols)", "width-")
    assert "width-120" not in pane.text()
    pane.keys("C-]")
    pane.wait_until(lambda s: "New" in _lines(s)[-1], "the dashboard's keys in the footer")
    pane.keys("q")
    screen = pane.wait_until(pane.at_prompt, "the shell prompt after quitting", timeout=10)
    assert "Traceback" not in screen
