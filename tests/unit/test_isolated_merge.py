"""`claudex apply` agrees with the Changes tab: a file the user changed on other lines than
the session gets the session's change merged in; overlapping changes stay a conflict and
nothing at all is written (real trees, a git repository's copy made by claudex)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from container import labels
from container.errors import ClaudexError
from container.isolated import base_of
from container.isolated_apply import compare, write
from container.isolated_review import apply_all, merge_conflicts
from tests.unit.test_isolated_review import OLD, user_repo_copied

GIT = ["git", "-c", "user.name=u", "-c", "user.email=u@x"]
SESSION = OLD.replace("line 2\n", "two\n")


@pytest.fixture
def trees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the user's repository, the session's copy): the session changed line 2 of a.txt
    and b.txt."""
    user, copies = user_repo_copied(tmp_path, monkeypatch)
    copy = Path(copies[str(user)])
    (copy / "a.txt").write_text(SESSION)
    (copy / "b.txt").write_text("b, by the session\n")
    return user, copy


def _cli_apply(user: Path, copy: Path, staging: Path) -> list[tuple[str, str]]:
    """What `claudex apply` does: compare, merge what merges, write when nothing conflicts."""
    d = compare(str(user), str(copy), base_of(str(copy)), str(staging))
    merge_conflicts(d)
    states = [(c.path, c.state) for c in d.changes]
    if not d.by_state("conflict"):
        write([d])
    return states


def test_other_lines_are_merged(trees: tuple[Path, Path], tmp_path: Path) -> None:
    user, copy = trees
    (user / "a.txt").write_text(OLD.replace("line 15\n", "fifteen\n"))  # the user's own edit
    staging = tmp_path / "staging"
    staging.mkdir()
    assert _cli_apply(user, copy, staging) == [("a.txt", "apply"), ("b.txt", "apply")]
    assert (user / "a.txt").read_text() == SESSION.replace("line 15\n", "fifteen\n")
    assert (user / "b.txt").read_text() == "b, by the session\n"


def test_overlapping_lines_stay_a_conflict_and_nothing_is_written(
    trees: tuple[Path, Path], tmp_path: Path
) -> None:
    user, copy = trees
    mine = OLD.replace("line 2\n", "my two\n")
    (user / "a.txt").write_text(mine)
    staging = tmp_path / "staging"
    staging.mkdir()
    assert _cli_apply(user, copy, staging) == [("a.txt", "conflict"), ("b.txt", "apply")]
    assert (user / "a.txt").read_text() == mine
    assert (user / "b.txt").read_text() == "b\n"  # nothing at all written


def test_a_file_the_user_removed_is_not_merged_into_nothing(
    trees: tuple[Path, Path], tmp_path: Path
) -> None:
    user, copy = trees
    (user / "a.txt").unlink()
    staging = tmp_path / "staging"
    staging.mkdir()
    assert ("a.txt", "conflict") in _cli_apply(user, copy, staging)
    assert not (user / "a.txt").exists()


def test_the_tabs_apply_everything_merges_the_same(trees: tuple[Path, Path]) -> None:
    user, copy = trees
    lab = {labels.ISOLATED: json.dumps({str(user): str(copy)})}
    (user / "a.txt").write_text(OLD.replace("line 15\n", "fifteen\n"))
    assert apply_all("s1", lab) == "applied 2 change(s)"
    assert (user / "a.txt").read_text() == SESSION.replace("line 15\n", "fifteen\n")
    (copy / "a.txt").write_text(SESSION.replace("line 15\n", "the session's 15\n"))
    with pytest.raises(ClaudexError, match="1 conflict"):
        apply_all("s1", lab)
