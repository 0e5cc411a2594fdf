"""A create on this host that takes longer than the never-started grace (a loaded engine: 20
concurrent starts once lost a session this way) is waited for by the other starts, never
removed as a failed create's leftover."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import docker
import pytest

from container import sessions as sessions_module
from container.mounts import plan_mounts
from container.naming import session_name
from container.session_spec import StartRequest
from container.sessions import Sessions, StartResult
from tests.security.conftest import wait_for


def test_a_slow_create_is_waited_for_not_removed(
    engine: docker.DockerClient, image: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions_module, "CREATE_GRACE", 1.0)
    creator = Sessions(engine)
    plan = plan_mounts([str(project)], [])
    req = StartRequest(plan=plan, agent="shell")
    base = session_name(plan.dirs)
    steps: list[str] = []
    result: dict[str, Any] = {}

    def other_start() -> None:
        try:
            result["start"] = Sessions(engine).start_session(req, on_step=steps.append)
        except Exception as exc:  # reported by the assertion below
            result["error"] = exc

    # The first claudex: created, not started yet, its create lock held.
    with creator._creating(base):
        container_id, name = creator._create(base, req)
        other = threading.Thread(target=other_start)
        other.start()
        wait_for(
            "the other start waiting for the create",
            lambda: any("another claudex is creating" in s for s in steps),
            60,
        )

        def age() -> float:
            return creator._age(engine.api.inspect_container(container_id)) or 0.0

        wait_for("the create older than the grace", lambda: age() > 3.0, 30)
        assert engine.api.inspect_container(container_id)["State"]["Status"] == "created"
        creator._launch(container_id, name, req, lambda _m: None)
    other.join(120)
    assert "error" not in result, result
    started: StartResult = result["start"]
    assert started.session.id == container_id and not started.created, steps
    assert not [s for s in steps if s.startswith("removing")], steps
