"""Attack: the agent plants Python modules named like the tracking script's own (the package
`tracking`, each of its modules, the bootstrap, standard-library names, sitecustomize, .pth
files) in /tmp, /workspace and its home, and PYTHON* variables in its shell files, hoping root's
tracking run imports one. Every tracking operation still runs claudex's own code (the changes
show, the planted files among them), and no planted file ever runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from container.scripts.tracking import PARTS
from container.sessions import Sessions
from container.tracking import Tracker
from tests.security.conftest import CLI, as_agent, as_root

MARKER = "/tmp/claudex-planted-module-ran"
# What each planted file does when imported: leave a mark saying who ran it.
PAYLOAD = f"import os\nopen({MARKER!r}, 'a').write(f'{{__name__}} as uid {{os.getuid()}}\\n')\n"
NAMES = ["tracking", "bootstrap", "types", "json", "subprocess", "sitecustomize", "usercustomize"]


@pytest.fixture
def session(cli: CLI, project: Path, engine: docker.DockerClient) -> Iterator[str]:
    name = f"claudextest-timp-{uuid.uuid4().hex[:6]}"
    res = cli(str(project), "--name", name, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    yield name
    engine.api.remove_container(name, force=True, v=True)


def _plant(folder: str) -> str:
    """Shell lines that plant every module name in FOLDER (and a `tracking/` package there)."""
    files = [f"{name}.py" for name in [*NAMES, *PARTS]]
    files += [f"tracking/{name}.py" for name in ["__init__", *PARTS]]
    lines = [f"mkdir -p {folder}/tracking"]
    lines += [f'printf %s "$PAYLOAD" > {folder}/{file}' for file in files]
    lines.append(f"printf 'import sitecustomize\\n' > {folder}/claudex-evil.pth")
    return "\n".join(lines)


def test_modules_the_agent_plants_are_never_imported_by_tracking(
    session: str, engine: docker.DockerClient, project: Path
) -> None:
    tracker = Tracker(engine.api, Sessions(engine).get(session))
    tracker.ensure_baseline()
    work = f"/workspace/{project.name}"
    site = "$HOME/.local/lib/python3.11/site-packages"
    env = f"export PYTHONPATH=/tmp:{work} PYTHONSTARTUP=/tmp/json.py PYTHONHOME=/tmp\n"
    script = "\n".join(
        [
            "set -e",
            f"PAYLOAD={_quote(PAYLOAD)}",
            _plant("/tmp"),
            _plant(work),
            _plant("$HOME"),
            _plant(site),
            *(f"printf %s {_quote(env)} >> $HOME/{rc}" for rc in (".bashrc", ".profile")),
            f"printf %s {_quote(env)} > {work}/.env",
            "echo changed >> " + f"{work}/README.md",
            # Planted where /workspace itself may be written (it may not: then nothing there).
            "(" + _plant("/workspace").replace("\n", " && ") + ") 2>/dev/null || true",
        ]
    )
    code, out = as_agent(engine, session, script)
    assert code == 0, out

    changes = {c.path: c.status for c in tracker.changes()}
    assert changes[f"{project.name}/README.md"] == "modified"
    assert changes[f"{project.name}/tracking/main.py"] == "added"
    assert changes[f"{project.name}/json.py"] == "added"
    assert "+changed" in tracker.file_diff(f"{project.name}/README.md")
    assert tracker.checkpoint("after the planting")[1]
    assert tracker.repo_report() == []
    tracker.log()
    tracker.outside_files()

    code, out = as_root(engine, session, f"cat {MARKER} 2>&1; test ! -e {MARKER}")
    assert code == 0, f"a planted module ran: {out}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
