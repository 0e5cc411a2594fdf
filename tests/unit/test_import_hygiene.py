"""`container/` and the terminal emulator never import Textual (checked in a clean process)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "container.naming",
        "container.labels",
        "container.sessions",
        "container.image",
        "container.transfer",
        "container.mounts",
        "container.exec_channel",
        "widgets.terminal.emulator",
    ],
)
def test_no_textual(module: str) -> None:
    code = f"import sys, {module}; print('textual' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_container_does_not_import_the_app_or_widgets() -> None:
    code = (
        "import sys, pkgutil, importlib, container\n"
        "for m in pkgutil.iter_modules(container.__path__):\n"
        "    importlib.import_module('container.' + m.name)\n"
        "top = ('claudex_tui', 'widgets', 'textual')\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in top]\n"
        "print(bad)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
