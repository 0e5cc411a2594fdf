"""Code that runs inside containers, kept as files so ruff (Python) and shellcheck (shell) read
it. Each one is sent whole as an argument of one exec (`bash -c SCRIPT claudex ARGS...` or
`python3 -I -c SCRIPT ARGS...`): nothing is written into a container, so no file there that
the agent could change is ever run. The tracking script is a package (tracking/), sent as its
modules' texts behind bootstrap.py, still as one argument. One runs on the host instead:
ensure_engine.sh, which installs and starts a local engine when the user asks (engine_setup.py,
and scripts/ensure-engine.sh of the test command)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def source(name: str) -> str:
    """The text of the script `name` shipped in this package, a path from here (e.g.
    "list_dir.sh", "tracking/main.py")."""
    return files(__name__).joinpath(name).read_text(encoding="utf-8")
