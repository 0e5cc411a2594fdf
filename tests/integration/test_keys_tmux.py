"""The footer tells the truth in a real terminal: the real dashboard on a real session in tmux
(120x40), the footer read from the pane, keys typed as a user types them, a remapped key."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.integration.conftest import CLI
from tests.integration.tmux_pane import Pane

SHELL = "agent@proj:/workspace/proj$"


def footer(screen: str) -> str:
    return [line for line in screen.splitlines() if line.strip()][-1]


def test_footer_and_keys_in_the_terminal_and_the_list(
    pane: Pane,
    project: Path,
    cli: CLI,
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    (config / "claudex").mkdir(parents=True)
    (config / "claudex" / "config.toml").write_text('[keys]\nleave_terminal = "ctrl+g"\n')
    command = f"XDG_CONFIG_HOME={config} {sys.executable} -m claudex_tui.cli {project}"
    pane.keys(f"{command} --agent shell; echo exit-code=$?", "Enter")
    pane.wait_for(SHELL, timeout=90)

    # In the terminal: only what works there, the remapped key as it is now.
    screen = pane.wait_until(lambda s: "Leave terminal" in footer(s), "the terminal's footer")
    line = footer(screen)
    assert "^g Leave terminal" in line and "^]" not in line, line
    assert "Next session" in line
    for lie in ("q Quit", "n New", "D Destroy", "? Keys", "^p Palette"):
        assert lie not in line, line
    # q is the agent's here: the shell gets it, the dashboard stays.
    pane.keys("q", "Enter")
    pane.wait_for("q: command not found")
    # Ctrl-] is no longer the way out: the shell gets it (bash's character search, which
    # takes the next key), and the next line still goes to the shell.
    pane.keys("C-]", "x", "C-u")
    pane.keys("echo still-$((6*7))", "Enter")
    pane.wait_for("still-42")

    # The remapped key leaves; the footer now shows the dashboard's keys.
    pane.keys("C-g")
    screen = pane.wait_until(lambda s: "q Quit" in footer(s), "the list's footer")
    line = footer(screen)
    assert "? Keys" in line and "Leave terminal" not in line, line
    pane.keys("?")
    pane.wait_for("claudex keys")
    pane.keys("End")  # the terminal's keys come last
    screen = pane.wait_for("leave_terminal")
    assert any("^g" in row and "Leave terminal" in row for row in screen.splitlines())
    pane.keys("Escape")
    pane.wait_until(lambda s: "claudex keys" not in s, "the help closed")
    pane.keys("q")
    # The dashboard is gone: the shell's screen is back. (Its exit code is not awaited: the
    # process can wait on a tracking exec of another session on this shared engine.)
    screen = pane.wait_for("claudex: created session", timeout=30)
    assert "Traceback" not in screen
