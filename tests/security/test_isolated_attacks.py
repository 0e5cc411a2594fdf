"""Attack: an isolated session's copy is agent-written, and `claudex apply` reads it on the
host. The agent plants links to host files and out of the directory, special files, a huge
sparse file, `.git` hooks and a `.git` made a link, names that act on a terminal; then the
user applies, and nothing of it may leave the directory, be read through a link, run, or
hang. The user's own links are never written through either."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import docker
import pytest

from tests.security.conftest import CLI, as_agent


def _chown(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, 4242, 4242)


def _agent(engine: docker.DockerClient, name: str, cmd: str) -> None:
    code, out = as_agent(engine, name, f"cd /workspace/proj && {cmd}")
    assert code == 0, out


def _start(cli: CLI, directory: Path) -> str:
    name = f"claudextest-isoatk-{uuid.uuid4().hex[:8]}"
    r = cli(str(directory), "--isolated", "--name", name, "--agent", "shell", "-d")
    assert r.code == 0, r.text
    return name


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Host files outside the user's directory, which the agent names by their host path."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("HOST SECRET\n")
    return path


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (
            b"-> " + os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        )
        for p in root.rglob("*")
        if p.is_symlink() or p.is_file()
    }


def test_links_out_of_the_copy_are_never_followed_nor_applied(
    cli: CLI, engine: docker.DockerClient, project: Path, outside: Path
) -> None:
    (project / "sub").mkdir()
    (project / "sub" / "a.txt").write_text("a\n")
    (project / "docs").symlink_to(outside)  # the user's own link out: never written through
    _chown(project)
    name = _start(cli, project)
    secret = outside / "secret.txt"
    _agent(
        engine,
        name,
        # A changed file made a link to a host file; new links out, absolute and relative;
        # a folder made a link; the user's link made a folder with a file in it.
        f"rm README.md && ln -s {secret} README.md && ln -s /etc/shadow shadow "
        "&& ln -s ../../../../../../../.. up && rm -r sub && ln -s / sub "
        "&& rm docs && mkdir docs && echo planted > docs/new.txt && echo fine > ok.txt",
    )
    outside_before = _files(outside)
    r = cli("apply", "--name", name, cwd=project)
    assert r.code == 0, r.text
    assert "not applied" in r.out

    everything = b"".join(_files(project).values())
    assert b"HOST SECRET" not in everything  # nothing read through a link
    assert (project / "README.md").read_text() == "hello\n"  # the link to a host file: refused
    assert not (project / "shadow").exists() and not (project / "up").is_symlink()
    assert (project / "sub").is_dir() and not (project / "sub").is_symlink()
    assert (project / "docs").is_symlink()  # still the user's link ...
    assert _files(outside) == outside_before  # ... and nothing written where it leads
    assert (project / "ok.txt").read_text() == "fine\n"  # the plain change still applies


def test_git_hooks_and_a_git_link_in_the_copy_never_run_nor_land(
    cli: CLI, engine: docker.DockerClient, project: Path, tmp_path: Path
) -> None:
    git = ["git", "-c", "safe.directory=*", "-c", "user.name=me", "-c", "user.email=me@x"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=project, check=True)
    _chown(project)
    git_before = {k: v for k, v in _files(project / ".git").items() if k != "index"}
    marker = tmp_path / "ran"
    hook = f"#!/bin/sh\ntouch {marker}\n"
    name = _start(cli, project)
    _agent(
        engine,
        name,
        # Hooks in the clone's .git (its hooks folder is not there to be protected), a nested
        # repository with a hook, a `.GIT` folder, and a change beside them.
        f"mkdir -p .git/hooks vendor/x/.git/hooks .GIT/hooks "
        f"&& for h in .git/hooks/post-checkout .git/hooks/pre-commit "
        f"vendor/x/.git/hooks/post-checkout .GIT/hooks/post-checkout; "
        f"do printf '{hook}' > $h && chmod +x $h; done "
        f"&& printf '[core]\\n\\tfsmonitor = touch {marker}\\n' > vendor/x/.git/config "
        "&& echo 'print(1)' > tool.py",
    )
    r = cli("apply", "--name", name, cwd=project)
    assert r.code == 0, r.text
    subprocess.run([*git, "status"], cwd=project, capture_output=True, check=True)
    subprocess.run([*git, "status"], cwd=project / "vendor", capture_output=True, check=False)
    assert not marker.exists()
    assert not (project / "vendor" / "x" / ".git").exists()
    assert not (project / ".GIT").exists()
    # (`git status` may refresh the index's stat data: everything else is as it was)
    assert {k: v for k, v in _files(project / ".git").items() if k != "index"} == git_before
    assert (project / "tool.py").exists()


def test_a_git_link_special_files_and_hostile_names(
    cli: CLI, engine: docker.DockerClient, project: Path, outside: Path
) -> None:
    name = _start(cli, project)
    _agent(
        engine,
        name,
        f"ln -s {outside} .git && mkfifo pipe && rm README.md && mkfifo README.md "
        "&& touch \"$(printf 'x\\033]0;pwned\\007.txt')\"",
    )
    r = cli("apply", "--name", name, "--check", cwd=project, timeout=60)  # no fifo read hangs
    assert r.code == 0, r.text
    assert "\x1b" not in r.out + r.err and "\x07" not in r.out + r.err
    r = cli("apply", "--name", name, cwd=project, timeout=60)
    assert r.code == 0, r.text
    assert not (project / ".git").exists() and not (project / ".git").is_symlink()
    assert not (project / "pipe").exists()
    assert (project / "README.md").read_text() == "hello\n"


def test_a_huge_sparse_file_is_refused_and_nothing_is_written(
    cli: CLI, engine: docker.DockerClient, project: Path
) -> None:
    name = _start(cli, project)
    _agent(engine, name, "truncate -s 10T huge.bin && echo changed > README.md")
    before = _files(project)
    r = cli("apply", "--name", name, cwd=project, timeout=60)
    assert r.code == 1
    assert "free some space" in r.err and "Traceback" not in r.err
    assert _files(project) == before
