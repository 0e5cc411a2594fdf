"""The Changes tab's two views on the real engine: changes since the start (the baseline) and
since the last checkpoint (exactly what a revert throws away)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from container.sessions import Sessions
from container.tracking import Tracker
from tests.integration.conftest import CLI, exec_in

AGENT = "4242:4242"


@pytest.fixture
def session(cli: CLI, project: Path, engine: docker.DockerClient) -> Iterator[str]:
    name = f"claudextest-since-{uuid.uuid4().hex[:6]}"
    res = cli(str(project), "--name", name, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    yield name
    engine.api.remove_container(name, force=True, v=True)


def test_changes_since_the_last_checkpoint(
    cli: CLI, session: str, engine: docker.DockerClient, project: Path
) -> None:
    tracker = Tracker(engine.api, Sessions(engine).get(session))
    work = f"/workspace/{project.name}"
    p = project.name
    code, out = exec_in(
        engine, session, f"cd {work} && echo one > alpha.txt && echo changed > README.md", AGENT
    )
    assert code == 0, out
    tracker.checkpoint("alpha is one")
    code, out = exec_in(
        engine, session, f"cd {work} && echo two > alpha.txt && echo n > new", AGENT
    )
    assert code == 0, out

    def listed(since: str) -> dict[str, tuple[str, int, int]]:
        return {c.path: (c.status, c.added, c.removed) for c in tracker.changes(since=since)}

    assert listed("start") == {
        f"{p}/README.md": ("modified", 1, 1),
        f"{p}/alpha.txt": ("added", 1, 0),
        f"{p}/new": ("added", 1, 0),
    }
    # README.md is as at the checkpoint: not listed; alpha.txt changed from "one" to "two".
    assert listed("checkpoint") == {
        f"{p}/alpha.txt": ("modified", 1, 1),
        f"{p}/new": ("added", 1, 0),
    }
    since_checkpoint = tracker.file_diff(f"{p}/alpha.txt", since="checkpoint")
    assert "-one" in since_checkpoint and "+two" in since_checkpoint
    since_start = tracker.file_diff(f"{p}/alpha.txt")
    assert "+two" in since_start and "-one" not in since_start and "new file" in since_start

    # The command line shows the same two views.
    res = cli("diff", session, "--name-only", "--since-checkpoint")
    assert res.code == 0 and res.out.split() == [f"{p}/alpha.txt", f"{p}/new"], res.text
    res = cli("diff", session, "--name-only")
    assert res.out.split() == [f"{p}/README.md", f"{p}/alpha.txt", f"{p}/new"], res.text

    # The revert throws away exactly what the checkpoint view showed for the file.
    assert tracker.revert([f"{p}/alpha.txt"]).restored == [f"{p}/alpha.txt"]
    assert exec_in(engine, session, f"cat {work}/alpha.txt")[1].strip() == "one"
    assert listed("checkpoint") == {f"{p}/new": ("added", 1, 0)}
    assert listed("start")[f"{p}/alpha.txt"] == ("added", 1, 0)

    # No checkpoint after a new one: the checkpoint view is empty, the start's is not.
    tracker.checkpoint("all of it")
    assert listed("checkpoint") == {}
    assert len(listed("start")) == 3
    res = cli("diff", session, "--since-checkpoint")
    assert res.code == 0 and "no changes" in res.err and "since the last checkpoint" in res.err
