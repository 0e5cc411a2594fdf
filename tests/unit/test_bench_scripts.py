"""The benchmarks run only at the end of the test command, as scripts: a test helper they use
that moved or was renamed would break them after every test had passed. Importing each one
(its `main` is not run) catches that with the tests."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

PERF = Path(__file__).resolve().parents[1] / "perf"


@pytest.mark.parametrize("script", sorted(p.stem for p in PERF.glob("bench_*.py")))
def test_benchmark_script_imports(script: str) -> None:
    module = importlib.import_module(f"tests.perf.{script}")
    assert callable(getattr(module, "main", None)), f"{script} has no main()"
