"""The base of an isolated copy of a git repository is a commit in claudex's own repository:
the copy holds the user's files exactly (uncommitted, untracked and ignored ones too), the
user's `.git` is untouched, and comparing sees what the session wrote, nothing else."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from container.isolated import make_copy
from container.isolated_apply import compare, three_way, write
from container.isolated_base import GitBase, open_base

GIT = ["git", "-c", "user.name=u", "-c", "user.email=u@x"]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (b"<dir>" if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    user = tmp_path / "user"
    (user / "src").mkdir(parents=True)
    (user / "src" / "app.py").write_text("a = 1\nb = 2\n")
    (user / "run.sh").write_text("echo\n")
    os.chmod(user / "run.sh", 0o755)
    (user / "link").symlink_to("src/app.py")
    (user / ".gitignore").write_text("node_modules/\n")
    subprocess.run([*GIT, "init", "-q", str(user)], check=True)
    subprocess.run([*GIT, "-C", str(user), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(user), "commit", "-qm", "init"], check=True)
    (user / "src" / "app.py").write_text("a = 1\nb = 2\nc = 3\n")  # uncommitted
    (user / "draft.txt").write_text("untracked\n")
    (user / "node_modules" / "pkg").mkdir(parents=True)
    (user / "node_modules" / "pkg" / "index.js").write_text("ignored\n")
    return user


def test_git_base_copies_exactly_and_compares_only_what_the_session_wrote(
    repo: Path, tmp_path: Path
) -> None:
    before = _snapshot(repo / ".git")
    work, base = tmp_path / "work", tmp_path / "base"
    assert make_copy(str(repo), str(work), str(base), "s1") == "git"
    assert isinstance(open_base(str(base)), GitBase)
    assert _snapshot(repo / ".git") == before
    for rel in ("src/app.py", "run.sh", "draft.txt", "node_modules/pkg/index.js"):
        assert (work / rel).read_bytes() == (repo / rel).read_bytes(), rel
    assert os.readlink(work / "link") == "src/app.py"
    assert os.access(work / "run.sh", os.X_OK)
    status = subprocess.run(
        ["git", "-C", str(work), "status", "--porcelain"], capture_output=True, text=True
    )
    assert status.stdout.splitlines() == [" M src/app.py", "?? draft.txt"]
    assert compare(str(repo), str(work), str(base), None).changes == []

    # The session edits a file, touches one back to its old mtime, and fills node_modules.
    (work / "src" / "app.py").write_text("a = 1\nb = 20\nc = 3\n")
    st = os.stat(work / "draft.txt")
    (work / "draft.txt").write_text("untracked\n")  # same bytes, new ctime: still the same
    os.utime(work / "draft.txt", ns=(st.st_atime_ns, st.st_mtime_ns))
    (work / "node_modules" / "pkg" / "index.js").write_text("session\n")
    (work / "node_modules" / "new.js").write_text("session\n")
    staging = tmp_path / "staging"
    staging.mkdir()
    found = compare(str(repo), str(work), str(base), str(staging))
    assert [(c.path, c.state) for c in found.changes] == [("src/app.py", "apply")]

    # The user changes the same line meanwhile: a conflict shown against the base's bytes.
    (repo / "src" / "app.py").write_text("a = 1\nb = 200\nc = 3\n")
    found = compare(str(repo), str(work), str(base), str(staging))
    assert [(c.path, c.state) for c in found.changes] == [("src/app.py", "conflict")]
    shown = three_way(found, found.changes[0])
    assert "||||||| when the session started\nb = 2\n" in shown
    assert "b = 200" in shown and "b = 20\n" in shown

    (repo / "src" / "app.py").write_text("a = 1\nb = 2\nc = 3\n")
    found = compare(str(repo), str(work), str(base), str(staging))
    assert write([found]) == 1
    assert (repo / "src" / "app.py").read_text() == "a = 1\nb = 20\nc = 3\n"
    assert (repo / "node_modules" / "pkg" / "index.js").read_text() == "ignored\n"
    assert not (repo / "node_modules" / "new.js").exists()


def test_converting_attributes_fall_back_to_a_plain_base(repo: Path, tmp_path: Path) -> None:
    (repo / ".gitattributes").write_text("*.txt text eol=crlf\n")
    (repo / "draft.txt").write_bytes(b"lf only\n")
    work, base = tmp_path / "work", tmp_path / "base"
    assert make_copy(str(repo), str(work), str(base), "s1") == "git"
    assert not isinstance(open_base(str(base)), GitBase)
    assert (work / "draft.txt").read_bytes() == b"lf only\n"
    assert compare(str(repo), str(work), str(base), None).changes == []


def test_a_plain_directorys_base_links_your_files_and_notices_in_place_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    user = tmp_path / "user"
    user.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (user / name).write_text(f"{name}\n")
    work, base = tmp_path / "work", tmp_path / "base"
    assert make_copy(str(user), str(work), str(base), "s1") == "copy"
    assert os.stat(base / "a.txt").st_ino == os.stat(user / "a.txt").st_ino  # not copied
    assert os.stat(work / "a.txt").st_ino != os.stat(user / "a.txt").st_ino
    # Another session's base of the same files (a link more: their ctime moves) is no edit.
    assert make_copy(str(user), str(tmp_path / "w2"), str(tmp_path / "b2"), "s2") == "copy"
    assert compare(str(user), str(work), str(base), None).changes == []

    (user / "a.txt").write_text("yours, in place\n")  # the base's bytes of it are gone
    (user / "b.txt").write_text("yours, untouched by the session\n")
    (work / "a.txt").write_text("session\n")
    (work / "c.txt").write_text("session c\n")
    staging = tmp_path / "staging"
    staging.mkdir()
    found = compare(str(user), str(work), str(base), str(staging))
    assert {c.path: c.state for c in found.changes} == {"a.txt": "conflict", "c.txt": "apply"}
    assert "session" in three_way(found, found.changes[0])
    assert write([found]) == 1
    assert (user / "a.txt").read_text() == "yours, in place\n"
    assert (user / "c.txt").read_text() == "session c\n"
    assert (base / "c.txt").read_text() == "c.txt\n"  # written by rename: the base keeps it
