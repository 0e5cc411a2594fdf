"""The security defaults, checked with inspect and from inside the running session."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker

from tests.integration.conftest import CLI, exec_in
from tests.waiting import wait_for


def _agent_pid(engine: docker.DockerClient, name: str) -> str:
    code, out = exec_in(engine, name, "pgrep -f 'tmux -f /etc/claudex/tmux.conf' | head -1")
    assert code == 0 and out.strip(), out
    return out.strip()


def test_container_hardening(cli: CLI, project: Path, engine: docker.DockerClient):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    host = engine.api.inspect_container(name)["HostConfig"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["CapDrop"] == ["ALL"]
    assert not host["Privileged"]
    assert "SYS_ADMIN" not in (host["CapAdd"] or [])
    mounts = engine.api.inspect_container(name)["Mounts"]
    assert not any("docker.sock" in m["Source"] for m in mounts)


def test_agent_is_unprivileged(cli: CLI, project: Path, engine: docker.DockerClient):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    pid = _agent_pid(engine, name)
    code, status = exec_in(engine, name, f"cat /proc/{pid}/status")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Uid"].split()[0] == "4242"  # owner of the mounted directory
    assert fields["NoNewPrivs"].strip() == "1"
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0
    # As the agent user: no root, no sudo, no way up.
    code, out = exec_in(engine, name, "id -u; command -v sudo || echo no-sudo", user="4242")
    assert out.split() == ["4242", "no-sudo"]
    code, out = exec_in(engine, name, "su -c true root </dev/null", user="4242")
    assert code != 0


def test_files_made_by_the_agent_belong_to_the_directory_owner(
    cli: CLI, project: Path, engine: docker.DockerClient
):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    # Type into the agent's own terminal (its tmux pane), as a user would.
    code, out = exec_in(
        engine,
        name,
        "tmux -f /etc/claudex/tmux.conf send-keys -t agent "
        "'touch /workspace/proj/made-by-agent' Enter",
        user="4242",
    )
    assert code == 0, out
    made = project / "made-by-agent"
    wait_for("the file the agent made", made.exists)
    st = made.stat()
    assert (st.st_uid, st.st_gid) == (4242, 4242)


def test_env_files_hidden_by_default(cli: CLI, project: Path, engine: docker.DockerClient):
    (project / ".env").write_text("SECRET=1\n")
    (project / ".env.local").write_text("SECRET=2\n")
    (project / "sub").mkdir()
    (project / "sub" / ".env").write_text("NESTED=ok\n")
    res = cli(str(project), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    assert ".env" in res.err and ".env.local" in res.err
    name = res.out.strip()
    code, out = exec_in(
        engine, name, "cat /workspace/proj/.env /workspace/proj/.env.local; echo end", user="4242"
    )
    assert out.strip() == "end"
    code, out = exec_in(engine, name, "echo x > /workspace/proj/.env", user="4242")
    assert code != 0  # read-only: the agent cannot write through the mask either
    assert (project / ".env").read_text() == "SECRET=1\n"


def test_expose_env_files(cli: CLI, project: Path, engine: docker.DockerClient):
    (project / ".env").write_text("SECRET=1\n")
    name = cli(str(project), "-d", "--agent", "shell", "--expose-env-files").out.strip()
    _code, out = exec_in(engine, name, "cat /workspace/proj/.env", user="4242")
    assert out.strip() == "SECRET=1"


def test_docker_socket_is_opt_in_with_a_warning(
    cli: CLI, project: Path, engine: docker.DockerClient
):
    sock_name = f"claudextest-sock-{uuid.uuid4().hex[:8]}"
    res = cli(str(project), "-d", "--agent", "shell", "--docker-socket", "--name", sock_name)
    assert res.code == 0, res.text
    assert "ROOT ON THIS HOST" in res.err
    mounts = engine.api.inspect_container(sock_name)["Mounts"]
    assert any(m["Destination"] == "/var/run/docker.sock" for m in mounts)


def test_api_keys_passed_by_name_not_in_labels(
    cli: CLI, project: Path, engine: docker.DockerClient
):
    name = cli(
        str(project), "-d", "--agent", "shell", env={"ANTHROPIC_API_KEY": "sk-test-123"}
    ).out.strip()
    attrs = engine.api.inspect_container(name)
    assert "sk-test-123" not in str(attrs["Config"]["Labels"])
    _code, out = exec_in(engine, name, "echo $ANTHROPIC_API_KEY", user="4242")
    assert out.strip() == "sk-test-123"


def test_same_basename_gets_distinct_targets(cli: CLI, tmp_path: Path, engine: docker.DockerClient):
    a, b = tmp_path / "a" / "app", tmp_path / "b" / "app"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    weird = tmp_path / "with:colon"
    weird.mkdir()
    res = cli(str(a), str(b), str(weird), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    mounts = {
        m["Source"]: m["Destination"]
        for m in engine.api.inspect_container(res.out.strip())["Mounts"]
    }
    assert mounts[str(a)] == "/workspace/a-app" and mounts[str(b)] == "/workspace/b-app"
    assert mounts[str(weird)] == "/workspace/with:colon"
