"""The dashboard follows the engine's events, filtered by the engine itself: what changes the
session list (here a pause and an unpause) reaches it; the execs claudex runs in every session
all the time (change counts, firewall checks) are never sent to it at all."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import docker

from container.watch import EVENT_FILTERS, EventsWatcher
from tests.integration.conftest import CLI
from tests.waiting import wait_for


def test_execs_never_reach_the_dashboard_state_changes_do(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    container = engine.containers.get(name)
    changes = threading.Event()
    lost: list[str] = []
    watcher = EventsWatcher(engine, changes.set, lost.append)
    watcher.start()
    try:
        since = int(time.time()) - 1
        for _ in range(3):
            assert container.exec_run(["true"]).exit_code == 0
        container.pause()
        container.unpause()
        wait_for("the pause to reach the watcher", lambda: changes.is_set(), 30)
        until = int(time.time()) + 2
        seen = [
            e.get("Action", "")
            for e in engine.events(since=since, until=until, decode=True, filters=EVENT_FILTERS)
            if e.get("Actor", {}).get("ID") == container.id
        ]
    finally:
        watcher.stop()
    assert "pause" in seen and "unpause" in seen, seen
    assert not [a for a in seen if a.startswith("exec_")], seen
    assert not lost
