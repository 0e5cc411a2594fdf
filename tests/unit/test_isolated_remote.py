"""The helper that handles isolated copies on a remote engine's host: it is sent every module
container.isolated_ops needs (and only the standard library is there besides), and it binds no
folder the helper itself runs from."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from container.errors import ClaudexError
from container.isolated_remote import MODULES, PY, _modules_tar, check_directory

REPO = Path(__file__).resolve().parents[2]


def test_the_helper_is_sent_every_module_the_isolated_code_imports() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); import container.isolated_ops; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('container'))))"
    )
    # -I -S: no site-packages (docker, pydantic are not in the image's python3 either)
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    loaded = {m.removeprefix("container.") for m in out} - {"container"}
    assert loaded <= set(MODULES) - {"__init__"}, loaded - set(MODULES)
    with tarfile.open(fileobj=io.BytesIO(_modules_tar())) as tar:
        names = tar.getnames()
    assert sorted(names) == sorted(f"{PY.rsplit('/', 1)[1]}/container/{m}.py" for m in MODULES)


@pytest.mark.parametrize(
    "bad", ["/", "/usr", "/usr/local/src", "/etc/app", "/opt", "/tmp", "/var", "rel/dir", "/a/../b"]
)
def test_a_system_folder_is_not_bound_in_the_helper(bad: str) -> None:
    with pytest.raises(ClaudexError, match=r"cannot copy|system folder"):
        check_directory(bad)


@pytest.mark.parametrize("good", ["/home/u/proj", "/tmp/work/proj", "/srv/x", "/var/www/site"])
def test_project_folders_are_bound(good: str) -> None:
    check_directory(good)


def test_the_changes_tab_says_a_remote_isolated_session_is_not_reviewed_here() -> None:
    """Its copies are on the engine's host: read here they would be another machine's files
    (or none), so the tab says what is not available rather than showing a wrong result."""
    from claudex_tui.config import Config
    from claudex_tui.engine_backend import EngineBackend
    from container import labels
    from container.engines import Engine
    from container.labels import SessionInfo

    far = Engine("far", "ssh://me@far.example", "config")
    backend = EngineBackend(Config(), engines=[far])
    isolated = {labels.ISOLATED: json.dumps({"/home/me/p": "/x/isolated/s/work/0-p"})}
    session = SessionInfo("id", "s", "running", "Up", "img", None, "sig", "p", ["/home/me/p"],
                          "1", "shell", "firewalled", labels=isolated, engine="far")  # fmt: skip
    for call in (
        lambda: backend.isolated_changes(session),
        lambda: backend.isolated_file(session, "/home/me/p/a.txt"),
        lambda: backend.isolated_apply(session, None),
    ):
        with pytest.raises(ClaudexError, match="not available yet on a remote engine"):
            call()
