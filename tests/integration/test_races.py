"""Races and failed starts on the real engine: concurrent starts of the same directories, a
session restarted in a loop while it starts, a create that failed, and the messages of each."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import pytest

from container import labels
from container.naming import session_name, signature, valid_container_name
from tests.conftest import TEST_PREFIX
from tests.integration.conftest import CLI, Result, exec_in
from tests.security.conftest import wait_for

CONCURRENT = 20


def _sessions_of(engine: docker.DockerClient, project: Path) -> list[dict[str, object]]:
    entries = engine.api.containers(all=True, filters={"label": [labels.SIGNATURE]})
    return [e for e in entries if str(project) in (e.get("Labels") or {}).get(labels.MOUNTS, "")]


def test_twenty_concurrent_starts_make_one_session(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    """The losers of the create race wait for the winner's session and reuse it."""
    with ThreadPoolExecutor(CONCURRENT) as pool:
        results = list(
            pool.map(lambda _i: cli(str(project), "-d", "--agent", "shell"), range(CONCURRENT))
        )
    failed = [r.text for r in results if r.code != 0]
    assert not failed, failed[0]
    name = session_name([str(project)], prefix=TEST_PREFIX)
    assert {r.out.strip() for r in results} == {name}
    assert [e["Names"] for e in _sessions_of(engine, project)] == [[f"/{name}"]]
    assert sum("created session" in r.err for r in results) == 1
    _, status = exec_in(engine, name, "cat /run/claudex/status")
    assert status.strip() == "ready"


@pytest.fixture
def restart_loop(engine: docker.DockerClient) -> Iterator[Callable[[str], None]]:
    """`docker restart` of a session over and over in a thread, until the test ends; each
    time after its init has come up (or the start was cut short), so starts both win and
    lose against it."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def begin(name: str) -> None:
        def up_or_down() -> bool:
            with contextlib.suppress(Exception):
                if not engine.api.inspect_container(name)["State"]["Running"]:
                    return True
                return exec_in(engine, name, "cat /run/claudex/status")[1].strip() == "ready"
            return True

        def loop() -> None:
            while not stop.is_set():
                with contextlib.suppress(Exception):
                    engine.api.restart(name, timeout=0)
                with contextlib.suppress(AssertionError):
                    wait_for("the session to be ready or down", up_or_down, 30)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        threads.append(thread)

    yield begin
    stop.set()
    for thread in threads:
        thread.join(timeout=60)


def test_starts_while_docker_restart_loops_succeed_or_say_why(
    cli: CLI, project: Path, engine: docker.DockerClient, restart_loop: Callable[[str], None]
) -> None:
    """Each start either works or says the session stopped, with its exit code and its log
    of that run: never Docker's raw "is not running" from an exec in between."""
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    engine.api.stop(name, timeout=0)
    restart_loop(name)
    outcomes: list[Result] = []
    for _ in range(15):
        with contextlib.suppress(Exception):
            engine.api.stop(name, timeout=0)
        outcomes.append(cli(str(project), "-d", "--agent", "shell"))
    print([(r.code, r.err[-100:]) for r in outcomes])
    for res in outcomes:
        if res.code == 0:
            assert res.out.strip() == name
            continue
        assert "stopped while starting (exit code" in res.err, res.text
        assert "is not running" not in res.err and "Traceback" not in res.err, res.text
    assert any(res.code == 0 for res in outcomes), outcomes[-1].text


def test_a_session_stopping_while_starting_shows_this_runs_log_only(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    """The log shown is of the run that failed: an earlier run's "claudex-init: ready" (what
    a full disk used to print, its new lines not written) never appears."""
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    engine.api.stop(name, timeout=1)
    # The init of the next run is killed as soon as it starts (what a full disk or an OOM
    # kill does): the start must report the exit and this run's lines only.
    stop = threading.Event()

    def killer() -> None:
        def started() -> bool:
            with contextlib.suppress(Exception):
                return bool(engine.api.inspect_container(name)["State"]["Running"])
            return False

        while not stop.is_set():
            if started():
                with contextlib.suppress(Exception):
                    engine.api.kill(name)
                return

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        res = cli(str(project), "-d", "--agent", "shell")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert res.code == 1, res.text
    assert "stopped while starting (exit code 137)" in res.err, res.text
    assert "claudex-init: ready" not in res.err, res.text
    assert "Traceback" not in res.err


def test_a_failed_create_is_removed_and_works_once_fixed(
    cli: CLI, project: Path, engine: docker.DockerClient, tmp_path: Path
) -> None:
    config = Path(tmp_path / "xdg-config" / "claudex")
    config.mkdir(parents=True)
    (config / "config.toml").write_text('network = "claudextest-missing-net"\n')
    env = {"XDG_CONFIG_HOME": str(config.parent)}
    res = cli(str(project), "-d", "--agent", "shell", env=env)
    assert res.code == 1, res.text
    assert "network 'claudextest-missing-net' does not exist" in res.err, res.text
    assert "docker network create claudextest-missing-net" in res.err
    assert "Traceback" not in res.err
    assert _sessions_of(engine, project) == []  # nothing left in "Created"

    (config / "config.toml").write_text("")
    fixed = cli(str(project), "-d", "--agent", "shell", env=env)
    assert fixed.code == 0, fixed.text
    assert "created session" in fixed.err


def test_a_session_left_never_started_is_recreated(
    project: Path, engine: docker.DockerClient, image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A "Created" container left by an older claudex (or a crash) whose start fails: it never
    ran, so the next start replaces it instead of failing the same way forever."""
    from claudex_tui.config import Config
    from claudex_tui.start_request import start_request
    from container import sessions

    name = session_name([str(project)], prefix=TEST_PREFIX)
    # What an older claudex left: its labels, a network that does not exist, never run.
    engine.api.create_container(
        image,
        name=name,
        labels={
            labels.SIGNATURE: signature([str(project)]),
            labels.MOUNTS: json.dumps([str(project)]),
            labels.MANAGED: labels.MANAGED_VALUE,
        },
        host_config=engine.api.create_host_config(network_mode="claudextest-missing-net"),
    )
    # Older than the grace a create in progress gets (shortened here, 30 s for real).
    monkeypatch.setattr(sessions, "CREATE_GRACE", 0.5)
    wait_for("the leftover to age past the grace", lambda: _older_than(engine, name, 0.5), 10)
    steps: list[str] = []
    req = start_request(Config(), [str(project)], agent="shell")
    result = sessions.Sessions(engine).start_session(req, on_step=steps.append)
    assert result.created and result.session.name == name
    assert any("an earlier start of it failed before it ever ran" in s for s in steps), steps
    assert engine.api.inspect_container(name)["State"]["Running"]


def _older_than(engine: docker.DockerClient, name: str, seconds: float) -> bool:
    from container.session_ready import epoch_of

    created = epoch_of(engine.api.inspect_container(name)["Created"])
    now = epoch_of(str(engine.api.info()["SystemTime"]))
    return created is not None and now is not None and now - created > seconds


def test_a_name_ending_in_a_newline_is_refused_by_claudex(cli: CLI, project: Path) -> None:
    assert not valid_container_name("good-name\n")
    assert valid_container_name("good-name")
    res = cli(str(project), "-d", "--agent", "shell", "--name", "good-name\n")
    assert res.code == 2, res.text
    assert "invalid session name 'good-name\\n'" in res.err
