"""Comparing two isolated copies on real trees: text diffs, files only on one side, links by
their target (never followed), special files named and never opened, `.git` left out."""

from __future__ import annotations

import os
from pathlib import Path

from container.isolated_compare import compare_copies


def test_two_copies_compared_as_data(tmp_path: Path) -> None:
    a, b, outside = tmp_path / "a", tmp_path / "b", tmp_path / "outside"
    for d in (a, b, outside):
        d.mkdir()
    (outside / "secret").write_text("HOST SECRET\n")
    for d in (a, b):
        (d / "same.txt").write_text("same\n")
        (d / ".git").mkdir()
    (a / "app.py").write_text("x = 1\ny = 2\n")
    (b / "app.py").write_text("x = 1\ny = 3\n")
    (a / "only_a.txt").write_text("a\n")
    (a / "link").symlink_to(outside / "secret")  # read as data: the target, never the secret
    (b / "link").write_text("a file in B\n")
    os.mkfifo(b / "pipe")  # never opened (would hang)
    (b / ".git" / "config").write_text("[core]\n")  # .git is not a result

    found = {Path(d.path).name: d for d in compare_copies("/home/u/proj", str(a), str(b), 100)}

    assert set(found) == {"app.py", "only_a.txt", "link", "pipe"}
    assert found["app.py"].what == "differs"
    assert "-y = 2\n+y = 3\n" in found["app.py"].text
    assert found["app.py"].path == "/home/u/proj/app.py"
    assert found["only_a.txt"].what == "only in A (a file)" and "+a" not in found["app.py"].text
    assert found["link"].what.startswith("a link to ") and "a file in B" in found["link"].what
    assert found["pipe"].what == "only in B (a special file)"
    assert all("HOST SECRET" not in d.text + d.what for d in found.values())
    assert len(compare_copies("/p", str(a), str(b), 2)) == 2  # capped
