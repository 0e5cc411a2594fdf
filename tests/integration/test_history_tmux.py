"""The History view as a user in tmux sees it: a real dashboard on a real shell session, 5,000
numbered lines printed, Shift+PgUp, `/line 1234` Enter, copy, Esc, typing again.

The test's own tmux server (its own socket, `set-clipboard on`) stands for the user's terminal:
an OSC 52 sequence the dashboard writes lands in that server's paste buffer, which is what a
terminal (or the outer tmux over SSH) receives.
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

from container.pane_history import capture_history
from container.sessions import Sessions
from tests.integration.conftest import CLI, exec_in
from tests.integration.second_engine import SecondEngine
from tests.integration.tmux_pane import Pane
from tests.waiting import wait_for
from widgets.terminal.history_rows import parse_history


def _style_before(escaped: str, needle: str) -> str:
    """The SGR sequences drawn right before `needle` on its line of a `capture-pane -e`."""
    line = next(line for line in escaped.splitlines() if needle in line)
    before = line[: line.index(needle)]
    return "".join(re.findall(r"\x1b\[[0-9;:]*m", before)[-3:])


def test_history_find_copy_and_type_again(pane: Pane, project: Path, cli: CLI) -> None:
    pane.keys(f"{sys.executable} -m claudex_tui.cli {project} --agent shell", "Enter")
    pane.wait_for("agent@proj:/workspace/proj$", timeout=90)
    pane.keys("seq -f 'line %g' 5000", "Enter")
    pane.wait_for("line 5000")
    assert "line 1234" not in pane.text()  # long scrolled away

    pane.keys("S-PageUp")
    pane.wait_for(" of 5", timeout=60)  # the status line: "History a-b of 5,0xx"
    pane.keys("/")
    pane.wait_for("search up")
    pane.keys("line 1234", "Enter")

    # The status line and the lines can be captured half redrawn: wait for both.
    def hit_shown() -> bool:
        s = pane.text()
        return "'line 1234': 1 hit" in s and "line 1234" in s.replace("'line 1234'", "")

    wait_for("the hit in the status line and on screen", hit_shown, 30)
    # Highlighted: drawn in another style than its neighbours.
    escaped = pane.text(escapes=True)
    assert _style_before(escaped, "line 1234") != _style_before(escaped, "line 1233")

    pane.keys("y")
    wait_for("the copied line in tmux's buffer", lambda: pane.buffer() == "line 1234", 30)

    pane.keys("Escape")
    wait_for("the live terminal again", lambda: " of 5" not in pane.text(), 30)
    pane.keys("echo typed-$((6*7))", "Enter")
    screen = pane.wait_for("typed-42")
    assert "Traceback" not in screen


def test_history_of_a_session_on_another_engine(
    cli: CLI, project: Path, second_engine: SecondEngine, tmp_path: Path
) -> None:
    """The capture uses only the session's own engine (its exec API): a session on a second
    dockerd (standing for a remote host) gives its history as a local one does."""
    conf = tmp_path / "xdg-d2" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'[engines.d2]\nhost = "{second_engine.host}"\n')
    env = {"XDG_CONFIG_HOME": str(conf.parent)}
    res = cli(str(project), "-d", "--agent", "shell", "--engine", "d2", env=env)
    assert res.code == 0, res.text
    client = second_engine.client()
    name = res.out.strip()
    try:
        session = Sessions(client).get(name)
        marker = f"on-d2-{uuid.uuid4().hex[:6]}"
        tty = "$(tmux display -p -t agent '#{pane_tty}')"
        code, out = exec_in(client, name, f"seq -f '{marker} %g' 300 > {tty}", user="4242")
        assert code == 0, out

        def captured() -> bytes:
            data = capture_history(client, session, 1000)
            return data if f"{marker} 300".encode() in data else b""

        data = wait_for("the marker in the history on d2", captured, 60)
        rows = [row.text for row in parse_history(data, 120)]
        assert f"{marker} 2" in rows and f"{marker} 300" in rows  # (1 follows the prompt)
    finally:
        client.api.remove_container(name, force=True, v=True)
