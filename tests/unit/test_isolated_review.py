"""Reviewing an isolated session by file and by hunk on real trees (a git repository's copy
made by claudex): the list and its counts, one hunk applied into a file the user changed
elsewhere, a hunk that conflicts writes nothing, a hunk the session changed since it was shown
is refused, and applying one file or everything."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from container import labels
from container.errors import ClaudexError
from container.isolated import make_copies
from container.isolated_review import apply_all, apply_file, apply_hunk, review, review_file

GIT = ["git", "-c", "user.name=u", "-c", "user.email=u@x"]
OLD = "".join(f"line {i}\n" for i in range(1, 21))


def user_repo_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, str]]:
    """A user's repository (a.txt = OLD, b.txt, committed) and claudex's copies of it for
    session s1 (user directory -> copy)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    user = tmp_path / "user"
    user.mkdir()
    (user / "a.txt").write_text(OLD)
    (user / "b.txt").write_text("b\n")
    subprocess.run([*GIT, "init", "-q", str(user)], check=True)
    subprocess.run([*GIT, "-C", str(user), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(user), "commit", "-qm", "init"], check=True)
    return user, make_copies("s1", [str(user)], lambda _m: None)


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, dict[str, str]]:
    """(the user's directory, the session's copy, the session's labels)."""
    user, copies = user_repo_copied(tmp_path, monkeypatch)
    copy = Path(copies[str(user)])
    # The session changes line 2 and line 19 (two hunks), b.txt, and adds c.txt.
    (copy / "a.txt").write_text(OLD.replace("line 2\n", "two\n").replace("line 19\n", "19!\n"))
    (copy / "b.txt").write_text("b, by the session\n")
    (copy / "c.txt").write_text("new\n")
    return user, copy, {labels.ISOLATED: json.dumps(copies)}


def test_review_lists_and_applies_hunks(session: tuple[Path, Path, dict[str, str]]) -> None:
    user, copy, lab = session
    listed = {Path(c.path).name: (c.status, c.added, c.removed) for c in review("s1", lab)}
    assert listed == {
        "a.txt": ("modified", 2, 2),
        "b.txt": ("modified", 1, 1),
        "c.txt": ("added", 1, 0),
    }
    a = str(user / "a.txt")
    shown = review_file("s1", lab, a)
    assert shown.state == "apply" and len(shown.hunks) == 2
    assert "-line 19\n+19!\n" in shown.hunks[1].text

    # The user changed line 10 meanwhile: the second hunk merges in, line 2 stays the user's.
    (user / "a.txt").write_text(OLD.replace("line 10\n", "ten\n"))
    assert "applied a hunk" in apply_hunk("s1", lab, a, 1, shown.hunks[1].text)
    assert (user / "a.txt").read_text() == OLD.replace("line 10\n", "ten\n").replace(
        "line 19\n", "19!\n"
    )

    # A hunk that overlaps the user's own change conflicts: nothing written.
    (user / "a.txt").write_text(OLD.replace("line 2\n", "deux\n"))
    with pytest.raises(ClaudexError, match="a conflict, nothing was written") as err:
        apply_hunk("s1", lab, a, 0, shown.hunks[0].text)
    assert err.value.hint and "deux" in err.value.hint and "two" in err.value.hint
    assert (user / "a.txt").read_text() == OLD.replace("line 2\n", "deux\n")

    # The session rewrote the file after it was shown: the old hunk is not applied.
    (user / "a.txt").write_text(OLD)
    (copy / "a.txt").write_text(OLD.replace("line 2\n", "other\n"))
    with pytest.raises(ClaudexError, match="since it was shown"):
        apply_hunk("s1", lab, a, 0, shown.hunks[0].text)
    assert (user / "a.txt").read_text() == OLD


def test_apply_a_file_then_everything(session: tuple[Path, Path, dict[str, str]]) -> None:
    user, _, lab = session
    assert apply_file("s1", lab, str(user / "b.txt")) == "applied 1 change(s)"
    assert (user / "b.txt").read_text() == "b, by the session\n"
    assert {Path(c.path).name for c in review("s1", lab)} == {"a.txt", "c.txt"}

    (user / "a.txt").write_text(OLD.replace("line 2\n", "deux\n"))
    with pytest.raises(ClaudexError, match="1 conflict") as err:
        apply_all("s1", lab)
    assert err.value.hint and "||||||| when the session started" in err.value.hint
    assert not (user / "c.txt").exists()
    shown = review_file("s1", lab, str(user / "a.txt"))
    assert shown.state == "conflict" and "<<<<<<< your directory" in shown.text

    (user / "a.txt").write_text(OLD)
    assert apply_all("s1", lab) == "applied 2 change(s)"
    assert (user / "c.txt").read_text() == "new\n"
    assert review("s1", lab) == []
