"""What `claudex apply` decides for each path of three real trees on disk (base, the session's
copy, the user's directory now), and the pure checks around isolated sessions."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from claudex_tui.cli import parse
from claudex_tui.commands.apply import _selection
from claudex_tui.config import Config
from container.errors import ClaudexError, UsageError
from container.isolated import base_of, check_copy_path, copies_of, isolate_request, space_problem
from container.isolated_apply import DirChanges, compare, differing, three_way, write
from container.mounts import MountPlan
from container.session_spec import StartRequest


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """user, copy, base (identical to start with) and a staging folder."""
    user = tmp_path / "user"
    user.mkdir()
    (user / "same.txt").write_text("same\n")
    (user / "both.txt").write_text("line 1\nline 2\n")
    (user / "gone.txt").write_text("bye\n")
    (user / "run.sh").write_text("echo\n")
    os.chmod(user / "run.sh", 0o640)
    (user / "sub").mkdir()
    (user / "sub" / "a.txt").write_text("a\n")
    copies = [tmp_path / "copy", tmp_path / "base"]
    for c in copies:
        shutil.copytree(user, c, symlinks=True)
    staging = tmp_path / "staging"
    staging.mkdir()
    return user, copies[0], copies[1], staging


def _states(d: DirChanges) -> dict[str, str]:
    return {c.path: c.state for c in d.changes}


def _compare(trees: tuple[Path, Path, Path, Path], *only: str) -> DirChanges:
    user, copy, base, staging = trees
    return compare(str(user), str(copy), str(base), str(staging), only)


def test_each_side_decides(trees: tuple[Path, Path, Path, Path]) -> None:
    user, copy, base, _ = trees
    (copy / "same.txt").write_text("session\n")  # changed by the session only: applied
    (copy / "both.txt").write_text("line 1\nsession\n")  # and by the user: a conflict
    (user / "both.txt").write_text("line 1\nuser\n")
    (copy / "new.txt").write_text("new\n")  # added by both, the same: already there
    (user / "new.txt").write_text("new\n")
    (copy / "gone.txt").unlink()  # deleted by the session
    (user / "sub" / "a.txt").write_text("user only\n")  # the user's own change: not listed
    os.chmod(copy / "run.sh", 0o755)  # made executable
    d = _compare(trees)
    assert _states(d) == {
        "both.txt": "conflict",
        "gone.txt": "apply",
        "new.txt": "there",
        "run.sh": "apply",
        "same.txt": "apply",
    }
    shown = three_way(d, next(c for c in d.changes if c.path == "both.txt"))
    assert "<<<<<<< your directory" in shown and "user" in shown and "session" in shown
    assert differing(str(user), str(copy), str(base)) == 4


def test_apply_writes_only_what_the_session_changed(trees: tuple[Path, Path, Path, Path]) -> None:
    user, copy, _, _ = trees
    (copy / "same.txt").write_text("session\n")
    (copy / "gone.txt").unlink()
    (copy / "deep" / "er").mkdir(parents=True)
    (copy / "deep" / "er" / "f.txt").write_text("deep\n")
    os.chmod(copy / "run.sh", 0o777)
    (copy / "rel").symlink_to("sub/a.txt")
    (user / "sub" / "a.txt").write_text("user only\n")
    d = _compare(trees)
    assert not d.by_state("conflict")
    write([d])
    assert (user / "same.txt").read_text() == "session\n"
    assert not (user / "gone.txt").exists()
    assert (user / "deep" / "er" / "f.txt").read_text() == "deep\n"
    assert os.readlink(user / "rel") == "sub/a.txt"
    assert (user / "sub" / "a.txt").read_text() == "user only\n"
    # The user's permissions with the copy's executable bit; never writable by others.
    assert (user / "run.sh").stat().st_mode & 0o777 == 0o750
    assert not [p for p in user.iterdir() if p.name.startswith(".claudex-apply")]
    assert _states(_compare(trees)) == {p: "there" for p in _states(d)}


def test_what_is_never_applied(trees: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    user, copy, _, _ = trees
    (copy / "abs").symlink_to("/etc/shadow")
    (copy / "up").symlink_to("../../outside")
    (copy / "sub" / "up").symlink_to("../..")
    os.mkfifo(copy / "pipe")
    (copy / ".git").mkdir()
    (copy / ".git" / "config").write_text("[core]\n\tfsmonitor = touch /tmp/x\n")
    (copy / "sub" / ".Git").mkdir()
    (copy / "sub" / ".Git" / "HEAD").write_text("x\n")
    d = _compare(trees)
    assert _states(d) == {"abs": "refused", "up": "refused", "sub/up": "refused", "pipe": "refused"}
    write([d])
    assert sorted(p.name for p in user.iterdir()) == sorted(
        ["same.txt", "both.txt", "gone.txt", "run.sh", "sub"]
    )


def test_the_users_links_are_not_written_through(
    trees: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    user, copy, base, _ = trees
    outside = tmp_path / "outside"
    outside.mkdir()
    (user / "docs").symlink_to(outside)  # made by the user after the session started
    (copy / "docs").mkdir()
    (copy / "docs" / "x.txt").write_text("x\n")
    d = _compare(trees)
    assert _states(d)["docs/x.txt"] == "conflict"
    assert "not a folder" in next(c.reason for c in d.changes if c.path == "docs/x.txt")
    assert list(outside.iterdir()) == []

    # A folder swapped for a link between the comparison and the write: the write stops there.
    (user / "docs").unlink()
    d = _compare(trees)
    assert _states(d)["docs/x.txt"] == "apply"
    os.rename(copy / "docs", tmp_path / "gone")
    (user / "docs").symlink_to(outside)
    with pytest.raises(ClaudexError, match="applying stopped at"):
        write([d])
    assert list(outside.iterdir()) == []
    assert base.exists()


def test_only_the_paths_asked_for(trees: tuple[Path, Path, Path, Path]) -> None:
    _, copy, _, _ = trees
    (copy / "same.txt").write_text("session\n")
    (copy / "sub" / "a.txt").write_text("session\n")
    assert _states(_compare(trees, "sub")) == {"sub/a.txt": "apply"}
    assert _selection(["/p/sub/a.txt"], ["/p", "/q"]) == {"/p": ["sub/a.txt"]}
    with pytest.raises(UsageError, match="not in the session's directories"):
        _selection(["/elsewhere"], ["/p"])


def test_space_layout_and_labels() -> None:
    assert space_problem(1 << 20, 1 << 30, "/d") is None
    problem = space_problem(3 << 30, 1 << 30, "/d")
    assert problem is not None and "needs 3.0 GiB in /d" in problem and "1.0 GiB free" in problem
    good = "/home/u/.local/share/claudex/isolated/s1/work/0-proj"
    check_copy_path("s1", good)
    assert base_of(good) == "/home/u/.local/share/claudex/isolated/s1/base/0-proj"
    for bad in ("/etc", "/x/isolated/s2/work/0-p", "relative/isolated/s1/work/0", good + "/.."):
        with pytest.raises(ClaudexError):
            check_copy_path("s1", bad)
    assert copies_of({"com.claudex.isolated": "not json"}) == {}
    assert copies_of({"com.claudex.isolated": "[1]"}) == {}
    assert copies_of({}) == {}


def test_flags_and_config() -> None:
    assert parse(["--isolated", "."])[1].isolated is True
    assert parse(["--no-isolated", "."])[1].isolated is False
    assert parse(["."])[1].isolated is None
    assert Config().isolated is False
    assert Config.model_validate({"isolated": True}).isolated is True
    _, ns = parse(["apply", "--name", "s", "a", "b", "--check"])
    assert (ns.name, ns.paths, ns.check) == ("s", ["a", "b"], True)


def test_a_remote_engine_is_refused_before_anything_is_copied(tmp_path: Path) -> None:
    plan = MountPlan(dirs=[str(tmp_path)], read_only_dirs=[], mounts=[])
    req = StartRequest(plan=plan, name="s1", parallel=True)

    class NoEngine:  # a parallel session is named without asking the engine before this
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"the engine was asked: {name}")

    with pytest.raises(UsageError, match=r"not available yet .* remote engine"):
        isolate_request(NoEngine(), req, want=True, remote=True)  # type: ignore[arg-type]
