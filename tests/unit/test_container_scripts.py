"""The code that runs inside containers (container/scripts/): every shell script passes
shellcheck, every script is loaded by name from the package, and each one is used."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from container import scripts

SCRIPTS = Path(scripts.__file__).parent
SHELL = sorted(SCRIPTS.glob("*.sh"))
ALL = sorted(p for p in SCRIPTS.iterdir() if p.suffix in (".sh", ".py") and p.stem != "__init__")


def test_there_are_shell_scripts() -> None:
    assert len(SHELL) >= 8


@pytest.mark.parametrize("script", SHELL, ids=lambda p: p.name)
def test_shell_scripts_pass_shellcheck(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail(
            "shellcheck is not installed: `apt-get install shellcheck` (scripts/test.sh does)"
        )
    res = subprocess.run([shellcheck, "--shell=bash", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("script", ALL, ids=lambda p: p.name)
def test_each_script_is_loaded_from_the_package_and_used(script: Path) -> None:
    assert scripts.source(script.name) == script.read_text()
    users = [
        p
        for p in (SCRIPTS.parent).rglob("*.py")
        if p.parent != SCRIPTS and f'scripts.source("{script.name}")' in p.read_text()
    ]
    assert users, f"{script.name} is not used anywhere in container/"
