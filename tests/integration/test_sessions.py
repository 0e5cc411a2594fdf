"""Creating, reusing, --parallel, --replace and --strict-mounts on the real engine."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import docker

from container import labels
from container.naming import session_name, signature, slug
from tests.conftest import TEST_PREFIX
from tests.integration.conftest import CLI, Result, exec_in


def names(cli: CLI, *filters: str) -> list[str]:
    out = cli("list", "--format", "names", *filters)
    assert out.code == 0, out.text
    return out.out.split()


def test_create_then_reuse_by_signature(cli: CLI, project: Path, engine: docker.DockerClient):
    first = cli(str(project), "--detach", "--agent", "shell")
    assert first.code == 0, first.text
    name = first.out.strip()
    assert name == session_name([str(project)], prefix=TEST_PREFIX)
    assert "created session" in first.err

    again = cli(str(project), "--detach", "--agent", "shell")
    assert again.code == 0 and again.out.strip() == name
    assert "reusing session" in again.err
    assert names(cli, "--filter", f"signature={signature([str(project)])}") == [name]

    attrs = engine.api.inspect_container(name)
    lab = attrs["Config"]["Labels"]
    assert lab[labels.SIGNATURE] == signature([str(project)])
    assert lab[labels.SLUG] == slug([str(project)])
    assert json.loads(lab[labels.MOUNTS]) == [str(project)]
    assert lab[labels.VERSION]
    mounts = {m["Destination"]: m for m in attrs["Mounts"]}
    assert mounts["/workspace/proj"]["Source"] == str(project)
    assert mounts["/workspace/proj"]["RW"] is True


def test_stopped_session_is_started_again(cli: CLI, project: Path, engine: docker.DockerClient):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    engine.api.stop(name, timeout=1)
    res = cli(str(project), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    assert "started session" in res.err
    assert engine.api.inspect_container(name)["State"]["Running"]
    _, out = exec_in(engine, name, "cat /run/claudex/status")
    assert out.strip() == "ready"


def test_parallel_twice_in_the_same_second(cli: CLI, project: Path):
    base = cli(str(project), "-d", "--agent", "shell").out.strip()
    results: list[Result] = []

    def start() -> None:
        results.append(cli(str(project), "-d", "--parallel", "--agent", "shell"))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.code == 0 for r in results), [r.text for r in results]
    made = sorted(r.out.strip() for r in results)
    assert len(set(made)) == 2 and base not in made
    assert all(m.startswith(base + "-") for m in made)
    assert sorted(names(cli, "--filter", f"name={base}*")) == sorted([base, *made])


def test_replace_recreates(cli: CLI, project: Path, engine: docker.DockerClient):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    old_id = engine.api.inspect_container(name)["Id"]
    res = cli(str(project), "-d", "--agent", "shell", "--replace")
    assert res.code == 0, res.text
    assert res.out.strip() == name
    assert engine.api.inspect_container(name)["Id"] != old_id


def test_name_taken_by_other_mounts_is_an_error(cli: CLI, project: Path, tmp_path: Path):
    taken = f"{TEST_PREFIX}-taken-{uuid.uuid4().hex[:8]}"  # never an earlier run's
    other = tmp_path / "other"
    other.mkdir()
    assert cli(str(project), "-d", "--agent", "shell", "--name", taken).code == 0
    res = cli(str(other), "-d", "--agent", "shell", "--name", taken)
    assert res.code != 0
    assert "already used by a session with other mounts" in res.err
    assert "Traceback" not in res.text


def test_strict_mounts_mismatch(cli: CLI, project: Path):
    assert cli(str(project), "-d", "--agent", "shell").code == 0
    # Same directory, now asked for read-only: the existing session mounts it read-write.
    loose = cli("--ro", str(project), "-d", "--agent", "shell")
    assert loose.code == 0 and "reusing" in loose.err and "read-write" in loose.err
    strict = cli("--ro", str(project), "-d", "--agent", "shell", "--strict-mounts")
    assert strict.code != 0
    assert "--strict-mounts" in strict.err and "read-write" in strict.err


def test_go_tool_session_is_listed_and_reused(
    cli: CLI, tmp_path: Path, engine: docker.DockerClient, image: str
):
    proj = tmp_path / "legacy"
    proj.mkdir()
    dirs = [str(proj)]
    name = f"{TEST_PREFIX}-go-{signature(dirs)}"
    engine.api.create_container(
        image,
        command=["sleep", "infinity"],
        entrypoint=[],
        name=name,
        labels={
            labels.SIGNATURE: signature(dirs),
            labels.SLUG: slug(dirs),
            labels.MOUNTS: json.dumps(dirs),
            labels.VERSION: "go-1.4.0",
        },
        host_config=engine.api.create_host_config(binds=[f"{proj}:/workspace/legacy"]),
    )
    listed = json.loads(cli("list", "--format", "json").out)
    mine = [s for s in listed if s["name"] == name]
    assert mine and mine[0]["managed"] is False and mine[0]["mounts"] == dirs
    res = cli(str(proj), "-d")
    assert res.code == 0, res.text
    assert res.out.strip() == name
    assert engine.api.inspect_container(name)["State"]["Running"]


def test_commands_on_a_stopped_session_say_so(cli: CLI, project: Path, engine: docker.DockerClient):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    engine.api.stop(name, timeout=1)
    res = cli("shell", name)
    assert res.code != 0
    assert f"session {name} is exited, not running" in res.err
    assert "hint:" in res.err and "Traceback" not in res.text
