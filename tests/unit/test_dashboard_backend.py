"""The dashboard's seam to the engines: the real backend and the demo one answer the same
calls, and the dashboard on the demo backend runs without docker-py."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from claudex_tui.backend import DashboardBackend
from claudex_tui.demo_backend import DemoBackend
from claudex_tui.engine_backend import EngineBackend
from tests.fakes import FakeBackend
from widgets.tab_source import ChangesSource, DetailsSource, FirewallSource

CALLS = [
    name
    for name, member in inspect.getmembers(DashboardBackend, inspect.isfunction)
    if not name.startswith("_")
]


def test_the_protocol_names_what_the_dashboard_uses() -> None:
    assert {"list_sessions", "details", "destroy", "changes", "firewall_status"} <= set(CALLS)


@pytest.mark.parametrize("backend", [EngineBackend, DemoBackend, FakeBackend])
@pytest.mark.parametrize("call", CALLS)
def test_every_backend_answers_every_call_alike(backend: type, call: str) -> None:
    """Same parameters, in the same order, with the same defaults: a fake that drifted from
    the real backend would test a dashboard that does not exist."""
    wanted = inspect.signature(getattr(DashboardBackend, call))
    found = inspect.signature(getattr(backend, call))
    assert [(p.name, p.kind, p.default) for p in found.parameters.values()] == [
        (p.name, p.kind, p.default) for p in wanted.parameters.values()
    ], f"{backend.__name__}.{call}{found} is not {call}{wanted}"


PANEL_SOURCES = [DetailsSource, ChangesSource, FirewallSource]
PANEL_CALLS = [
    (source, name)
    for source in PANEL_SOURCES
    for name, _ in inspect.getmembers(source, inspect.isfunction)
    if not name.startswith("_")
]


def test_each_panel_source_names_what_its_panel_reads() -> None:
    names = {(s.__name__, n) for s, n in PANEL_CALLS}
    assert {("DetailsSource", "details"), ("FirewallSource", "firewall_status")} <= names
    assert {("ChangesSource", "changes"), ("ChangesSource", "file_diff")} <= names
    assert all((s.__name__, "reachable") in names for s in PANEL_SOURCES)


@pytest.mark.parametrize("backend", [EngineBackend, DemoBackend, FakeBackend])
@pytest.mark.parametrize(("source", "call"), PANEL_CALLS, ids=lambda x: getattr(x, "__name__", x))
def test_every_backend_is_every_panels_source(backend: type, source: type, call: str) -> None:
    """The panels read from the backend the screen hands them: each backend has each call of
    each panel's Protocol with the same parameters and defaults (and so does the dashboard's
    own Protocol: a panel's source never asks for what the backend does not promise)."""
    wanted = inspect.signature(getattr(source, call))
    for impl in (backend, DashboardBackend):
        found = inspect.signature(getattr(impl, call))
        assert [(p.name, p.kind, p.default) for p in found.parameters.values()] == [
            (p.name, p.kind, p.default) for p in wanted.parameters.values()
        ], f"{impl.__name__}.{call}{found} is not {source.__name__}.{call}{wanted}"


def _typed(
    real: EngineBackend, demo: DemoBackend, fake: FakeBackend, any_: DashboardBackend
) -> list[tuple[DetailsSource, ChangesSource, FirewallSource]]:
    """Never run: mypy checks here that every backend satisfies every panel's Protocol."""
    return [(b, b, b) for b in (real, demo, fake, any_)]


def test_the_dashboard_on_the_demo_backend_loads_no_docker() -> None:
    """The app reaches the engines only through its backend: given another, docker-py is
    never imported (it is the real backend that brings it, lazily)."""
    code = (
        "import sys\n"
        "from claudex_tui.app import ClaudexApp\n"
        "from claudex_tui.config import Config\n"
        "from claudex_tui.demo_backend import DemoBackend\n"
        "ClaudexApp(config=Config(), backend=DemoBackend())\n"
        "print('docker' in sys.modules)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"
