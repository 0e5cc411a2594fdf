"""`claudex` itself gets an engine when none answers (root on Debian, as here): without a
terminal it says `claudex doctor --fix --yes` and starts nothing; on a terminal it asks and "y"
starts one with the shipped ensure_engine.sh; `claudex doctor --fix --yes` starts it for
scripts. The engine is the test's own (socket, data and exec root, pidfile, bridge, no
iptables), stopped first; it holds only the small base image, which ensure_engine.sh checks
(the session image is not needed to see the engine answer: test_first_run covers a session)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import ptyprocess
import pytest

from tests.integration.conftest import REPO
from tests.integration.second_engine import (
    SecondEngine,
    answers,
    stop_started_dockerd,
    tear_down_started,
)
from tests.waiting import wait_for

BASE = "debian:bookworm-slim"


@pytest.fixture
def stopped_engine() -> Iterator[SecondEngine]:
    """An engine of this test's own holding the base image, stopped; afterwards whatever
    claudex started on its socket is stopped (by its pidfile) and its files removed."""
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.fail("this test needs dockerd and root")
    run = uuid.uuid4().hex[:6]
    d = SecondEngine(
        Path(tempfile.mkdtemp(prefix=f"claudexeo{run}-", dir="/tmp")),
        bridge=f"cxeo{run}",
        address_pool="10.211.0.0/16",
    )
    try:
        d.start()
        save = subprocess.Popen(["docker", "save", BASE], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", d.host, "load", "-q"], stdin=save.stdout, check=True)
        assert save.wait() == 0
        d.stop()
        assert not answers(d.host)
        yield d
    finally:
        tear_down_started(d)


def _env(d: SecondEngine, tmp_path: Path) -> dict[str, str]:
    conf = tmp_path / "xdg" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'image = "claudextest-absent-{uuid.uuid4().hex[:8]}"\n')
    return {
        **os.environ,
        "DOCKER_HOST": d.host,
        "CLAUDEX_DOCKERD_ARGS": " ".join(d.dockerd_args()),
        "CLAUDEX_DOCKERD_LOG": str(d.root / "started.log"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }


def _claudex(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI without a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "claudex_tui.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def _engine_line(env: dict[str, str]) -> dict[str, str]:
    res = _claudex(env, "doctor", "--format", "json")
    return next(c for c in json.loads(res.stdout) if c["name"] == "engine")


def test_claudex_offers_an_engine_and_starts_it(
    stopped_engine: SecondEngine, project: Path, tmp_path: Path
):
    d = stopped_engine
    env = _env(d, tmp_path)

    # No terminal: one line with the command for scripts and the system's own fix; nothing
    # started, nothing waited for.
    for args in (("-d", "--agent", "shell", str(project)), ("doctor", "--fix")):
        res = _claudex(env, *args)
        assert res.returncode != 0, res
        assert "to install and start one as the test command does: claudex doctor --fix --yes" in (
            res.stderr
        ), res.stderr
        assert "Traceback" not in res.stderr
        assert not answers(d.host)

    # On a terminal `claudex DIR` asks; "y" starts the engine, then it goes on (to build the
    # image, which this test does not wait for).
    asked = ptyprocess.PtyProcessUnicode.spawn(
        [sys.executable, "-m", "claudex_tui.cli", "-d", "--agent", "shell", str(project)],
        env=env,
        cwd=str(REPO),
        dimensions=(24, 200),
    )
    seen = ""
    try:
        deadline = time.monotonic() + 120
        while "[y/N]" not in seen and time.monotonic() < deadline:
            seen += asked.read(4096)
        assert "Install (if needed) and start one now" in seen, seen
        assert not answers(d.host)  # asking started nothing
        asked.write("y\r")
        deadline = time.monotonic() + 300
        while "the Docker Engine answers now" not in seen and time.monotonic() < deadline:
            seen += asked.read(4096)
        assert "starting dockerd" in seen, seen
        assert "the Docker Engine answers now" in seen, seen
    finally:
        asked.close(force=True)  # claudex only: its dockerd runs in a session of its own
    assert answers(d.host)
    engine = _engine_line(env)
    assert engine["status"] == "ok" and d.host in engine["detail"], engine

    # For scripts: `claudex doctor --fix --yes` starts it without asking.
    stop_started_dockerd(d)
    wait_for("the engine to stop answering", lambda: not answers(d.host), 60)
    fixed = _claudex(env, "doctor", "--fix", "--yes")
    assert "starting dockerd" in fixed.stderr, fixed.stderr
    ok = [line for line in fixed.stdout.splitlines() if line.split()[1:2] == ["engine"]]
    assert ok and ok[0].startswith("ok"), fixed.stdout
    assert answers(d.host)
