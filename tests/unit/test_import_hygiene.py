"""`container/` and the terminal emulator never import Textual (checked in a clean process)."""

from __future__ import annotations

import json
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
        "container.transfer.push",
        "container.transfer.pull",
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


def _modules(package: str) -> list[str]:
    """Every module of `package` (found on disk, so a new one is covered too)."""
    import importlib
    import pkgutil

    pkg = importlib.import_module(package)
    return [package] + [m.name for m in pkgutil.walk_packages(pkg.__path__, f"{package}.")]


def _loaded_after_import(module: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` (modules or packages) importing `module` loads, in a clean process."""
    code = (
        f"import json, sys, {module}\n"
        f"names = {list(names)!r}\n"
        "loaded = [n for n in names if any(m == n or m.startswith(n + '.') for m in sys.modules)]\n"
        "print(json.dumps(loaded))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("module", _modules("widgets"))
def test_widgets_import_no_engine_io_nor_the_app(module: str) -> None:
    """Widgets take pure data from `container`: importing one loads neither docker-py, the
    engine connection, nor the application."""
    assert _loaded_after_import(module, ("docker", "container.engine", "claudex_tui")) == []


@pytest.mark.parametrize(
    "module",
    [
        m
        for m in _modules("widgets.terminal")
        if m not in ("widgets.terminal.widget", "widgets.terminal.history")
    ],
)
def test_terminal_modules_other_than_the_widgets_are_free_of_textual(module: str) -> None:
    """Only the terminal's Textual widgets (widget.py, history.py) import Textual; the
    emulator, keys, channels and the package itself stay usable without it."""
    assert _loaded_after_import(module, ("textual",)) == []
