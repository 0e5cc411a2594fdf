"""The MCP broker on the real engine, playing the agent: through `claudex-mcp NAME` it speaks
MCP (initialize, tools/list, tools/call) with a server in a sibling container that the broker
started, yet it cannot start an unconfigured name or another image, holds no engine socket, and
the sibling has no way out and is gone once the agent closes it.

The first two tests start a broker by hand (the engine's socket in its container alone, a volume
the agent's container sees read-only); the last one lets a session bring its own."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from container import firewall, mcp_project
from container.details_model import McpServerRow
from container.mcp_host import read_servers
from tests.security.conftest import AGENT, CLI, as_agent, blocked_server, wait_for
from tests.security.mcp_echo import build_echo_image, rpc, running_broker


@pytest.fixture
def server_image(engine: docker.DockerClient, image: str) -> Iterator[str]:
    tag = build_echo_image(engine, image)
    yield tag
    engine.images.remove(tag, force=True)


@pytest.fixture
def broker(engine: docker.DockerClient, image: str, server_image: str) -> Iterator[str]:
    """A broker for session NAME with one server, `echo`; yields NAME (also its volume's)."""
    name = f"claudextest-mcpb-{uuid.uuid4().hex[:8]}"
    with running_broker(engine, image, name, {"echo": {"image": server_image}}):
        yield name


def as_agent_with_broker(
    engine: docker.DockerClient, image: str, volume: str, script: str, network: str = "none"
) -> tuple[int, str]:
    """`bash -c SCRIPT` in a container made like a session's agent: uid 4242, no capabilities,
    no new privileges, the broker's volume read-only, no engine socket."""
    c = engine.containers.run(
        image,
        ["bash", "-c", script],
        entrypoint=[],
        user=AGENT,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        volumes={volume: {"bind": "/run/claudex-mcp", "mode": "ro"}},
        network_mode=network,
        detach=True,
    )
    try:
        code = c.wait(timeout=120)["StatusCode"]
        return code, c.logs(stdout=True, stderr=True).decode(errors="replace")
    finally:
        c.remove(force=True)


def test_the_agent_speaks_mcp_through_the_broker_and_nothing_more(
    engine: docker.DockerClient, image: str, broker: str
) -> None:
    with blocked_server(engine, image, f"claudextest-mcpnet-{uuid.uuid4().hex[:8]}") as (ip, _):
        lines = "\n".join(
            [
                rpc(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}}),
                rpc(2, "tools/list", {}),
                rpc(3, "tools/call", {"name": "echo", "arguments": {"text": "hi"}}),
                rpc(4, "tools/call", {"name": "connect", "arguments": {"host": ip}}),
            ]
        )
        code, out = as_agent_with_broker(
            engine, image, broker, f"printf '%s\\n' '{lines}' | claudex-mcp echo"
        )
    assert code == 0, out
    answers = {m["id"]: m["result"] for m in map(json.loads, out.splitlines())}
    assert answers[1]["serverInfo"]["name"] == "echo-test"
    assert [t["name"] for t in answers[2]["tools"]] == ["echo", "connect"]
    assert answers[3]["content"][0]["text"] == "echo: hi"
    # The sibling has no way out (no allow list configured: nothing at all).
    assert answers[4]["content"][0]["text"].startswith("refused"), answers[4]

    # Closed by the agent: the sibling is gone.
    wait_for(
        "the sibling to be removed",
        lambda: (
            not engine.containers.list(all=True, filters={"label": f"com.claudex.mcp-of={broker}"})
        ),
    )


def test_the_agent_cannot_start_anything_else_or_reach_the_engine(
    engine: docker.DockerClient, image: str, broker: str
) -> None:
    script = (
        "claudex-mcp other; echo rc=$?; "
        # Speaking to the broker directly: another image, a command, a second line.
        "python3 -c '\n"
        "import socket\n"
        'for req in [b"start busybox:latest\\n", b"start echo --privileged\\n",\n'
        '            b"run alpine sh\\n", b"start " + b"a" * 500]:\n'
        '    s = socket.socket(socket.AF_UNIX); s.connect("/run/claudex-mcp/broker.sock")\n'
        "    s.sendall(req); print(s.recv(200))\n"
        "'; "
        "test -e /var/run/docker.sock && echo SOCKET; "
        "rm -f /run/claudex-mcp/broker.sock 2>&1; touch /run/claudex-mcp/x 2>&1; true"
    )
    _code, out = as_agent_with_broker(engine, image, broker, script)
    assert "claudex-mcp: other: refused: other is not configured for this session" in out
    assert "rc=1" in out
    assert out.count("b'refused: ") == 4, out
    assert "SOCKET" not in out
    assert out.count("Read-only file system") == 2, out
    assert not engine.containers.list(all=True, filters={"label": f"com.claudex.mcp-of={broker}"})
    logs = engine.containers.get(broker).logs().decode()
    assert "started" not in logs and logs.count("refused:") == 5, logs


def test_a_server_reaches_its_allow_list_and_nothing_else(
    engine: docker.DockerClient, image: str, server_image: str
) -> None:
    """`allow = ["allowed.test"]`: each run gets its own default-deny firewall (the session's
    rules, in a container sharing the server's network namespace). The server reaches
    allowed.test; blocked.test neither resolves nor connects by address; the server runs as
    nobody without capabilities, and its firewall goes with it."""
    prefix = f"claudextest-mcpfw-{uuid.uuid4().hex[:8]}"
    with blocked_server(engine, image, prefix) as (blocked_ip, _):
        allowed = engine.containers.create(
            image,
            entrypoint=["python3", "-m", "http.server", "8000"],
            name=f"{prefix}-allowed",
            user="nobody",
        )
        engine.networks.get(prefix).connect(allowed, aliases=["allowed.test"])
        allowed.start()
        wait_for(
            "allowed.test to listen",
            lambda: allowed.exec_run(["bash", "-c", ": </dev/tcp/127.0.0.1/8000"]).exit_code == 0,
        )
        servers = {"net": {"image": server_image, "allow": ["allowed.test"], "network": prefix}}
        name = f"{prefix}-broker"
        with running_broker(engine, image, name, servers):
            calls = [
                rpc(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}}),
                *(
                    rpc(i, "tools/call", {"name": "connect", "arguments": {"host": host}})
                    for i, host in enumerate(["allowed.test", "blocked.test", blocked_ip], 2)
                ),
            ]
            code, out = as_agent_with_broker(
                engine, image, name, f"printf '%s\\n' '{chr(10).join(calls)}' | claudex-mcp net"
            )
            assert code == 0, out
            answers = {m["id"]: m["result"] for m in map(json.loads, out.splitlines())}
            text = {i: answers[i]["content"][0]["text"] for i in (2, 3, 4)}
            assert text[2] == "connected", text
            assert text[3] == "refused: gaierror", text  # the name does not resolve
            assert text[4] == "refused: ConnectionRefusedError", text  # rejected at once
            wait_for(
                "the server and its firewall to be removed",
                lambda: (
                    not engine.containers.list(
                        all=True, filters={"label": f"com.claudex.mcp-of={name}"}
                    )
                ),
            )
            logs = engine.containers.get(name).logs().decode()
            assert "started net" in logs and "error" not in logs, logs


def test_a_session_brings_its_broker_and_takes_it_away(
    cli: CLI, project: Path, tmp_path: Path, engine: docker.DockerClient, server_image: str
) -> None:
    """`[mcp.echo]` in the config: the session gets a broker for it, the agent reaches the
    server from its own shell, and destroy leaves no broker, server or volume behind."""
    conf = tmp_path / "xdg" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'[mcp.echo]\nimage = "{server_image}"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    res = cli(str(project), "-d", "--agent", "shell", env=env)
    assert res.code == 0, res.text
    name = res.out.strip()
    try:
        mounts = {m["Destination"]: m for m in engine.api.inspect_container(name)["Mounts"]}
        assert mounts["/run/claudex-mcp"]["RW"] is False
        lines = "\n".join(
            [
                rpc(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}}),
                rpc(2, "tools/call", {"name": "echo", "arguments": {"text": "from a session"}}),
            ]
        )
        code, out = as_agent(engine, name, f"printf '%s\\n' '{lines}' | claudex-mcp echo")
        assert code == 0, out
        answers = {m["id"]: m["result"] for m in map(json.loads, out.splitlines())}
        assert answers[2]["content"][0]["text"] == "echo: from a session"
        code, out = as_agent(engine, name, "test -e /var/run/docker.sock && echo SOCKET; true")
        assert "SOCKET" not in out
        # What the dashboard's Details shows: the server as the host configured it, a run while
        # one is up, and the broker's last refusal of something the agent asked for.
        assert read_servers(engine.api, name) == ([McpServerRow("echo", server_image)], "")
        as_agent(engine, name, "claudex-mcp nope; true")
        as_agent(engine, name, "setsid sh -c 'sleep 30 | claudex-mcp echo' >/dev/null 2>&1 &")
        wait_for(
            "Details to show the running server and the refusal",
            lambda: (
                read_servers(engine.api, name)
                == (
                    [McpServerRow("echo", server_image, running=1)],
                    "refused: nope is not configured for this session",
                )
            ),
        )
        # Every agent finds it configured; Claude Code connects to it.
        code, out = as_agent(
            engine,
            name,
            "jq -c .mcpServers.echo ~/.claude.json ~/.gemini/settings.json "
            "~/.copilot/mcp-config.json; jq -c .mcp.echo ~/.config/opencode/opencode.json; "
            "cat ~/.codex/config.toml",
        )
        assert out.count('"command":"claudex-mcp"') == 3 and '["claudex-mcp","echo"]' in out, out
        assert '[mcp_servers.echo]\ncommand = "claudex-mcp"\nargs = ["echo"]' in out
        code, out = as_agent(engine, name, "cd /workspace && timeout 60 claude mcp list 2>&1")
        assert "echo: claudex-mcp echo" in out and "Connected" in out, out
        # A restart of the session brings the broker back with it.
        engine.api.stop(name, timeout=5)
        engine.api.stop(f"{name}-mcp-broker", timeout=5)
        assert cli(str(project), "-d", "--agent", "shell", env=env).code == 0
        code, out = as_agent(engine, name, f"printf '%s\\n' '{lines}' | claudex-mcp echo")
        assert code == 0 and "from a session" in out, out
    finally:
        res = cli("destroy", "--name", name, "--force", env=env, timeout=60)
    assert res.code == 0, res.text
    assert not engine.containers.list(all=True, filters={"name": f"^/{name}-mcp-broker$"})
    assert not engine.containers.list(all=True, filters={"label": f"com.claudex.mcp-of={name}"})
    assert not [v for v in engine.volumes.list() if v.name == f"{name}-mcp"]


def test_a_flood_of_connections_is_refused_and_the_broker_still_serves(
    engine: docker.DockerClient, image: str, broker: str
) -> None:
    """200 connections held open without a word: the broker refuses the ones past its bound
    and starts the server again once they are closed (an idle one also ends after 10 s)."""
    lines = rpc(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}})
    script = (
        "python3 -c '\n"
        "import socket\n"
        "held = []\n"
        "for _ in range(200):\n"
        '    s = socket.socket(socket.AF_UNIX); s.connect("/run/claudex-mcp/broker.sock")\n'
        "    held.append(s)\n"
        'refused = sum(1 for s in held[40:] if s.recv(100).startswith(b"refused: too many"))\n'
        'print("refused", refused)\n'
        "for s in held: s.close()\n"
        "'; "
        # Until the broker has seen them close (at once: no 10 s wait), with a deadline.
        "for i in $(seq 100); do "
        f"out=$(printf '%s\\n' '{lines}' | claudex-mcp echo 2>&1) && break; sleep 0.1; done; "
        'echo "$out"'
    )
    code, out = as_agent_with_broker(engine, image, broker, script)
    assert "refused 160" in out, out
    assert code == 0 and "echo-test" in out, out


def test_a_projects_servers_run_only_as_confirmed(
    cli: CLI, project: Path, engine: docker.DockerClient, server_image: str
) -> None:
    """A `.claudex.toml` (the agent's to write) asks for `[mcp.proj]`: not confirmed, the
    session has no such server; confirmed, the agent reaches it; once the agent has changed
    the file (another image), it is asked about again and not started meanwhile."""
    toml = project / ".claudex.toml"
    toml.write_text(f'[mcp.proj]\nimage = "{server_image}"\nallow = ["example.com"]\n')
    call = f"printf '%s\\n' '{rpc(1, 'initialize', {'capabilities': {}})}' | claudex-mcp proj"
    res = cli(str(project), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    name = res.out.strip()
    try:
        assert (
            f"asks to run MCP servers: proj (image {server_image}, reaches example.com); ignored"
            in res.err
        ), res.err
        code, out = as_agent(engine, name, f"{call}; echo rc=$?")
        assert "serverInfo" not in out and "rc=1" in out, out

        (found,) = mcp_project.read_project_mcp([str(project)])
        firewall.trust(found)  # what a "yes" on the terminal records
        res = cli(str(project), "-d", "--agent", "shell", "--replace")
        assert res.code == 0 and "asks to run" not in res.err, res.text
        code, out = as_agent(engine, name, call)
        assert code == 0 and '"echo-test"' in out, out

        # While a run is up, its own firewall's refusals show in the session's firewall status
        # (the Firewall tab's source): the server asked for a name outside its list.
        ask = rpc(2, "tools/call", {"name": "connect", "arguments": {"host": "evil.example"}})
        as_agent(engine, name, f"printf '%s\\n' '{ask}' >/tmp/ask")
        as_agent(
            engine,
            name,
            "setsid sh -c '(cat /tmp/ask; sleep 60) | claudex-mcp proj' >/dev/null 2>&1 &",
        )

        def refused() -> list[str]:
            res = cli("firewall", "status", name, "--format", "json")
            servers = json.loads(res.out)["mcp_servers"] if res.code == 0 else []
            return [
                r["name"] for s in servers for r in s["refused_names"] if s["mode"] == "enforcing"
            ]

        wait_for("the server's refused name", lambda: "evil.example" in refused())

        # The agent points the confirmed name at another image: asked again, not run.
        as_agent(engine, name, "sed -i 's|image = .*|image = \"busybox:latest\"|' .claudex.toml")
        res = cli(str(project), "-d", "--agent", "shell", "--replace")
        assert res.code == 0 and "proj (image busybox:latest" in res.err, res.text
        code, out = as_agent(engine, name, f"{call}; echo rc=$?")
        assert "serverInfo" not in out and "rc=1" in out, out
    finally:
        res = cli("destroy", "--name", name, "--force", timeout=60)
    assert res.code == 0, res.text
