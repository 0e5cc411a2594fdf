"""Attack: an isolated session on a remote engine; its copy (on that engine's host) is
agent-written, and `claudex list` and `claudex apply` read it there, in a helper container
that can write the user's directory. The agent plants links out of its copy, a pipe, hooks
and a hostile git config in a nested repository, and tries the copy's own `.git`; none of it
is followed, run or applied, and the user's directory gets only the plain file."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

from container.isolated import copies_of
from tests.integration.second_engine import SecondEngine
from tests.integration.test_isolated import GIT, _chown
from tests.integration.test_isolated_remote import PREFIX, far  # noqa: F401
from tests.security.conftest import CLI, as_agent


def test_a_hostile_remote_copy_is_read_as_data(
    cli: CLI,
    far: dict[str, str],  # noqa: F811
    project: Path,
    second_engine: SecondEngine,
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("HOST SECRET\n")
    (project / "app.py").write_text("x = 1\n")
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "."], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=project, check=True)
    _chown(project)
    git_before = {
        str(p.relative_to(project)): p.read_bytes()
        for p in (project / ".git").rglob("*")
        if p.is_file()
    }
    name = f"{PREFIX}-isoatk-{uuid.uuid4().hex[:6]}"
    res = cli(
        str(project), "--isolated", "--name", name, "--agent", "shell", "-d",
        "--engine", "far", env=far,
    )  # fmt: skip
    assert res.code == 0, res.text
    d2 = second_engine.client()
    copy = copies_of(d2.containers.get(name).labels)[str(project)]
    marker = tmp_path / "PWNED"
    run_me = f"#!/bin/sh\ntouch {marker} {project}/PWNED {copy}/PWNED\n"

    def agent(cmd: str, ok: bool = True) -> str:
        code, out = as_agent(d2, name, f"cd /workspace/proj && {cmd}")
        assert (code == 0) == ok, out
        return out

    agent("echo 'x = 2' > app.py")
    # Links out of the copy, to that host's files by their path there.
    agent(f"ln -s {outside}/secret.txt leak.txt && ln -s {outside} docs && ln -s /etc etc")
    agent("mkfifo pipe")
    # A nested repository whose config and hooks would run anything git does there.
    agent(
        "mkdir -p nested/.git/hooks && git -C nested init -q && "
        f"printf '{run_me}' > nested/.git/hooks/post-checkout && "
        "chmod +x nested/.git/hooks/* && "
        f"git -C nested config core.fsmonitor 'touch {marker}' && "
        f"git -C nested config core.hooksPath /workspace/proj/nested/.git/hooks && "
        "echo data > nested/file.txt"
    )
    # The copy's own .git config and hooks are bound read-only: git the user may run later.
    agent("echo '[core]\n\tfsmonitor = touch /tmp/x' >> .git/config", ok=False)
    agent(f"printf '{run_me}' > .git/hooks/post-merge", ok=False)

    listed = cli("list", "--format", "json", "--engine", "far", env=far)
    assert listed.code == 0, listed.text
    mine = next(s for s in json.loads(listed.out) if s["name"] == name)
    assert isinstance(mine["differ"], int) and mine["differ"] >= 3

    check = cli("apply", "--name", name, "--engine", "far", "--check", env=far, timeout=120)
    assert check.code == 0, check.text
    assert "outside the directory: not applied" in check.out  # leak.txt, docs, etc
    assert "special file" in check.out  # the pipe: refused, no hang
    applied = cli("apply", "--name", name, "--engine", "far", env=far, timeout=120)
    assert applied.code == 0, applied.text

    assert (project / "app.py").read_text() == "x = 2\n"
    for planted in ("leak.txt", "docs", "etc", "pipe"):
        assert not os.path.lexists(project / planted), planted
    assert (project / "nested" / "file.txt").read_text() == "data\n"
    assert not (project / "nested" / ".git").exists()  # `.git` is never applied
    assert "HOST SECRET" not in "".join(
        p.read_text(errors="replace") for p in project.rglob("*") if p.is_file()
    )
    # Nothing the agent planted ran: not while listing, checking nor applying.
    for where in (marker, project / "PWNED", Path(copy) / "PWNED"):
        assert not where.exists(), where
    git_after = {
        str(p.relative_to(project)): p.read_bytes()
        for p in (project / ".git").rglob("*")
        if p.is_file()
    }
    assert git_after == git_before

    # apply --branch: the session's commit lands as its branch; nothing planted runs there
    # either, and the user's .git gets nothing but objects and that one ref.
    agent("git add app.py && git -c user.name=a -c user.email=a@x commit -qm hostile")
    branch = cli("apply", "--name", name, "--engine", "far", "--branch", env=far, timeout=120)
    assert branch.code == 0, branch.text
    log = subprocess.run([*GIT, "log", "--format=%s", f"claudex/{name}"], cwd=project,
                         capture_output=True, text=True)  # fmt: skip
    assert log.stdout.split() == ["hostile", "init"], log.stderr
    for where in (marker, project / "PWNED", Path(copy) / "PWNED"):
        assert not where.exists(), where
    changed = {
        rel
        for rel, data in (
            (str(p.relative_to(project)), p.read_bytes())
            for p in (project / ".git").rglob("*")
            if p.is_file()
        )
        if git_before.get(rel) != data
    }
    ours = (".git/objects/", ".git/refs/heads/claudex/", ".git/logs/refs/heads/claudex/")
    assert all(r.startswith(ours) for r in changed), changed
