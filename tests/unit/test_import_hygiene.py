"""The layers stay apart: `container/` and the terminal emulator never import Textual (checked
in a clean process), widgets import no engine code, the app and widgets never import docker-py,
and container/ modules import one another without a loop."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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
        "for m in pkgutil.walk_packages(container.__path__, 'container.'):\n"
        "    importlib.import_module(m.name)\n"
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


# The terminal's Textual modules: the widget, the messages it posts, the History view.
TEXTUAL_TERMINAL = (
    "widgets.terminal.widget",
    "widgets.terminal.messages",
    "widgets.terminal.history",
)


@pytest.mark.parametrize(
    "module", [m for m in _modules("widgets.terminal") if m not in TEXTUAL_TERMINAL]
)
def test_terminal_modules_other_than_the_widgets_are_free_of_textual(module: str) -> None:
    """Only the terminal's Textual modules import Textual; the emulator, keys, channels,
    cells, frames, the inbox, the history's rows and the package itself stay usable without
    it."""
    assert _loaded_after_import(module, ("textual",)) == []


@pytest.mark.parametrize(
    "module",
    ["widgets.files.model", "widgets.mount_marks", "widgets.host_paths", "widgets.tab_source"],
)
def test_the_widgets_models_are_free_of_textual(module: str) -> None:
    """What the Files tab and the mount picker compute from plain data needs no Textual, nor
    do the Protocols of the tab panels' sources (the backend implements them without it)."""
    assert _loaded_after_import(module, ("textual",)) == []


ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_only(tree: ast.Module) -> set[ast.AST]:
    """Import nodes under `if TYPE_CHECKING:` (never run, so no import at run time)."""
    found: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found.update(n for child in node.body for n in ast.walk(child))
    return found


def _imports(path: Path, *, runtime_only: bool) -> list[tuple[str, list[str], int]]:
    """Every import in the file, at module level or inside functions (lazy ones count):
    (module, names imported from it, line)."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_only(tree) if runtime_only else set()
    found = []
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


@pytest.mark.parametrize("tops", [("container",), ("claudex_tui", "widgets", "container")])
def test_modules_import_one_another_without_a_loop(tops: tuple[str, ...]) -> None:
    """No import cycle among container/ modules, nor across the three layers, lazy imports
    included (a lazy import that closes a loop only hides it until the order of first use
    changes)."""
    modules = {_module_name(p): p for top in tops for p in sorted((ROOT / top).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for module, names, _line in _imports(path, runtime_only=True):
            if module in modules:
                targets.add(module)
            targets.update(f"{module}.{n}" for n in names if f"{module}.{n}" in modules)
        graph[name] = targets - {name}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                loop = [*path[path.index(target) :], target]
                pytest.fail("import loop: " + " -> ".join(loop))
            if target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_app_and_widgets_never_import_docker() -> None:
    """Docker I/O lives in container/: no module of claudex_tui/ or widgets/ imports docker-py,
    not even for a type (container.engine.DockerClient names a connection)."""
    found = []
    for top in ("claudex_tui", "widgets"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for module, _names, line in _imports(path, runtime_only=False):
                if module == "docker" or module.startswith("docker."):
                    found.append(f"{rel}:{line} imports {module}")
    assert found == []
