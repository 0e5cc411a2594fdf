"""The agent home's copy plan (which files, which JSON keys), the archive that seeds a new
session, and the re-packing of a hostile home archive for the audit folder."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from container import agent_home
from container.agent_home import _Audit, _copy_members, claude_account, login_files, seed_archive
from container.local_fs import LocalFS
from container.mounts import plan_mounts

HOST_CONFIG = {
    "numStartups": 12,
    "userID": "u-1",
    "oauthAccount": {"emailAddress": "me@example.com", "accountUuid": "a-1"},
    "hasCompletedOnboarding": True,
    "lastOnboardingVersion": "2.1.0",
    "primaryApiKey": "sk-ant-key",
    "customApiKeyResponses": {"approved": ["abc"], "rejected": []},
    "theme": "dark",
    "projects": {"/home/me/other": {"allowedTools": ["Bash"], "history": ["secret plan"]}},
    "mcpServers": {"evil": {"command": "curl"}},
    "env": {"TOKEN": "t"},
}


def fake_home(root: Path) -> Path:
    home = root / "home"
    (home / ".claude" / "projects" / "other").mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text('{"claudeAiOauth": {"accessToken": "a"}}')
    (home / ".claude" / "projects" / "other" / "t.jsonl").write_text("transcript\n")
    (home / ".claude" / "settings.json").write_text('{"hooks": {}}')
    (home / ".claude.json").write_text(json.dumps(HOST_CONFIG))
    (home / ".codex").mkdir()
    (home / ".codex" / "auth.json").write_text('{"OPENAI_API_KEY": "sk-o"}')
    (home / ".codex" / "config.toml").write_text('notify = ["sh", "-c", "evil"]\n')
    return home


def test_copy_plan_takes_only_what_logging_in_needs(tmp_path: Path) -> None:
    files, warnings = login_files(fake_home(tmp_path))
    assert not warnings
    by_path = {f.path: f.data for f in files}
    assert set(by_path) == {".claude/.credentials.json", ".claude.json", ".codex/auth.json"}
    assert by_path[".claude/.credentials.json"] == b'{"claudeAiOauth": {"accessToken": "a"}}'
    account = json.loads(by_path[".claude.json"])
    assert set(account) == {
        "userID",
        "oauthAccount",
        "hasCompletedOnboarding",
        "lastOnboardingVersion",
        "primaryApiKey",
        "customApiKeyResponses",
        "theme",
    }
    assert "secret plan" not in by_path[".claude.json"].decode()
    assert "sk-ant-key" not in repr(files)  # the plan never prints a secret


def test_copy_plan_of_an_empty_or_odd_home(tmp_path: Path) -> None:
    assert login_files(tmp_path) == ([], [])
    (tmp_path / ".claude.json").write_text('{"numStartups": 1}')  # never logged in here
    assert login_files(tmp_path) == ([], [])
    (tmp_path / ".claude.json").write_text("[1, 2]")
    files, warnings = login_files(tmp_path)
    assert not files and "not a JSON object" in warnings[0]
    assert claude_account(b"not json") is None


def test_a_fifo_or_a_huge_file_is_refused_without_hanging(tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    os.mkfifo(tmp_path / ".claude" / ".credentials.json")
    (tmp_path / ".codex").mkdir()
    with open(tmp_path / ".codex" / "auth.json", "wb") as fh:
        fh.truncate(agent_home.LOGIN_FILE_LIMIT + 1)
    files, warnings = login_files(tmp_path)
    assert files == []
    assert len(warnings) == 2 and "not a regular file" in warnings[0]
    assert "larger than" in warnings[1]


def test_seed_archive_gives_the_files_to_the_agent_private(tmp_path: Path) -> None:
    files, _ = login_files(fake_home(tmp_path))
    with tarfile.open(fileobj=io.BytesIO(seed_archive(files, 4242, 4343))) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {
        "home/agent",
        "home/agent/.claude",
        "home/agent/.claude/.credentials.json",
        "home/agent/.claude.json",
        "home/agent/.codex",
        "home/agent/.codex/auth.json",
    }
    assert all((m.uid, m.gid) == (4242, 4343) for m in members.values())
    assert members["home/agent/.claude"].isdir() and members["home/agent/.claude"].mode == 0o700
    assert members["home/agent/.codex/auth.json"].mode == 0o600


def _hostile_home() -> bytes:
    """What a hostile agent's home could look like in the engine's archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(name: str, data: bytes = b"", **kw: object) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for k, v in kw.items():
                setattr(info, k, v)
            tar.addfile(info, io.BytesIO(data) if data else None)

        add("agent/", type=tarfile.DIRTYPE, mode=0o755)
        add("agent/.claude/", type=tarfile.DIRTYPE, mode=0o700)
        add("agent/.claude/settings.json", b'{"hooks": "x"}', mode=0o4777)
        add("agent/.claude/.credentials.json", b"secret-token")
        add("agent/.claude.json", json.dumps(HOST_CONFIG).encode())
        add("agent/.claude/backups/.claude.json.backup.1", b'{"primaryApiKey": "sk-ant-key"}')
        add("agent/.codex/auth.json", b"sk-o")
        add("agent/.ssh/id_ed25519", b"private key")
        add("agent/.cache/huge", b"c" * 100)
        add("agent/link", type=tarfile.SYMTYPE, linkname="/etc/shadow")
        add("agent/hard", type=tarfile.LNKTYPE, linkname="agent/.claude/settings.json")
        add("agent/dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
        add("agent/../../escape", b"x")
        add("/abs", b"x")
        add("agent/big", b"b" * 5000)
    return buf.getvalue()


def test_repacking_keeps_plain_files_and_leaves_out_credentials_and_the_rest() -> None:
    audit = _Audit(keep_left=4000)  # the last, 5000-byte file does not fit
    out_buf = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(_hostile_home()), mode="r|") as tar,
        tarfile.open(fileobj=out_buf, mode="w") as out,
    ):
        _copy_members(tar, out, "agent", audit, [])
    with tarfile.open(fileobj=io.BytesIO(out_buf.getvalue())) as tar:
        kept = {m.name: m for m in tar.getmembers()}
        config = json.loads(tar.extractfile("agent-home/.claude.json").read())  # type: ignore[union-attr]
        backup = tar.extractfile("agent-home/.claude/backups/.claude.json.backup.1").read()  # type: ignore[union-attr]
    assert set(kept) == {
        "agent-home/.claude",
        "agent-home/.claude/settings.json",
        "agent-home/.claude.json",
        "agent-home/.claude/backups/.claude.json.backup.1",
    }
    assert all(m.isdir() or m.isreg() for m in kept.values())
    assert kept["agent-home/.claude/settings.json"].mode == 0o755  # no setuid bit kept
    assert all(m.uid == 0 and m.uname == "" for m in kept.values())
    assert "primaryApiKey" not in config and "customApiKeyResponses" not in config
    assert config["projects"]  # the session's own history is what the audit is for
    assert b"sk-ant-key" not in backup
    left = audit.left_out
    assert set(left["credentials"]) == {
        ".claude/.credentials.json",
        ".codex/auth.json",
        ".ssh/id_ed25519",
    }
    assert set(left["links"]) == {"link", "hard"}
    assert left["special files"] == ["dev"]
    assert len(left["odd names"]) == 2
    assert left["too large"] == ["big"] and audit.truncated


@pytest.mark.parametrize("top", [".claude", ".claude.json"])
def test_names_of_a_single_path_archive_are_relative_to_the_home(top: str) -> None:
    assert agent_home._relative(f"{top}/x", top) == f"{top}/x"
    assert agent_home._relative("agent/x", "agent") == "x"
    assert agent_home._relative("other/x", top) is None


class _ElsewhereFS(LocalFS):
    """This machine's files standing in for a remote engine's host (only `remote` differs)."""

    remote = True
    label = "engine far"


@pytest.mark.parametrize("share", [False, True])
def test_a_remote_engine_gets_no_local_login(tmp_path: Path, share: bool) -> None:
    home = fake_home(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    plan = plan_mounts([str(proj)], home=str(home), share_agent_home=share, fs=_ElsewhereFS())
    assert plan.logins == []
    assert not [m for m in plan.mounts if m.role == "login"]
