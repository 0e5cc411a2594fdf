"""Tracking failures name their cause and a hint that fits it: a revert into a directory the
agent made read-only shows what failed (not "see above" with nothing above), and a full disk
says the disk is full (not "is the session image current?")."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.conftest import CLI, exec_in

AGENT = "4242"


def test_revert_into_a_read_only_directory_says_what_failed(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    code, out = exec_in(
        engine,
        name,
        "echo changed > /workspace/proj/README.md && chmod 555 /workspace/proj",
        user=AGENT,
    )
    assert code == 0, out
    try:
        res = cli("revert", "--yes", name, str(project / "README.md"))
    finally:
        os.chmod(project, 0o755)
    assert res.code == 1, res.text
    assert "see above" not in res.err, res.text
    assert "Permission denied" in res.err, res.text
    assert "is the session image current" not in res.err
    assert "may not write there" in res.err


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A project directory on a 2 MiB file system of its own: filling it fills nothing else."""
    path = tmp_path / "small"
    path.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(path)], check=True
    )
    try:
        yield path
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(["umount", "-l", str(path)], check=True)


def test_revert_on_a_full_disk_says_the_disk_is_full(
    cli: CLI, small_disk: Path, engine: docker.DockerClient
) -> None:
    (small_disk / "data.txt").write_text("x" * 400_000)
    os.chown(small_disk, 4242, 4242)
    os.chown(small_disk / "data.txt", 4242, 4242)
    name = cli(str(small_disk), "-d", "--agent", "shell").out.strip()
    assert name, "the session did not start"
    # The agent empties the file, then fills the disk to the last byte.
    exec_in(
        engine,
        name,
        ": > /workspace/small/data.txt; cat /dev/zero > /workspace/small/filler 2>/dev/null",
        user=AGENT,
    )
    res = cli("revert", "--yes", name, str(small_disk / "data.txt"))
    assert res.code == 1, res.text
    assert "No space left on device" in res.err, res.text
    assert "disk the session writes to is full" in res.err
    assert "is the session image current" not in res.err
