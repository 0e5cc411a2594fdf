"""Gemini CLI, Copilot CLI and opencode on the real image: each starts in a session (its own UI in
the agent's tmux, before any login), as the agent user; the tools the original ships are there."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.conftest import CLI, exec_in
from tests.waiting import wait_for

AGENT = "4242"
# What each shows first without a login or a network beyond the firewall's list. opencode waits
# for models.dev (unreachable here: no route out but the proxy for npm and Debian) before its
# first frame, so it gets longer.
FIRST_SCREEN = {
    "gemini": ("Gemini CLI v", 120.0),
    "copilot": ("Copilot v", 120.0),
    "opencode": ("Ask anything", 240.0),
}
VERSION = {"gemini": "gemini --version", "copilot": "copilot --version", "opencode": "opencode -v"}


def pane(engine: docker.DockerClient, name: str) -> str:
    code, out = exec_in(engine, name, "tmux capture-pane -p -t agent", user=AGENT)
    return out if code == 0 else ""


@pytest.mark.parametrize("agent", sorted(FIRST_SCREEN))
def test_each_new_agent_starts_in_a_session(
    agent: str, cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    res = cli(str(project), "-d", "--agent", agent)
    assert res.code == 0, res.text
    name = res.out.strip()
    try:
        marker, timeout = FIRST_SCREEN[agent]
        wait_for(f"{agent}'s first screen", lambda: marker in pane(engine, name), timeout)
        # It runs as the agent user, in the session's own home, from the image's copy.
        code, out = exec_in(engine, name, f"ps -o user=,args= -u {AGENT}", user="root")
        assert code == 0 and agent in out, out
        code, out = exec_in(engine, name, "ps -o args= -u 0", user="root")
        assert agent not in out.replace("claudex-agent", ""), out
        code, out = exec_in(engine, name, VERSION[agent], user=AGENT)
        assert code == 0 and any(c.isdigit() for c in out), out
        # Copilot CLI uses the copy unpacked at build, not ~235 MB in every session's home.
        code, out = exec_in(engine, name, "du -sm ~/.cache 2>/dev/null | cut -f1", user=AGENT)
        assert int(out.strip() or 0) < 50, out
    finally:
        cli("destroy", "--name", name, "--force")


def test_the_original_tools_are_there(engine: docker.DockerClient, image: str) -> None:
    out = engine.containers.run(
        image,
        ["bash", "-c", "gh --version && fzf --version && fd --version && tree --version"],
        entrypoint=[],
        user=AGENT,
        remove=True,
    ).decode()
    assert "gh version" in out and "fd" in out and "tree v" in out, out
