"""Attack: the Changes tab of an isolated session reads the agent's copy on the host (what
differs, each file's hunks) and applies hunks from it. The agent hides an edit behind its old
mtime, plants git attributes and hooks, links a file to a host secret, fills
files with terminal escapes and markup, and plants a 10 TB sparse file: the edit is still
seen, nothing runs, nothing is read through a link, nothing hangs, and the tab shows text."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import docker

from container.isolated_review import apply_file, apply_hunk, review, review_file
from tests.security.conftest import CLI, as_agent
from widgets.changes_panel import review_text

GIT = ["git", "-c", "safe.directory=*", "-c", "user.name=me", "-c", "user.email=me@x"]
SAME_SIZE = "print('session')\n"  # as long as the original line below


def _chown(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, 4242, 4242)


def test_the_review_sees_through_forged_mtimes_and_runs_nothing(
    cli: CLI, engine: docker.DockerClient, project: Path, tmp_path: Path
) -> None:
    (project / "app.py").write_text("print('the user')\n")
    (project / "lib.py").write_text("".join(f"x{i} = {i}\n" for i in range(20)))
    secret = tmp_path / "secret.txt"
    secret.write_text("HOST SECRET\n")
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "."], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=project, check=True)
    _chown(project)
    name = f"claudextest-isorev-{uuid.uuid4().hex[:8]}"
    r = cli(str(project), "--isolated", "--name", name, "--agent", "shell", "-d")
    assert r.code == 0, r.text
    marker = tmp_path / "ran"
    script = (
        "cd /workspace/proj "
        # An edit of the same size, its mtime set back: only the ctime tells.
        f'&& touch -r app.py /tmp/stamp && printf "{SAME_SIZE}" > app.py '
        "&& touch -r /tmp/stamp app.py "
        # Attributes that would convert or filter files if git read the copy; a hook where
        # it can write one (the clone's config and hooks are bound read-only).
        "&& printf '* filter=x text eol=crlf\\n' > .gitattributes "
        f"&& {{ printf '#!/bin/sh\\ntouch {marker}\\n' > .git/hooks/pre-commit || true; }} "
        # A file linked to a host secret; escapes and markup in a hunk; a huge sparse file.
        f"&& ln -s {secret} leak.txt "
        "&& sed -i 's/^x3 = 3$/x3 = \"\\x1b]0;pwned\\x07[bold red]markup[\\/]\"/' lib.py "
        "&& truncate -s 10T huge.bin"
    )
    code, out = as_agent(engine, name, script)
    assert code == 0, out
    session_labels = engine.containers.get(name).labels

    listed = {Path(c.path).name: c for c in review(name, session_labels)}
    assert set(listed) == {"app.py", "lib.py", ".gitattributes", "leak.txt", "huge.bin"}
    assert listed["huge.bin"].binary and listed["app.py"].added == 1

    leak = review_file(name, session_labels, str(project / "leak.txt"))
    assert leak.state == "refused" and "HOST SECRET" not in leak.text

    lib = review_file(name, session_labels, str(project / "lib.py"))
    assert len(lib.hunks) == 1
    shown = review_text(lib, 0)  # as the tab draws it: no markup parsed, no control code kept
    assert "[bold red]markup[/]" in shown.plain
    assert "\x1b" not in shown.plain and "\x07" not in shown.plain
    assert apply_hunk(name, session_labels, str(project / "lib.py"), 0, lib.hunks[0].text)
    assert "markup" in (project / "lib.py").read_text()

    assert apply_file(name, session_labels, str(project / "app.py"))
    assert (project / "app.py").read_text() == SAME_SIZE
    subprocess.run([*GIT, "status"], cwd=project, capture_output=True, check=True)
    assert not marker.exists()
    assert not (project / "leak.txt").exists()
