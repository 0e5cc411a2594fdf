"""Attack: `claudex compare A B` reads two agent-written copies. Each agent changes the same
file its own way (the diff the user wants), and plants what should never act on the host:
a link to a host secret, a named pipe, a `.git` hook, text that drives a terminal."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import docker

from tests.security.conftest import CLI, as_agent


def test_compare_shows_the_two_results_and_nothing_planted_acts(
    cli: CLI, engine: docker.DockerClient, project: Path, tmp_path: Path
) -> None:
    (project / "app.py").write_text("def main():\n    return 1\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("HOST SECRET\n")
    for p in [project, *project.rglob("*")]:
        os.lchown(p, 4242, 4242)
    tag = uuid.uuid4().hex[:6]
    a, b = f"claudextest-cmp-a-{tag}", f"claudextest-cmp-b-{tag}"
    for name in (a, b):
        r = cli(str(project), "--isolated", "--parallel", "--name", name, "--agent", "shell", "-d")
        assert r.code == 0, r.text
    code, out = as_agent(
        engine,
        a,
        "cd /workspace/proj && sed -i 's/return 1/return 2/' app.py "
        f"&& ln -s {secret} notes.txt && mkfifo pipe && mkdir -p .git/hooks "
        "&& printf '#!/bin/sh\\ntouch /tmp/ran\\n' > .git/hooks/post-checkout",
    )
    assert code == 0, out
    code, out = as_agent(
        engine,
        b,
        "cd /workspace/proj && sed -i 's/return 1/return 3/' app.py "
        "&& printf 'hi\\033]0;owned\\007\\033[2J\\n' > notes.txt",
    )
    assert code == 0, out

    r = cli("compare", a, b, timeout=60)
    assert r.code == 0, r.text
    assert "-    return 2" in r.out and "+    return 3" in r.out  # the two results, A -> B
    assert "notes.txt" in r.out and f"a link to '{secret}' in A" in r.out
    assert "pipe: only in A (a special file)" in r.out
    assert "HOST SECRET" not in r.text  # the link was never followed
    assert "\x1b" not in r.out and "\x07" not in r.out  # the terminal escapes are inert text
    assert ".git" not in r.out  # the clone's own git data is not a result

    r = cli("compare", a, "claudextest-cmp-none")
    assert r.code != 0 and "no claudex session" in r.err
