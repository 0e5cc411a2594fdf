"""`claudex list` formats and filters, and every `claudex destroy` variant."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import docker
import pytest

from container.naming import signature
from tests.conftest import TEST_PREFIX
from tests.integration.conftest import CLI


@pytest.fixture
def token() -> str:
    """In this test's directory names, hence in its sessions' names (their slug)."""
    return uuid.uuid4().hex[:6]


def mine(token: str) -> tuple[str, str]:
    """--all and --prune-stopped narrowed to this test's sessions: a developer's own, and those
    of another test run sharing the engine, stay."""
    return ("--filter", f"name={TEST_PREFIX}-*-{token}-*")


def folder(tmp_path: Path, word: str, token: str) -> Path:
    return tmp_path / f"{word}-{token}"


@pytest.fixture
def three(cli: CLI, tmp_path: Path, engine: docker.DockerClient, token: str) -> dict[str, str]:
    """Three sessions: alpha (running), beta (stopped), gamma (running)."""
    made = {}
    for word in ("alpha", "beta", "gamma"):
        d = folder(tmp_path, word, token)
        d.mkdir()
        res = cli(str(d), "-d", "--agent", "shell")
        assert res.code == 0, res.text
        made[word] = res.out.strip()
    engine.api.stop(made["beta"], timeout=1)
    return made


def _names(cli: CLI, *args: str) -> set[str]:
    res = cli("list", "--format", "names", *args)
    assert res.code == 0, res.text
    return set(res.out.split())


def test_list_formats_and_filters(cli: CLI, three: dict[str, str], tmp_path: Path, token: str):
    mine = set(three.values())
    assert mine <= _names(cli)
    assert mine <= _names(cli, "--all")
    assert {three["alpha"], three["gamma"]} <= _names(cli, "--running")
    assert three["beta"] not in _names(cli, "--running")
    assert three["beta"] in _names(cli, "--stopped")
    assert _names(cli, "--filter", f"name={three['alpha']}") == {three["alpha"]}
    assert _names(cli, "--filter", "name=*-alpha-*") >= {three["alpha"]}
    beta_dir = str(folder(tmp_path, "beta", token))
    assert _names(cli, "--filter", f"signature={signature([beta_dir])}") == {three["beta"]}
    assert three["gamma"] in _names(cli, "--filter", "slug=gamma*")

    table = cli("list")
    assert table.code == 0
    header, *rows = table.out.splitlines()
    assert header.split()[:4] == ["NAME", "STATE", "AGENT", "NETWORK"]
    states = {r.split()[0]: r.split()[1] for r in rows}
    assert states[three["alpha"]] == "running" and states[three["beta"]] == "exited"

    data = json.loads(cli("list", "--format", "json").out)
    by_name = {s["name"]: s for s in data}
    assert by_name[three["beta"]]["state"] == "exited"
    assert by_name[three["alpha"]]["mounts"] and by_name[three["alpha"]]["agent"] == "shell"


def test_list_json_empty_is_an_empty_list(cli: CLI):
    res = cli("list", "--format", "json", "--filter", "name=no-such-session-*")
    assert res.code == 0 and json.loads(res.out) == []


def test_list_bad_filter(cli: CLI):
    res = cli("list", "--filter", "colour=red")
    assert res.code == 2 and "bad filter" in res.err


def test_destroy_by_name_and_signature(cli: CLI, three: dict[str, str], tmp_path: Path, token: str):
    res = cli("destroy", "--name", three["alpha"], "--force")
    assert res.code == 0 and f"destroyed {three['alpha']}" in res.out
    gamma_dir = str(folder(tmp_path, "gamma", token))
    res = cli("destroy", "--signature", signature([gamma_dir]), "--force")
    assert res.code == 0 and three["gamma"] in res.out
    assert _names(cli) & set(three.values()) == {three["beta"]}


def test_destroy_needs_confirmation_without_a_terminal(cli: CLI, three: dict[str, str]):
    res = cli("destroy", "--name", three["alpha"])
    assert res.code != 0 and "--force" in res.err
    assert three["alpha"] in _names(cli)


def test_destroy_running_and_stopped_filters(cli: CLI, three: dict[str, str], token: str):
    res = cli("destroy", "--prune-stopped", "--force", *mine(token))
    assert res.code == 0 and three["beta"] in res.out
    assert three["alpha"] in _names(cli) and three["beta"] not in _names(cli)
    res = cli("destroy", "--name", three["alpha"], "--stopped", "--force")
    assert res.code == 0 and "nothing to destroy" in res.out
    res = cli("destroy", "--name", three["alpha"], "--running", "--force")
    assert res.code == 0 and three["alpha"] in res.out


def test_destroy_all_only_touches_claudex_containers(
    cli: CLI, three: dict[str, str], engine: docker.DockerClient, image: str, token: str
):
    bystander_name = f"claudextest-bystander-{uuid.uuid4().hex[:8]}"
    bystander = engine.api.create_container(
        image, command=["true"], entrypoint=[], name=bystander_name
    )
    try:
        res = cli("destroy", "--all", "--force", *mine(token))
        assert res.code == 0
        assert not (_names(cli) & set(three.values()))
        assert engine.api.inspect_container(bystander["Id"])  # still there
        res = cli("destroy", "--name", bystander_name, "--force")
        assert res.code != 0 and "no claudex session" in res.err
    finally:
        engine.api.remove_container(bystander["Id"], force=True)


def test_destroy_unknown_name_fails(cli: CLI):
    res = cli("destroy", "--name", "no-such-session", "--force")
    assert res.code != 0 and "no claudex session named 'no-such-session'" in res.err
    res = cli("destroy", "--name", "no-such-*", "--force")
    assert res.code != 0 and "no claudex session matches 'no-such-*'" in res.err
