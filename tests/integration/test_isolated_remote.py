"""Isolated sessions on a remote engine (the second dockerd, named `remote = true` as an ssh://
or tcp:// engine is): the copies are made on that engine's host by a helper container, in its
volume `claudex-isolated`; nothing on this side; `claudex list` and `claudex apply` read and
write them there."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import docker
import pytest

from container import labels
from container.host_fs import HELPER_LABEL
from container.isolated import copies_of
from tests.integration.conftest import CLI, exec_in
from tests.integration.second_engine import RUN, SecondEngine
from tests.integration.test_isolated import GIT, _chown, snapshot
from tests.integration.tmux_pane import Pane

PREFIX = f"claudexme{RUN}"
AGENT = "4242"


@pytest.fixture
def far(second_engine: SecondEngine, tmp_path: Path) -> dict[str, str]:
    """The second engine as a remote one; this side's data folder is the test's own."""
    conf = tmp_path / "xdg-far" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(
        f'[engines.far]\nhost = "{second_engine.host}"\nremote = true\n'
    )
    return {
        "XDG_CONFIG_HOME": str(conf.parent),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "CLAUDEX_NAME_PREFIX": PREFIX,
    }


@pytest.fixture
def repo(project: Path) -> Path:
    """A git repository with a commit, an uncommitted change and an untracked file."""
    (project / "app.py").write_text("def main():\n    return 1\n")
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "."], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=project, check=True)
    (project / "README.md").write_text("hello, uncommitted\n")
    (project / "draft.txt").write_text("untracked\n")
    _chown(project)
    return project


def start_far(cli: CLI, env: dict[str, str], directory: Path) -> str:
    name = f"{PREFIX}-iso-{uuid.uuid4().hex[:6]}"
    res = cli(
        str(directory), "--isolated", "--name", name, "--agent", "shell", "-d",
        "--engine", "far", env=env,
    )  # fmt: skip
    assert res.code == 0, res.text
    return name


def agent(d2: docker.DockerClient, name: str, cmd: str) -> str:
    code, out = exec_in(d2, name, cmd, user=AGENT)
    assert code == 0, out
    return out


def test_isolated_session_on_a_remote_engine(
    cli: CLI,
    far: dict[str, str],
    repo: Path,
    second_engine: SecondEngine,
    tmp_path: Path,
    pane: Pane,
) -> None:
    before = snapshot(repo)
    d2 = second_engine.client()
    name = start_far(cli, far, repo)

    again = cli(str(repo), "--name", name, "--agent", "shell", "-d", "--engine", "far", env=far)
    assert again.code == 0 and "reusing" in again.err, again.text  # with the same copies

    # The copies are on the engine's host, in its volume; nothing was made on this side.
    info = d2.containers.get(name)
    copy = copies_of(info.labels)[str(repo)]
    volume = d2.api.inspect_volume("claudex-isolated")["Mountpoint"]
    assert copy == f"{volume}/claudex/isolated/{name}/work/0-proj"
    assert copy.startswith(str(second_engine.root))  # that engine's data, not this machine's
    assert not (tmp_path / "xdg-data").exists()
    assert (Path(volume) / "claudex/isolated" / name / "base").is_dir()  # never mounted
    binds = {m["Source"]: m["Destination"] for m in info.attrs["Mounts"]}
    assert binds[copy] == "/workspace/proj" and str(repo) not in binds
    assert binds[f"{repo}/.git/objects"] == f"{repo}/.git/objects"  # the clone shares them
    assert not d2.api.containers(all=True, filters={"label": [HELPER_LABEL]})  # helpers gone

    # The agent works on its own clone, on its own branch, with the uncommitted files.
    out = agent(d2, name, "cd /workspace/proj && cat README.md draft.txt && git branch "
                "--show-current && git status --short")  # fmt: skip
    assert "hello, uncommitted" in out and "untracked" in out and f"claudex/{name}" in out
    commit = "git -c user.name=a -c user.email=a@x commit -qam"
    agent(d2, name, f"cd /workspace/proj && echo '    return 2' >> app.py && {commit} two")
    agent(d2, name, "cd /workspace/proj && echo added > new.txt")
    other = start_far(cli, far, repo)  # a second isolated session of the same repository
    agent(d2, other, "cd /workspace/proj && echo '    return 3' >> app.py")
    assert snapshot(repo) == before  # the user's directory and .git: untouched

    listed = cli("list", "--format", "json", "--engine", "far", env=far)
    assert listed.code == 0, listed.text
    mine = next(s for s in json.loads(listed.out) if s["name"] == name)
    assert mine["differ"] == 2 and mine["isolated"] == {str(repo): copy}
    table = cli("list", "--engine", "far", env=far)
    assert "(isolated: 2 files differ)" in table.out, table.text

    on_far = ["--name", name, "--engine", "far"]
    check = cli("apply", *on_far, "--check", env=far)
    assert check.code == 0, check.text
    assert "would apply" in check.out and "app.py" in check.out and "new.txt" in check.out
    assert snapshot(repo) == before

    applied = cli("apply", *on_far, env=far)
    assert applied.code == 0, applied.text
    assert (repo / "app.py").read_text().endswith("return 2\n")
    assert (repo / "new.txt").read_text() == "added\n"
    assert (repo / "new.txt").stat().st_uid == 4242  # the user's, as a local apply gives it
    git_now = {k: v for k, v in snapshot(repo).items() if k.startswith(".git")}
    assert git_now == {k: v for k, v in before.items() if k.startswith(".git")}

    # The user changes the same line; the session changes it again: a conflict, nothing written.
    (repo / "app.py").write_text("def main():\n    return 1\n    return 9\n")
    agent(d2, name, "cd /workspace/proj && sed -i 's/return 2/return 5/' app.py")
    conflict = cli("apply", *on_far, "--check", env=far)
    assert conflict.code == 1, conflict.text
    assert "CONFLICT" in conflict.out and "return 9" in conflict.out and "return 5" in conflict.out
    assert cli("apply", *on_far, env=far).code == 1
    assert (repo / "app.py").read_text().endswith("return 9\n")

    # --branch: the session's commits become branch claudex/<session> in the user's repository
    # on that host, its files and HEAD untouched, what was written owned by the repository's
    # owner (the fetch runs as them).
    head = subprocess.run([*GIT, "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    branch = cli("apply", *on_far, "--branch", env=far)
    assert branch.code == 0, branch.text
    log = subprocess.run(
        [*GIT, "log", "--format=%s", f"claudex/{name}"], cwd=repo, capture_output=True, text=True
    )
    assert log.stdout.split() == ["two", "init"], log.stderr
    assert subprocess.run([*GIT, "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True).stdout == head.stdout  # fmt: skip
    assert (repo / "app.py").read_text().endswith("return 9\n")
    assert all(p.stat().st_uid == 4242 for p in (repo / ".git").rglob("*"))

    # The two sessions' results, compared on that host.
    compare = cli("compare", name, other, "--engine", "far", env=far)
    assert compare.code == 0, compare.text
    assert "app.py" in compare.out and "return 5" in compare.out and "return 3" in compare.out
    assert "new.txt" in compare.out

    # On a terminal, destroy names what was not applied (counted on that host), then asks.
    env = " ".join(f"{k}={v}" for k, v in far.items())
    pane.keys(f"env {env} {sys.executable} -m claudex_tui.cli destroy --name {other} "
              "--engine far", "Enter")  # fmt: skip
    asked = pane.wait_for("Destroy 1 session(s)?", timeout=90)
    assert "1 file(s) of its isolated copies differ from your directories" in asked
    pane.keys("n", "Enter")
    pane.wait_for("nothing destroyed")
    assert (Path(volume) / "claudex/isolated" / other / "work").is_dir()

    for session in (name, other):
        gone = cli("destroy", "--name", session, "--force", "--engine", "far", env=far)
        assert gone.code == 0, gone.text
        assert "removed its isolated copies" in gone.out
        assert not (Path(volume) / "claudex/isolated" / session).exists()
    # The unapplied change is in the history bundle, kept on this side.
    bundle = next(line.split(" to ", 1)[1] for line in gone.out.splitlines() if "history" in line)
    subprocess.run(["git", "clone", "-q", bundle, str(tmp_path / "history")], check=True)
    assert (tmp_path / "history" / "proj" / "app.py").read_text().endswith("return 3\n")
    assert info.labels[labels.ISOLATED]
