"""Attack 5: shared agent logins. Each session has its own agent home: the agent gets a copy of
the logins and nothing else of the host user's ~/.claude, ~/.claude.json and ~/.codex; what it
writes there never reaches the host, and is kept in the audit folder on destroy.

The CLI runs with HOME set to a fake host home, so the test never touches a real login."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.security.conftest import CLI, as_agent, as_root

CREDENTIALS = {"claudeAiOauth": {"accessToken": "host-access", "refreshToken": "host-refresh"}}
HOST_CONFIG = {
    "userID": "host-user",
    "oauthAccount": {"emailAddress": "me@example.com"},
    "hasCompletedOnboarding": True,
    "projects": {"/home/me/other-project": {"history": [{"display": "OTHER-PROJECT-SECRET"}]}},
    "mcpServers": {"host-mcp": {"command": "host-mcp-server"}},
}
HOOK = {"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "touch /tmp/pwn"}]}]}}


@pytest.fixture
def host_home(tmp_path: Path) -> Path:
    """What a user's home holds after using Claude Code and Codex on several projects."""
    home = tmp_path / "host-home"
    transcripts = home / ".claude" / "projects" / "other-project"
    transcripts.mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text(json.dumps(CREDENTIALS))
    (transcripts / "transcript.jsonl").write_text('{"msg": "OTHER-PROJECT-SECRET"}\n')
    (home / ".claude" / "settings.json").write_text('{"model": "opus"}\n')
    (home / ".claude.json").write_text(json.dumps(HOST_CONFIG))
    (home / ".codex").mkdir()
    (home / ".codex" / "auth.json").write_text('{"OPENAI_API_KEY": "sk-host-codex"}')
    (home / ".codex" / "config.toml").write_text('[mcp_servers.x]\ncommand = "host-tool"\n')
    return home


def tree_hash(root: Path) -> str:
    """Names, kinds, modes and contents of everything under `root`."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath, name)
            st = path.lstat()
            h.update(f"{path.relative_to(root)}\0{st.st_mode:o}\0".encode())
            if path.is_file() and not path.is_symlink():
                h.update(path.read_bytes())
    return h.hexdigest()


def home_archive(output: str) -> Path:
    found = re.search(r"saved the agent home of \S+ to (\S+)", output)
    assert found, output
    return Path(found.group(1))


def archive_files(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {
            m.name: tar.extractfile(m).read() if m.isreg() else b""  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def test_own_home_with_copied_logins_survives_restart_and_is_audited(
    cli: CLI, project: Path, host_home: Path, engine: docker.DockerClient
) -> None:
    env = {"HOME": str(host_home)}
    before = tree_hash(host_home)
    res = cli(str(project), "-d", "--agent", "shell", env=env)
    assert res.code == 0, res.text
    name = res.out.strip()
    assert engine.api.inspect_container(name)["Config"]["Labels"]["com.claudex.agent-home"] == "own"
    mounts = engine.api.inspect_container(name)["Mounts"]
    assert not [m for m in mounts if str(host_home) in m["Source"]]

    # The agent is logged in: its copies are there, its own, private.
    code, out = as_agent(engine, name, "cat ~/.claude/.credentials.json")
    assert code == 0 and json.loads(out) == CREDENTIALS
    code, out = as_agent(
        engine, name, "stat -c '%u %a' ~/.claude/.credentials.json ~/.codex/auth.json"
    )
    assert out.split("\n")[:2] == ["4242 600", "4242 600"]
    code, out = as_agent(engine, name, "cat ~/.claude.json")
    account = json.loads(out)
    assert account["oauthAccount"] == {"emailAddress": "me@example.com"}
    assert "projects" not in account and "mcpServers" not in account
    code, out = as_agent(engine, name, "cat ~/.codex/auth.json")
    assert "sk-host-codex" in out

    # Nothing else of the host's folders: no other project's transcripts, settings or config.
    code, out = as_agent(
        engine,
        name,
        "ls -A ~/.claude ~/.codex; grep -rs OTHER-PROJECT-SECRET ~ /workspace /tmp; "
        "grep -rs host-mcp ~; true",
    )
    assert "projects" not in out and "settings.json" not in out and "config.toml" not in out
    assert "OTHER-PROJECT-SECRET" not in out and "host-mcp" not in out

    # The attack: hooks and settings that would run on the host or in other sessions.
    attack = (
        f"echo '{json.dumps(HOOK)}' > ~/.claude/settings.json && "
        "mkdir -p ~/.claude/projects/-workspace-proj && "
        'echo \'{"msg": "SESSION-TRANSCRIPT"}\' > ~/.claude/projects/-workspace-proj/s.jsonl && '
        'echo \'notify = ["sh", "-c", "touch /tmp/pwn"]\' > ~/.codex/config.toml && '
        'echo \'{"mcpServers": {"evil": {"command": "evil"}}}\' > ~/.claude.json && '
        "ln -s /etc/shadow ~/.claude/shadow-link && mkfifo ~/.claude/fifo && "
        # A login made in the session: its own tokens, kept by its home.
        'echo \'{"claudeAiOauth": {"accessToken": "SESSION-LOGIN"}}\' '
        "> ~/.claude/.credentials.json"
    )
    code, out = as_agent(engine, name, attack)
    assert code == 0, out
    assert tree_hash(host_home) == before

    # A restart (stop, then `claudex DIR` starts it again through the init) keeps the home.
    engine.api.stop(name, timeout=5)
    res = cli(str(project), "-d", "--agent", "shell", env=env)
    assert res.code == 0 and res.out.strip() == name, res.text
    code, out = as_agent(engine, name, "cat ~/.claude/.credentials.json ~/.claude/settings.json")
    assert "SESSION-LOGIN" in out and "touch /tmp/pwn" in out
    code, out = as_root(engine, name, "test -e /tmp/pwn && echo present; true")
    assert "present" not in out
    assert tree_hash(host_home) == before

    # Destroy keeps the session's settings and transcripts, never the credentials.
    res = cli("destroy", "--name", name, "--force", env=env, timeout=60)
    assert res.code == 0, res.text
    archive = home_archive(res.out)
    assert archive.parent.name == "audit" and archive.stat().st_mode & 0o777 == 0o600
    files = archive_files(archive)
    assert json.loads(files["agent-home/.claude/settings.json"]) == HOOK
    assert b"SESSION-TRANSCRIPT" in files["agent-home/.claude/projects/-workspace-proj/s.jsonl"]
    assert b"touch /tmp/pwn" in files["agent-home/.codex/config.toml"]
    assert b"evil" in files["agent-home/.claude.json"]
    everything = b"".join(files.values())
    assert b"SESSION-LOGIN" not in everything and b"host-access" not in everything
    assert b"sk-host-codex" not in everything
    assert "agent-home/.claude/shadow-link" not in files and "agent-home/.claude/fifo" not in files
    note = json.loads(files["claudex-audit.json"])
    assert ".claude/.credentials.json" in note["left_out"]["credentials"]
    assert ".claude/shadow-link" in note["left_out"]["links"]
    assert tree_hash(host_home) == before


def test_share_agent_home_mounts_the_host_folders_and_warns(
    cli: CLI, project: Path, host_home: Path, engine: docker.DockerClient
) -> None:
    env = {"HOME": str(host_home)}
    name = f"claudextest-shared-{uuid.uuid4().hex[:8]}"
    res = cli(str(project), "-d", "--agent", "shell", "--share-agent-home", "--name", name, env=env)
    assert res.code == 0, res.text
    assert "--share-agent-home" in res.err and "THIS HOST" in res.err
    attrs = engine.api.inspect_container(name)
    assert attrs["Config"]["Labels"]["com.claudex.agent-home"] == "shared"
    mounts = {m["Destination"]: (m["Source"], m["RW"]) for m in attrs["Mounts"]}
    assert mounts["/home/agent/.claude"] == (str(host_home / ".claude"), True)
    assert mounts["/home/agent/.codex"] == (str(host_home / ".codex"), True)
    # Shared, as asked: the agent sees the host's transcripts (this is what the flag warns of).
    code, out = as_agent(engine, name, "cat ~/.claude/projects/other-project/transcript.jsonl")
    assert code == 0 and "OTHER-PROJECT-SECRET" in out

    # Reusing it without the flag says it is still shared.
    res = cli(str(project), "-d", "--agent", "shell", "--name", name, env=env)
    assert res.code == 0 and "its agent home is shared with this host" in res.err, res.text

    # The audit archive leaves the host's folders out: they are not the session's.
    res = cli("destroy", "--name", name, "--force", env=env, timeout=60)
    assert res.code == 0, res.text
    files = archive_files(home_archive(res.out))
    assert not [n for n in files if n.startswith(("agent-home/.claude", "agent-home/.codex"))]
    assert b"OTHER-PROJECT-SECRET" not in b"".join(files.values())
    note = json.loads(files["claudex-audit.json"])
    assert note["shared_with_host_not_archived"] == [".claude", ".claude.json", ".codex"]


def test_a_huge_home_cannot_stall_destroy_or_crowd_out_the_audit(
    cli: CLI, project: Path, host_home: Path, engine: docker.DockerClient
) -> None:
    res = cli(str(project), "-d", "--agent", "shell", env={"HOME": str(host_home)})
    assert res.code == 0, res.text
    name = res.out.strip()
    # 3 GiB of (sparse) files before and beside what matters, and a FIFO to hang a reader.
    code, out = as_agent(
        engine,
        name,
        f"truncate -s 2G ~/.cache-like && mkdir -p ~/.cache && truncate -s 1G ~/.cache/x && "
        f"mkfifo ~/.bash_history.fifo && echo '{json.dumps(HOOK)}' > ~/.claude/settings.json",
    )
    assert code == 0, out
    started = time.monotonic()
    res = cli("destroy", "--name", name, "--force", timeout=120)
    assert res.code == 0, res.text
    assert time.monotonic() - started < 60
    files = archive_files(home_archive(res.out))
    assert json.loads(files["agent-home/.claude/settings.json"]) == HOOK  # read first
    assert "agent-home/.cache-like" not in files and "agent-home/.cache/x" not in files
    assert json.loads(files["claudex-audit.json"])["truncated"] is True
