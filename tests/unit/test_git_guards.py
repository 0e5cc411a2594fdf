"""The mount plan keeps what the host's git runs read-only in the session (container/mounts.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from container.mounts import git_guards, plan_mounts


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=u", "-c", "user.email=u@x", "-c", "protocol.file.allow=always",
         "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "f.txt").write_text("f\n")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init")
    return path


def test_config_hooks_info_and_submodules_are_read_only(tmp_path: Path):
    proj = _repo(tmp_path / "proj")
    _repo(proj / "lib")  # a repository in a first-level subdirectory
    upstream = _repo(tmp_path / "upstream")
    git(proj, "submodule", "add", "-q", "--name", "mod", str(upstream), "vendor/mod")
    git(proj, "config", "core.hooksPath", ".husky/_")
    (proj / ".husky" / "_").mkdir(parents=True)
    _repo(proj / "deep" / "er")  # deeper: not protected (reported by `claudex diff`)
    mounts, warnings = git_guards(str(proj), "/workspace/proj")
    assert not warnings
    got = {m.target: (m.source, m.read_only, m.role) for m in mounts}
    w, h = "/workspace/proj", str(proj)
    assert got[f"{w}/.git"] == (f"{h}/.git", False, "git-guard")  # cannot be renamed away
    expected_ro = [
        ".git/config", ".git/hooks", ".git/info", ".git/modules/mod/config",
        ".git/modules/mod/hooks", ".git/modules/mod/info", "vendor/mod/.git", ".husky/_",
        "lib/.git/config", "lib/.git/hooks", "lib/.git/info",
    ]  # fmt: skip
    for rel in expected_ro:
        assert got[f"{w}/{rel}"] == (f"{h}/{rel}", True, "git-guard"), rel
    assert got[f"{w}/lib/.git"][1] is False
    assert not [t for t in got if t.startswith(f"{w}/deep")]


def test_what_cannot_be_kept_is_said(tmp_path: Path):
    proj = _repo(tmp_path / "proj")
    git(proj, "config", "core.hooksPath", "githooks")  # in the directory, not made yet
    linked = tmp_path / "linked"
    linked.mkdir()
    real = _repo(tmp_path / "elsewhere")
    (linked / ".git").symlink_to(real / ".git")
    _, warnings = git_guards(str(proj), "/workspace/proj")
    assert len(warnings) == 1 and "core.hooksPath is githooks" in warnings[0]
    _, warnings = git_guards(str(linked), "/workspace/linked")
    assert warnings == [f"{linked}/.git is a symbolic link: the agent can write what it leads to"]


def test_the_plan_guards_writable_directories_unless_asked_not_to(tmp_path: Path):
    rw, ro = _repo(tmp_path / "rw"), _repo(tmp_path / "ro")
    home = str(tmp_path / "home")
    plan = plan_mounts([str(rw)], [str(ro)], home=home)
    guarded = {m.target for m in plan.mounts if m.role == "git-guard"}
    assert "/workspace/rw/.git/config" in guarded
    assert not [t for t in guarded if t.startswith("/workspace/ro/")]  # all read-only anyway
    extra = _repo(tmp_path / "extra")  # a read-write mount from the config
    plan = plan_mounts([str(rw)], home=home, extra=[(str(extra), False)])
    assert "/workspace/extra/.git/hooks" in {m.target for m in plan.mounts}
    plan = plan_mounts([str(rw)], home=home, git_writable=True)
    assert not [m for m in plan.mounts if m.role == "git-guard"]
