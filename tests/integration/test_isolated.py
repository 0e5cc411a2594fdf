"""Isolated sessions on the real engine: each session works on its own copy, the user's
directory and `.git` stay as they were until `claudex apply`, and a conflict writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import docker
import pytest

from container import labels
from container.isolated import isolated_root
from tests.integration.conftest import CLI, exec_in
from tests.integration.tmux_pane import Pane

AGENT = "4242"
GIT = ["git", "-c", "safe.directory=*", "-c", "user.name=me", "-c", "user.email=me@x"]


def _chown(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, 4242, 4242)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (its `.git` too) with its bytes; links as their target."""
    found: dict[str, bytes] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            found[rel] = b"-> " + os.readlink(p).encode()
        elif p.is_file():
            found[rel] = p.read_bytes()
        else:
            found[rel] = b"<dir>"
    return found


@pytest.fixture
def repo(project: Path) -> Path:
    """A git repository with a commit, an uncommitted change and an untracked file."""
    (project / "app.py").write_text("def main():\n    return 1\n")
    (project / "notes.txt").write_text("keep\n")
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "."], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=project, check=True)
    (project / "README.md").write_text("hello, uncommitted\n")
    (project / "draft.txt").write_text("untracked\n")
    _chown(project)
    return project


def _start(cli: CLI, directory: Path, name: str, *more: str) -> None:
    r = cli(str(directory), "--isolated", "--name", name, "--agent", "shell", "-d", *more)
    assert r.code == 0, r.text


def _agent(engine: docker.DockerClient, name: str, cmd: str) -> str:
    code, out = exec_in(engine, name, cmd, user=AGENT)
    assert code == 0, out
    return out


def test_two_isolated_sessions_conflict_and_nothing_is_written(
    cli: CLI, engine: docker.DockerClient, repo: Path
) -> None:
    before = snapshot(repo)
    a, b = f"claudextest-iso-a-{uuid.uuid4().hex[:6]}", f"claudextest-iso-b-{uuid.uuid4().hex[:6]}"
    _start(cli, repo, a)
    _start(cli, repo, b)

    # Each sees the user's current files (uncommitted and untracked too) on its own branch.
    for name in (a, b):
        out = _agent(
            engine,
            name,
            "cd /workspace/proj && cat README.md draft.txt && git branch --show-current "
            "&& git status --short",
        )
        assert "hello, uncommitted" in out and "untracked" in out
        assert f"claudex/{name}" in out
        assert " M README.md" in out and "?? draft.txt" in out
    # Both edit the same file differently; each commits on its own branch.
    commit = "git -c user.name=a -c user.email=a@x commit -qam"
    _agent(engine, a, f"cd /workspace/proj && echo '    return 2' >> app.py && {commit} two")
    _agent(engine, b, f"cd /workspace/proj && echo '    return 3' >> app.py && {commit} three")
    _agent(engine, a, "cd /workspace/proj && echo added > new.txt && rm notes.txt")

    # Until apply, the user's directory and its .git (HEAD, refs, index, config) are untouched.
    assert snapshot(repo) == before

    unnamed = cli("apply", "--check", cwd=repo)  # two sessions of this directory: which?
    assert unnamed.code != 0 and "several isolated sessions" in unnamed.err
    assert a in unnamed.err and b in unnamed.err

    check = cli("apply", "--name", a, "--check", cwd=repo)
    assert check.code == 0, check.text
    assert "would apply" in check.out and "app.py" in check.out
    assert snapshot(repo) == before  # --check writes nothing

    applied = cli("apply", "--name", a, cwd=repo)
    assert applied.code == 0, applied.text
    assert (repo / "app.py").read_text().endswith("return 2\n")
    assert (repo / "new.txt").read_text() == "added\n"
    assert not (repo / "notes.txt").exists()
    assert (repo / "draft.txt").read_text() == "untracked\n"
    after_a = snapshot(repo)
    git_of = {k: v for k, v in after_a.items() if k.startswith(".git")}
    assert git_of == {k: v for k, v in before.items() if k.startswith(".git")}

    # The other session changed the same lines: a conflict, shown three-way, nothing written.
    check_b = cli("apply", "--name", b, "--check", cwd=repo)
    assert check_b.code == 1, check_b.text
    assert "CONFLICT" in check_b.out and "app.py" in check_b.out
    assert "return 2" in check_b.out and "return 3" in check_b.out
    apply_b = cli("apply", "--name", b, cwd=repo)
    assert apply_b.code == 1
    assert "nothing was written" in apply_b.err
    assert snapshot(repo) == after_a


def test_plain_directory_works_the_same(
    cli: CLI, engine: docker.DockerClient, project: Path
) -> None:
    (project / "sub").mkdir()
    (project / "sub" / "data.txt").write_text("one\n")
    _chown(project)
    before = snapshot(project)
    name = f"claudextest-iso-plain-{uuid.uuid4().hex[:6]}"
    _start(cli, project, name)
    container = engine.containers.get(name)
    iso = json.loads(container.labels[labels.ISOLATED])
    assert list(iso) == [str(project)]
    assert iso[str(project)].startswith(str(isolated_root() / name))
    _agent(engine, name, "cd /workspace/proj && echo two > sub/data.txt && echo x > added.txt")
    assert snapshot(project) == before

    (project / "mine.txt").write_text("the user's own\n")  # the user's change since: kept
    r = cli("apply", "--name", name, cwd=project)
    assert r.code == 0, r.text
    assert (project / "sub" / "data.txt").read_text() == "two\n"
    assert (project / "added.txt").read_text() == "x\n"
    assert (project / "mine.txt").read_text() == "the user's own\n"
    assert (project / "added.txt").stat().st_uid == 4242  # the directory's owner, not root

    # Applied again: nothing left to do.
    again = cli("apply", "--name", name, "--check", cwd=project)
    assert again.code == 0 and "would apply" not in again.out


def test_read_only_and_a_copy_that_does_not_fit(
    cli: CLI, engine: docker.DockerClient, project: Path, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small file system")
    (project / "big.bin").write_bytes(os.urandom(4 << 20))
    _chown(project)
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], check=True)
    try:
        name = f"claudextest-iso-full-{uuid.uuid4().hex[:6]}"
        r = cli(
            str(project), "--isolated", "--name", name, "--agent", "shell", "-d",
            env={"XDG_DATA_HOME": str(small)},
        )  # fmt: skip
        assert r.code != 0
        assert "not enough disk space" in r.err and "MiB" in r.err
        assert not engine.containers.list(all=True, filters={"name": f"^/{name}$"})
        assert not (small / "claudex" / "isolated" / name).exists()
    finally:
        subprocess.run(["umount", str(small)], check=False)

    ro = tmp_path / "ref"
    ro.mkdir()
    name = f"claudextest-iso-ro-{uuid.uuid4().hex[:6]}"
    r = cli(str(project), "--ro", str(ro), "--isolated", "--name", name, "--agent", "shell", "-d")
    assert r.code == 0, r.text
    assert f"{ro} is read-only: mounted as it is" in r.err


def test_list_counts_what_differs_and_destroy_keeps_it_in_the_bundle(
    cli: CLI, engine: docker.DockerClient, project: Path, tmp_path: Path, pane: Pane
) -> None:
    name = f"claudextest-iso-list-{uuid.uuid4().hex[:6]}"
    _start(cli, project, name)
    _agent(engine, name, "cd /workspace/proj && echo changed > README.md && echo n > new.txt")

    table = cli("list")
    row = next(line for line in table.out.splitlines() if line.startswith(name))
    assert "(isolated: 2 files differ)" in row
    entry = next(s for s in json.loads(cli("list", "--format", "json").out) if s["name"] == name)
    assert entry["differ"] == 2 and list(entry["isolated"]) == [str(project)]

    # On a terminal, destroy names what was not applied before it asks; "n" keeps everything.
    pane.keys(f"{sys.executable} -m claudex_tui.cli destroy --name {name}", "Enter")
    asked = pane.wait_for("Destroy 1 session(s)?", timeout=60)
    assert "2 file(s) of its isolated copies differ from your directories" in asked
    pane.keys("n", "Enter")
    pane.wait_for("nothing destroyed")
    assert engine.containers.get(name) and (isolated_root() / name / "work").is_dir()

    # Without a terminal, destroy still refuses without --force; with it, the changes go to
    # the history bundle before the copies are removed.
    assert cli("destroy", "--name", name).code != 0
    assert (isolated_root() / name).exists()
    r = cli("destroy", "--name", name, "--force")
    assert r.code == 0, r.text
    assert "removed its isolated copies" in r.out
    assert not (isolated_root() / name).exists()
    assert (project / "README.md").read_text() == "hello\n"
    bundle = next(line.split(" to ", 1)[1] for line in r.out.splitlines() if "history" in line)
    clone = tmp_path / "history"
    subprocess.run(["git", "clone", "-q", bundle, str(clone)], check=True)
    assert (clone / "proj" / "README.md").read_text() == "changed\n"
    assert (clone / "proj" / "new.txt").read_text() == "n\n"


def test_reuse_the_config_default_and_a_shared_session_of_the_same_name(
    cli: CLI, engine: docker.DockerClient, project: Path, tmp_path: Path
) -> None:
    name = f"claudextest-iso-reuse-{uuid.uuid4().hex[:6]}"
    _start(cli, project, name)
    again = cli(str(project), "--name", name, "--agent", "shell", "-d")  # --isolated not needed
    assert again.code == 0, again.text
    assert "reusing" in again.err and "not mounted" not in again.err
    assert "isolated copy" not in again.err

    # `isolated = true` makes --parallel sessions isolated.
    config = tmp_path / "config"
    (config / "claudex").mkdir(parents=True)
    (config / "claudex" / "config.toml").write_text("isolated = true\n")
    r = cli(
        str(project), "--parallel", "--agent", "shell", "-d", env={"XDG_CONFIG_HOME": str(config)}
    )
    assert r.code == 0, r.text
    parallel = r.out.strip()
    assert labels.ISOLATED in engine.containers.get(parallel).labels
    assert (isolated_root() / parallel / "work").is_dir()

    # A session of that name working on the directory itself is not silently reused.
    shared = f"claudextest-iso-shared-{uuid.uuid4().hex[:6]}"
    assert cli(str(project), "--name", shared, "--agent", "shell", "-d").code == 0
    refused = cli(str(project), "--name", shared, "--isolated", "--agent", "shell", "-d")
    assert refused.code != 0
    assert "works on your directories themselves" in refused.err
    assert not (isolated_root() / shared).exists()
