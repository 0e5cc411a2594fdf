"""Fixtures for tests on the real Docker Engine with the real claudex image."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.integration.tmux_pane import pane  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


CLI = Callable[..., Result]


@pytest.fixture
def cli(image: str) -> CLI:
    """Run the real `claudex` command (a subprocess, no TTY) and capture what it prints."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 180
    ) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "claudex_tui.cli", *args],
            cwd=cwd or REPO,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory owned by a non-root uid, as a user's checkout would be."""
    path = tmp_path / "proj"
    path.mkdir()
    (path / "README.md").write_text("hello\n")
    os.chown(path, 4242, 4242)
    os.chown(path / "README.md", 4242, 4242)
    return path


def exec_in(engine: docker.DockerClient, name: str, cmd: str, user: str = "") -> tuple[int, str]:
    result = engine.containers.get(name).exec_run(["bash", "-c", cmd], user=user)
    return result.exit_code, result.output.decode(errors="replace")


GIB = 1 << 30


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """1 GiB of random bytes (not sparse: every byte is hashed and carried), made once per run
    for every transfer test: long enough to be interrupted mid-way."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    with open(path, "wb") as fh:
        for _ in range(GIB >> 24):
            fh.write(os.urandom(1 << 24))
    yield path
    path.unlink()
