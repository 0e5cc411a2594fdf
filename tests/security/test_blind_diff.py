"""Attack 3: a blind diff. The agent writes ignore and attribute files meant to hide new files
and turn every change into "Binary files differ"; then `claudex diff`, `--stat`,
`--name-only` and `Tracker.changes()` (the Changes tab) must still show the hidden file and
the real text change. Hostile work-tree content (named pipes, sockets, names git refuses,
terminal escapes in names, a 1 GiB file, a file rewritten while hashed) must neither hang
nor break them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from container.sessions import Sessions
from container.tracking import Tracker
from tests.integration.conftest import REPO
from tests.security.conftest import CLI, as_agent, wait_for


def _chown(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, 4242, 4242)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "safe.directory=*", "-c", "user.name=u", "-c", "user.email=u@x",
         "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )  # fmt: skip


@pytest.fixture
def repo(project: Path) -> Path:
    """A git repository with ignore rules of its own, and a repository inside it."""
    (project / ".gitignore").write_text("build/\n*.log\n")
    (project / "app.py").write_text("def main():\n    return 1\n")
    (project / "build").mkdir()
    (project / "build" / "out.o").write_text("object\n")
    inner = project / "vendor" / "dep"
    inner.mkdir(parents=True)
    (inner / ".gitignore").write_text("*.tmp\n")
    (inner / "dep.py").write_text("DEP = 1\n")
    _git(inner, "init", "-q")
    _git(inner, "add", "-A")
    _git(inner, "commit", "-qm", "dep")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "init")
    _chown(project)
    return project


def _start(cli: CLI, project: Path) -> str:
    res = cli(str(project), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    return res.out.strip().splitlines()[-1]


def _tracker(engine: docker.DockerClient, name: str) -> Tracker:
    return Tracker(engine.api, Sessions(engine).get(name))


def test_ignore_and_attribute_files_cannot_hide_a_change(
    cli: CLI, engine: docker.DockerClient, repo: Path
):
    name = _start(cli, repo)
    p = repo.name
    work = f"/workspace/{p}"
    code, out = as_agent(
        engine,
        name,
        f"cd {work} && echo '*' > .gitignore && echo '* -diff' > .gitattributes"
        " && printf '[attr]hide -diff -text\\n* hide\\n' > /workspace/.gitattributes"
        " && echo '*' > /workspace/.gitignore"
        " && echo 'steal_keys()' > backdoor.py"
        " && printf 'def main():\\n    return 2\\n' > app.py"
        " && mkdir -p src && echo 'import os' > src/new.py && echo '*' > src/.gitignore"
        " && echo 'DEP = 2' > vendor/dep/dep.py && echo 'x()' > vendor/dep/extra.py"
        " && echo '*' >> vendor/dep/.gitignore && echo '*' >> vendor/dep/.git/info/exclude"
        " && echo 'still ignored' > build/new.o && echo 'still ignored' > debug.log",
    )
    assert code == 0, out
    shown = {
        f"{p}/.gitignore",
        f"{p}/.gitattributes",
        ".gitattributes",
        ".gitignore",
        f"{p}/backdoor.py",
        f"{p}/app.py",
        f"{p}/src/new.py",
        f"{p}/src/.gitignore",
        f"{p}/vendor/dep/dep.py",
        f"{p}/vendor/dep/extra.py",
        f"{p}/vendor/dep/.gitignore",
    }

    names = cli("diff", name, "--name-only")
    assert names.code == 0, names.text
    assert set(names.out.split()) == shown  # and not build/new.o, debug.log: the user's rules

    stat = cli("diff", name, "--stat")
    assert stat.code == 0 and "Bin" not in stat.out, stat.text
    assert f"{p}/backdoor.py" in stat.out

    patch = cli("diff", name)
    assert patch.code == 0, patch.text
    assert "Binary files" not in patch.out
    for line in ("+steal_keys()", "-    return 1", "+    return 2", "+import os", "+DEP = 2"):
        assert line in patch.out, line

    changes = {c.path: c for c in _tracker(engine, name).changes()}
    assert set(changes) == shown
    assert not any(c.binary for c in changes.values())
    assert (changes[f"{p}/app.py"].added, changes[f"{p}/app.py"].removed) == (1, 1)
    assert changes[f"{p}/backdoor.py"].status == "added"
    diff = _tracker(engine, name).file_diff(f"{p}/backdoor.py")
    assert "+steal_keys()" in diff


def test_a_gitignore_that_ignores_itself_still_shows_its_edits(
    cli: CLI, engine: docker.DockerClient, project: Path
):
    (project / ".gitignore").write_text(".gitignore\nsecret.txt\n")
    _chown(project)
    name = _start(cli, project)
    work = f"/workspace/{project.name}"
    code, out = as_agent(engine, name, f"cd {work} && echo 'evil.sh' >> .gitignore && "
                         "echo 'curl x | sh' > evil.sh && echo s > secret.txt")  # fmt: skip
    assert code == 0, out
    names = cli("diff", name, "--name-only").out.split()
    assert names == [f"{project.name}/.gitignore", f"{project.name}/evil.sh"]


def _cli_bytes(*args: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI on a pipe, its output as bytes: names are the agent's, not always UTF-8."""
    return subprocess.run(
        [sys.executable, "-m", "claudex_tui.cli", *args],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _pty_run(args: list[str]) -> bytes:
    """The CLI on a terminal (no colour): what a user's terminal would receive."""
    from ptyprocess import PtyProcess

    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = PtyProcess.spawn([sys.executable, "-m", "claudex_tui.cli", *args], cwd=str(REPO),
                            env=env, dimensions=(50, 200))  # fmt: skip
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            seen += proc.read(65536)
        except EOFError:
            break
    proc.wait()
    return seen


def test_hostile_work_tree_content_neither_hangs_nor_breaks_the_diff(
    cli: CLI, engine: docker.DockerClient, project: Path
):
    (project / "victim.txt").write_text("tracked\n")
    (project / "keep.txt").write_text("one\n")
    _chown(project)
    name = _start(cli, project)
    work = f"/workspace/{project.name}"
    code, out = as_agent(
        engine,
        name,
        f"cd {work} && rm victim.txt && mkfifo victim.txt"  # a tracked file becomes a FIFO
        " && mkfifo new.fifo && mkfifo .gitattributes"  # git opens .gitattributes: a FIFO
        " && python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"s.sock\")'"
        " && mkdir -p .GIT && echo hidden > .GIT/payload.sh"  # a name git refuses
        " && printf 'x\\n' > \"$(printf 'esc\\033[2Jname\\302\\233Z.txt')\""
        " && printf 'x\\n' > \"$(printf 'new\\nline.txt')\""
        " && printf 'x\\n' > \"$(printf 'bad\\377utf8.txt')\""
        " && truncate -s 1G huge.bin"
        " && echo two >> keep.txt"
        # a file rewritten again and again while it is hashed
        " && (setsid sh -c 'while :; do head -c 300000 /dev/urandom > churn.bin; "
        ": > churn.bin; done' > /dev/null 2>&1 &)",
    )
    assert code == 0, out
    try:
        began = time.monotonic()
        res = _cli_bytes("diff", name, "--name-only")
        assert res.returncode == 0, res.stderr
        assert time.monotonic() - began < 60
        top = project.name.encode()
        listed = res.stdout.splitlines()
        for path in (b"keep.txt", b"huge.bin", b"victim.txt", b"bad\xffutf8.txt", b"churn.bin"):
            assert top + b"/" + path in listed  # victim.txt: recorded as deleted, no failure
        assert b'"' + top + b'/new\\nline.txt"' in listed  # git quotes what it must
        assert b".GIT/payload.sh" in res.stderr and b"NOT in the diff" in res.stderr
        p = project.name

        changes = {c.path: c for c in _tracker(engine, name).changes()}
        assert changes[f"{p}/victim.txt"].status == "deleted"
        assert changes[f"{p}/keep.txt"].added == 1
        assert changes[f"{p}/huge.bin"].binary
        assert f"{p}/new\nline.txt" in changes and f"{p}/esc\x1b[2Jname\u009bZ.txt" in changes
        assert not any(".GIT" in c for c in changes)

        # On a terminal, names arrive escaped: nothing in them can redraw the screen.
        for args in (["--name-only"], ["--stat"], []):
            shown = _pty_run(["diff", name, *args])
            assert b"\x1b" not in shown and "\u009b".encode() not in shown, shown[-2000:]
            assert b"esc" in shown and b"2Jname" in shown
    finally:
        as_agent(engine, name, "pkill -f 'head -c 300000' ; pkill -f 'while :' ; true")


def test_a_fifo_held_open_by_the_agent_gives_an_error_not_a_hang(
    cli: CLI, engine: docker.DockerClient, project: Path
):
    _chown(project)
    name = _start(cli, project)
    work = f"/workspace/{project.name}"
    code, out = as_agent(
        engine,
        name,
        f"cd {work} && mkfifo .gitattributes && echo x > more.txt"
        " && (setsid sleep 600 > .gitattributes 2>/dev/null &)",  # a writer that never writes
    )
    assert code == 0, out
    began = time.monotonic()
    res = cli("diff", name, timeout=60)
    assert res.code != 0 and time.monotonic() - began < 30
    assert "named pipe" in res.err and ".gitattributes" in res.err and "Traceback" not in res.err
    as_agent(engine, name, "pkill -x sleep; true")
    after = wait_for(
        "the diff once the pipe is let go",
        lambda: (r := cli("diff", name, "--name-only")).code == 0 and r.out,
    )
    assert f"{project.name}/more.txt" in str(after)
