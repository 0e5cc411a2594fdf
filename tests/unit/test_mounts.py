"""Mount planning: targets, read-only, .env hiding, the agent's uid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from container.errors import UsageError
from container.mounts import plan_mounts


def test_targets_and_modes(tmp_path: Path) -> None:
    a, b = tmp_path / "x" / "app", tmp_path / "y" / "app"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    plan = plan_mounts([str(a)], [str(b)], home=str(tmp_path / "nohome"))
    targets = {m.source: (m.target, m.read_only) for m in plan.mounts}
    assert targets[str(a)] == ("/workspace/x-app", False)
    assert targets[str(b)] == ("/workspace/y-app", True)
    assert plan.dirs == sorted([str(a), str(b)])
    assert plan.read_only_dirs == [str(b)]


def test_env_files_masked(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    for name in (".env", ".env.production", ".envrc", "env"):
        (proj / name).write_text("x")
    (proj / ".env.dir").mkdir()
    plan = plan_mounts([str(proj)], empty_file="/empty", home=str(tmp_path))
    assert plan.hidden_env_files == [str(proj / ".env"), str(proj / ".env.production")]
    masks = [m for m in plan.mounts if m.role == "env-mask"]
    assert {m.target for m in masks} == {"/workspace/proj/.env", "/workspace/proj/.env.production"}
    assert all(m.read_only and m.source == "/empty" for m in masks)
    exposed = plan_mounts([str(proj)], expose_env_files=True, empty_file="/e", home=str(tmp_path))
    assert not exposed.hidden_env_files


def test_agent_uid_is_the_directory_owner(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    if os.getuid() == 0:
        os.chown(proj, 4321, 4322)
        plan = plan_mounts([str(proj)], home=str(tmp_path))
        assert (plan.uid, plan.gid) == (4321, 4322)
        os.chown(proj, 0, 0)
    plan = plan_mounts([str(proj)], home=str(tmp_path))
    assert plan.uid != 0  # never root, whoever owns the directory


def test_logins_copied_by_default_mounted_only_when_shared(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text('{"claudeAiOauth": {}}')
    (home / ".claude.json").write_text('{"userID": "u"}')
    plan = plan_mounts([str(proj)], home=str(home))
    assert not [m for m in plan.mounts if m.role == "login"]
    assert {f.path for f in plan.logins} == {".claude/.credentials.json", ".claude.json"}
    shared = plan_mounts([str(proj)], home=str(home), share_agent_home=True)
    logins = {(m.target, m.read_only) for m in shared.mounts if m.role == "login"}
    assert logins == {("/home/agent/.claude", False), ("/home/agent/.claude.json", False)}
    assert not shared.logins


def test_missing_and_non_directories(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="directory not found"):
        plan_mounts([str(tmp_path / "nope")])
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        plan_mounts([str(tmp_path / "file")])
