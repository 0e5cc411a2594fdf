"""The space an isolated copy asks for is what it takes: the copy's files, and a second copy
only where the base cannot be a commit borrowing the user's objects or hard links."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from container.isolated import needed_bytes, usage

GIT = ["git", "-c", "user.name=u", "-c", "user.email=u@x"]


def _tree(root: Path) -> Path:
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(1 << 20))
    (root / "sub").mkdir()
    (root / "sub" / "a.txt").write_text("a\n" * 1000)
    return root


def test_a_repository_asks_for_its_files_once_without_its_git(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo")
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "init"], check=True)
    files = usage(str(repo), skip_git=True)
    assert files >= 1 << 20 and usage(str(repo), skip_git=False) > files
    assert needed_bytes(str(repo), tmp_path / "data" / "isolated" / "s1") == files


def test_a_plain_directory_on_the_same_disk_asks_for_one_copy(tmp_path: Path) -> None:
    plain = _tree(tmp_path / "plain")
    assert needed_bytes(str(plain), tmp_path / "data" / "s1") == usage(str(plain), False)


def test_a_plain_directory_on_another_disk_asks_for_two(tmp_path: Path) -> None:
    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another file system than the temporary folder")
    plain = _tree(tmp_path / "plain")
    assert needed_bytes(str(plain), other / "claudex-test-none" / "s1") == 2 * usage(
        str(plain), False
    )
