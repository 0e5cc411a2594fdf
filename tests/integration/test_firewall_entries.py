"""`claudex firewall allow` checks entries as everything else does: one per argument or comma,
host names only, and a public suffix only with --force (real engine, real firewall)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.conftest import CLI


@pytest.fixture
def session(cli: CLI, project: Path, engine: docker.DockerClient) -> Iterator[str]:
    name = f"claudextest-entries-{uuid.uuid4().hex[:6]}"
    res = cli(str(project), "--name", name, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    yield name
    engine.api.remove_container(name, force=True, v=True)


def test_allow_checks_entries_and_needs_force_for_a_public_suffix(cli: CLI, session: str) -> None:
    def allowed() -> list[str]:
        res = cli("firewall", "status", session, "--format", "json")
        assert res.code == 0, res.text
        return [a["name"] for a in json.loads(res.out)["allowed"]]

    before = allowed()
    res = cli("firewall", "allow", session, "not a domain")
    assert res.code == 2 and "'not a domain' is not a domain name" in res.err
    assert "Traceback" not in res.text
    for suffix in ("com", "co.uk", "github.io"):
        res = cli("firewall", "allow", session, f"api.example.net,{suffix}")
        assert res.code == 2, res.text
        assert f"{suffix} is a public suffix" in res.err and "--force" in res.err
    assert allowed() == before  # nothing of a refused command was added

    res = cli("firewall", "allow", session, "Bücher.example, api.example.net")
    assert res.code == 0, res.text
    assert allowed()[-2:] == ["xn--bcher-kva.example", "api.example.net"]
    res = cli("firewall", "allow", session, "github.io", "--force")
    assert res.code == 0, res.text
    assert "github.io" in allowed()
