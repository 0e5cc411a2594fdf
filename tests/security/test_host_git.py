"""Attack 4: code on the host through a mounted repository. The agent tries to plant what the
host's git runs (core.fsmonitor, hooks, a replaced .git, a commondir leading to a hostile
config); then git runs on the HOST in the project, as a user would, and the file the planted
command would create must not appear. What cannot be prevented (a new .git/commondir) is
reported loudly by `claudex diff`, beside the commits and branches the agent made.

The host's git runs with a HOME and global config of its own (nothing of the machine's), and
`-c safe.directory=*` (the project belongs to the agent's uid, the tests run as root)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from tests.security.conftest import CLI, as_agent

AGENT_GIT = "git -c user.name=agent -c user.email=agent@x"
HostGit = Callable[..., "subprocess.CompletedProcess[str]"]


def _chown(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, 4242, 4242)


@pytest.fixture
def host_git(tmp_path: Path) -> HostGit:
    """git as the user runs it on the host, with a config of its own."""
    home = tmp_path / "host-home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = me\n\temail = me@x\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }

    def run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-c", "safe.directory=*", "-C", str(repo), *args],
            env=env,
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
        )

    return run


@pytest.fixture
def repo(project: Path, host_git: HostGit) -> Path:
    """The project as a git repository on main, with a repository in a subdirectory too."""
    (project / "src.py").write_text("print('hello')\n")
    host_git(project, "init", "-q", "-b", "main")
    host_git(project, "add", "-A")
    host_git(project, "commit", "-qm", "init")
    sub = project / "lib"
    sub.mkdir()
    (sub / "lib.py").write_text("x = 1\n")
    host_git(sub, "init", "-q", "-b", "main")
    host_git(sub, "add", "-A")
    host_git(sub, "commit", "-qm", "lib")
    # A submodule two levels down: its gitdir is .git/modules/mod, its .git a file.
    upstream = project.parent / "upstream"
    upstream.mkdir()
    (upstream / "mod.py").write_text("m = 1\n")
    host_git(upstream, "init", "-q", "-b", "main")
    host_git(upstream, "add", "-A")
    host_git(upstream, "commit", "-qm", "mod")
    host_git(
        project,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        "--name",
        "mod",
        str(upstream),
        "vendor/mod",
    )
    host_git(project, "commit", "-qm", "submodule")
    _chown(project)
    return project


def _start(cli: CLI, *args: str) -> tuple[str, str]:
    res = cli(*args, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    return res.out.strip().splitlines()[-1], res.err


def _guarded_files(repo: Path) -> dict[str, bytes]:
    out = {}
    for git_dir in (repo / ".git", repo / "lib" / ".git", repo / ".git" / "modules" / "mod"):
        for p in sorted([git_dir / "config", *git_dir.glob("hooks/*"), *git_dir.glob("info/*")]):
            out[str(p)] = p.read_bytes()
    return out


def test_the_agent_cannot_plant_what_the_hosts_git_runs(
    cli: CLI, engine: docker.DockerClient, repo: Path, host_git: HostGit, tmp_path: Path
):
    marker = tmp_path / "host-ran-the-agents-code"
    before = _guarded_files(repo)
    name, _ = _start(cli, str(repo))
    work = f"/workspace/{repo.name}"
    hook = f"printf '#!/bin/sh\\ntouch {marker}\\n'"
    attacks = {
        "git config core.fsmonitor": f"git -C {work} config core.fsmonitor 'touch {marker}'",
        "append to .git/config": f"printf '[core]\\n\\tfsmonitor = touch {marker}\\n' "
        f">> {work}/.git/config",
        "replace .git/config": f"cp {work}/.git/config /tmp/c && echo '[core]' >> /tmp/c && "
        f"mv /tmp/c {work}/.git/config",
        "post-checkout hook": f"{hook} > {work}/.git/hooks/post-checkout && "
        f"chmod +x {work}/.git/hooks/post-checkout",
        "pre-commit hook": f"{hook} > {work}/.git/hooks/pre-commit",
        "move the hooks away": f"mv {work}/.git/hooks {work}/.git/hooks-old",
        "edit .git/info/exclude": f"echo '*' >> {work}/.git/info/exclude",
        "rename .git": f"mv {work}/.git {work}/.git-old",
        "remove the hooks": f"rm -rf {work}/.git/hooks",
        "submodule's config": f"git -C {work}/vendor/mod config core.fsmonitor 'touch {marker}'",
        "submodule's .git file": f"echo 'gitdir: ../../.cache/evil' > {work}/vendor/mod/.git",
        "subdirectory repo's config": f"git -C {work}/lib config core.fsmonitor 'touch {marker}'",
        "subdirectory repo's hook": f"{hook} > {work}/lib/.git/hooks/pre-commit",
    }
    for what, cmd in attacks.items():
        code, out = as_agent(engine, name, cmd)
        assert code != 0, f"{what} worked: {out}"
    code, out = as_agent(engine, name, f"mv {work}/.git {work}/.git-old")
    assert "busy" in out.lower(), out  # a mount point: it cannot be renamed away
    # With .git in place, a new .git with a hostile config cannot be made either.
    code, out = as_agent(
        engine,
        name,
        f"mkdir -p {work}/.git-new && git init -q {work}/.git-new && "
        f"git -C {work}/.git-new config core.fsmonitor 'touch {marker}' && "
        f"mv -T {work}/.git-new/.git {work}/.git",
    )
    assert code != 0, out

    # The user goes on working on the host.
    host_git(repo, "status")
    host_git(repo, "checkout", "-q", "-b", "on-the-host")
    (repo / "src.py").write_text("print('edited on the host')\n")
    host_git(repo, "commit", "-qam", "host commit")
    host_git(repo / "lib", "status")
    host_git(repo / "vendor" / "mod", "status")
    assert not marker.exists()
    assert _guarded_files(repo) == before
    assert (repo / "vendor" / "mod" / ".git").read_text() == "gitdir: ../../.git/modules/mod\n"


def test_the_agent_still_commits_branches_and_stashes_and_diff_reports_it(
    cli: CLI, engine: docker.DockerClient, repo: Path, host_git: HostGit
):
    name, _ = _start(cli, str(repo))
    work = f"/workspace/{repo.name}"
    script = (
        f"cd {work} && echo one >> src.py && {AGENT_GIT} commit -qam one && "
        f"echo two >> src.py && {AGENT_GIT} commit -qam two && "
        f"{AGENT_GIT} checkout -q -b feature && echo f > f.py && {AGENT_GIT} add f.py && "
        f"{AGENT_GIT} commit -qm feature && echo wip >> f.py && {AGENT_GIT} stash -q && "
        f"{AGENT_GIT} tag v1 && {AGENT_GIT} -C lib checkout -q -b topic"
    )
    code, out = as_agent(engine, name, script)
    assert code == 0, out
    assert host_git(repo, "log", "--format=%s", "main").stdout.split() == [
        "two",
        "one",
        "submodule",
        "init",
    ]
    assert host_git(repo, "stash", "list").stdout.strip()

    res = cli("diff", name, "--stat")
    assert res.code == 0, res.text
    assert f"{repo.name}: 2 commits on branch main since the start" in res.err
    assert f"{repo.name}: branch feature created (3 commits since the start)" in res.err
    assert f"{repo.name}: HEAD moved from main to feature" in res.err
    assert f"{repo.name}: refs/stash created" in res.err
    assert f"{repo.name}: tag v1 created" in res.err
    assert f"{repo.name}/lib: HEAD moved from main to topic" in res.err
    assert "warning" not in res.err  # nothing that runs code on the host
    assert f"{repo.name}/f.py" in res.out  # and the files as usual


def test_a_commondir_made_by_the_agent_is_reported(
    cli: CLI, engine: docker.DockerClient, repo: Path
):
    """A .git/commondir can be made in a writable .git (binding over a file that does not
    exist would create it on the host): it cannot be prevented, so it is reported."""
    name, _ = _start(cli, str(repo))
    work = f"/workspace/{repo.name}"
    code, out = as_agent(
        engine,
        name,
        f"git init -q --bare {work}/.cache/evil && "
        f"git -C {work}/.cache/evil config core.fsmonitor 'touch /tmp/pwned' && "
        f"echo ../.cache/evil > {work}/.git/commondir",
    )
    assert code == 0, out
    res = cli("diff", name, "--name-only")
    assert res.code == 0, res.text
    assert f"{repo.name}: the agent created .git/commondir" in res.err
    assert "warning" in res.err and "run programs" in res.err
    assert f"{repo.name}/.cache/evil/config" in res.out  # its files show as changes too


def test_git_writable_gives_the_old_behaviour_with_a_warning(
    cli: CLI, engine: docker.DockerClient, repo: Path, host_git: HostGit, tmp_path: Path
):
    """The control: without the guard the attack works, so the test above can see one."""
    marker = tmp_path / "host-ran-the-agents-code"
    name, err = _start(cli, str(repo), "--git-writable")
    assert "--git-writable" in err and "run its programs" in err
    work = f"/workspace/{repo.name}"
    code, out = as_agent(engine, name, f"git -C {work} config core.fsmonitor 'touch {marker}'")
    assert code == 0, out
    res = cli("diff", name)
    assert f"{repo.name}: the agent changed .git/config" in res.err
    host_git(repo, "status")
    assert marker.exists()  # what the guard prevents
