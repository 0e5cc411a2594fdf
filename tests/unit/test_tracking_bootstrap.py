"""The tracking script is a package of small modules sent as ONE `python3 -I -c` source: the
bootstrap carries every module's text, loads each after the ones it imports, fits in one exec
argument, and never imports a module from a path (only its own texts and the standard
library)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from container.scripts import tracking as tracking_package
from container.tracking import _script

PACKAGE = Path(tracking_package.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
MAX_LINES = 600
MAX_ARG_STRLEN = 128 << 10  # Linux: the longest single argument of an exec


def _sent_sources() -> dict[str, str]:
    """The {module: text} the bootstrap carries (the argument of its last line's `run`)."""
    last = ast.parse(_script()).body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    run = last.value.args[0]
    assert isinstance(run, ast.Call) and ast.unparse(run.func) == "run"
    assert ast.literal_eval(run.args[0]) == "tracking"
    sources = ast.literal_eval(run.args[1])
    assert isinstance(sources, dict)
    return sources


def test_the_bootstrap_carries_every_module_of_the_package_as_it_is_on_disk() -> None:
    sources = _sent_sources()
    assert list(sources) == ["__init__", *tracking_package.PARTS]
    assert sorted(sources) == sorted(p.stem for p in MODULES)
    for path in MODULES:
        assert sources[path.stem] == path.read_text(encoding="utf-8"), path.name


@pytest.mark.parametrize("path", [*MODULES, PACKAGE.parent / "bootstrap.py"], ids=lambda p: p.name)
def test_no_module_is_over_600_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_each_module_comes_after_the_ones_it_imports() -> None:
    order = ["__init__", *tracking_package.PARTS]
    for name in tracking_package.PARTS:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        needs: set[str] = set()
        absolute: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, f"{name}: imports from outside the package"
                if node.module:
                    needs.add(node.module)
                else:
                    needs.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                absolute.append(node.module or "")
            elif isinstance(node, ast.Import):
                absolute += [alias.name for alias in node.names]
        # Anything else would be looked for on sys.path in the container.
        outside = [m for m in absolute if m.split(".")[0] not in sys.stdlib_module_names]
        assert outside == [], f"{name} imports {outside}"
        for needed in needs:
            assert order.index(needed) < order.index(name), f"{name} needs {needed} first"


def test_the_bootstrap_fits_in_one_exec_argument_with_room_to_grow() -> None:
    assert len(_script().encode()) < MAX_ARG_STRLEN * 3 // 4


PLANTED = 'open({marker!r}, "a").write(__name__ + "\\n")\n'


def test_modules_planted_on_sys_path_or_in_the_environment_never_run(tmp_path: Path) -> None:
    """A copy of every module name (the package, each part, the bootstrap's own imports) in a
    folder named by PYTHONPATH, PYTHONSTARTUP and the working directory: the script runs its
    own code and none of them (an agent could plant such files in /tmp or /workspace)."""
    marker = tmp_path / "planted-ran"
    evil = tmp_path / "evil"
    (evil / "tracking").mkdir(parents=True)
    body = PLANTED.format(marker=str(marker))
    names = ["tracking", "bootstrap", "types", "json", "subprocess", "sitecustomize"]
    for name in [*names, *tracking_package.PARTS]:
        (evil / f"{name}.py").write_text(body)
        (evil / "tracking" / f"{name}.py").write_text(body)
    (evil / "tracking" / "__init__.py").write_text(body)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(evil),
        "PYTHONSTARTUP": str(evil / "json.py"),
        "PYTHONHOME": str(evil),
        "CLAUDEX_TRACK_ROOT": str(tmp_path / "state"),
        "CLAUDEX_TRACK_WORK_TREE": str(tmp_path / "ws"),
    }
    (tmp_path / "ws").mkdir()
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _script(), "status"],
        env=env,
        cwd=evil,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '{"baseline": null, "head": null}'
    assert not marker.exists(), marker.read_text()


def test_a_module_not_sent_is_an_import_error_not_a_search_of_the_disk(tmp_path: Path) -> None:
    """Even with the planted folder first on sys.path, a part left out of the sources fails
    to import: the package has nowhere on disk to look."""
    marker = tmp_path / "planted-ran"
    evil = tmp_path / "evil"
    (evil / "tracking").mkdir(parents=True)
    (evil / "tracking" / "layout.py").write_text(PLANTED.format(marker=str(marker)))
    sources = _sent_sources()
    del sources["layout"]
    bootstrap = (PACKAGE.parent / "bootstrap.py").read_text()
    code = (
        f"{bootstrap}\nsys.path.insert(0, {str(evil)!r})\n"
        f"sys.exit(run('tracking', {sources!r}, sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, "status"], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and "layout" in proc.stderr
    assert not marker.exists()
