"""`claudex apply --branch` on the real engine: the commits an isolated session made land in
the user's repository as branch claudex/<session>, and nothing else of the user's changes."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import docker

from tests.integration.conftest import CLI, exec_in

GIT = ["git", "-c", "safe.directory=*", "-c", "user.name=me", "-c", "user.email=me@x"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_the_sessions_commits_become_a_branch(
    cli: CLI, engine: docker.DockerClient, project: Path
) -> None:
    (project / "app.py").write_text("one\n")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "init")
    (project / "draft.txt").write_text("the user's, uncommitted\n")
    for p in [project, *project.rglob("*")]:
        os.lchown(p, 4242, 4242)
    head, status = _git(project, "rev-parse", "HEAD"), _git(project, "status", "--porcelain")
    name = f"claudextest-isobr-{uuid.uuid4().hex[:8]}"
    r = cli(str(project), "--isolated", "--name", name, "--agent", "shell", "-d")
    assert r.code == 0, r.text

    r = cli("apply", "--branch", "--name", name, cwd=project)
    assert r.code == 1 and "made no commits" in r.text, r.text

    git = "git -c user.name=a -c user.email=a@b"
    code, out = exec_in(
        engine,
        name,
        f"cd /workspace/proj && echo two > app.py && {git} commit -qam 'second' "
        f"&& echo three > app.py && {git} commit -qam 'third' && git rev-parse HEAD",
        user="4242",
    )
    assert code == 0, out
    r = cli("apply", "--branch", "--name", name, cwd=project)
    assert r.code == 0, r.text
    assert f"claudex/{name}" in r.text

    branch = f"claudex/{name}"
    assert _git(project, "rev-parse", branch).strip() == out.strip().splitlines()[-1]
    assert _git(project, "log", "--format=%s", branch).split() == ["third", "second", "init"]
    # The user's checkout, index and files are as they were: only the branch was added.
    assert _git(project, "rev-parse", "HEAD") == head
    assert _git(project, "status", "--porcelain") == status
    assert (project / "app.py").read_text() == "one\n"
