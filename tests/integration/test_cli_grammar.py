"""One grammar on the real engine: a session named that does not exist is called so by every
command, and `pull` makes (and, when nothing came, removes) its destination."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import CLI

MISSING = "claudextest-nosuch"


def test_every_command_says_no_session_named(cli: CLI, tmp_path: Path) -> None:
    # From a directory with no session: the word must not be taken for a path there.
    (tmp_path / "f.txt").write_text("x\n")
    for argv in (
        ["diff", MISSING],
        ["diff", MISSING, "--stat"],
        ["diff", "--name", MISSING],
        ["checkpoint", MISSING],
        ["log", "--name", MISSING],
        ["revert", "--name", MISSING, "f.txt", "--yes"],
        ["shell", MISSING],
        ["attach", "--name", MISSING],
        ["firewall", "status", MISSING],
        ["firewall", "allow", "--name", MISSING, "example.com"],
        ["push", "f.txt", "--name", MISSING],
        ["pull", "x", "--name", MISSING, "./out"],
        ["destroy", "--name", MISSING, "--force"],
    ):
        res = cli(*argv, cwd=tmp_path)
        assert res.code != 0, argv
        assert f"no claudex session named '{MISSING}'" in res.err, (argv, res.text)
        assert "Traceback" not in res.text
    assert not (tmp_path / "out").exists()  # nothing made for a pull that could not start


def test_pull_makes_its_destination(cli: CLI, project: Path, tmp_path: Path) -> None:
    res = cli(str(project), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    name = res.out.strip()
    try:
        # Options between the paths, a destination two folders deep that does not exist yet.
        res = cli("pull", "proj/README.md", "--name", name, "out/deep", cwd=tmp_path)
        assert res.code == 0, res.text
        assert (tmp_path / "out" / "deep" / "README.md").read_text() == "hello\n"
        assert "created out/deep" in res.err
        # Nothing to pull: the folders it made go again, an error says why.
        res = cli("pull", "proj/nothing-here", "--name", name, "new/deeper", cwd=tmp_path)
        assert res.code != 0 and "does not exist in the session" in res.err, res.text
        assert not (tmp_path / "new").exists()
        # A destination that is a file is refused, not replaced.
        (tmp_path / "file").write_text("keep\n")
        res = cli("pull", "proj/README.md", "--name", name, "file", cwd=tmp_path)
        assert res.code != 0 and "not a directory" in res.err, res.text
        assert (tmp_path / "file").read_text() == "keep\n"
    finally:
        cli("destroy", "--name", name, "--force")
