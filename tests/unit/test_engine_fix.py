"""The one-line fix when no Docker Engine answers, for each kind of system."""

from __future__ import annotations

import pytest

from container.engine import explain_connect_error
from container.engine_fix import HostFacts, engine_fix


def facts(**kw: object) -> HostFacts:
    base: dict[str, object] = {
        "os_ids": ("debian",),
        "root": True,
        "has_dockerd": False,
        "systemd": False,
        "init_script": False,
    }
    return HostFacts(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "fix"),
    [
        ({}, "install and start it: apt-get install -y docker.io && service docker start"),
        (
            {"os_ids": ("ubuntu", "debian"), "root": False, "systemd": True},
            "install and start it: sudo apt-get install -y docker.io "
            "&& sudo systemctl enable --now docker",
        ),
        (
            {"os_ids": ("fedora",), "root": False, "systemd": True},
            "install and start it: sudo dnf install -y moby-engine "
            "&& sudo systemctl enable --now docker",
        ),
        (
            {"os_ids": ("alpine",)},
            "install and start it: apk add docker && rc-service docker start",
        ),
        ({"has_dockerd": True, "init_script": True}, "start it: service docker start"),
        (
            {"has_dockerd": True, "root": False},
            "start it: sudo sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'",
        ),
        ({"os_ids": ("gentoo",)}, "install the Docker Engine (https://docs.docker.com/engine"),
        ({"platform": "darwin"}, "start Docker Desktop (or: brew install colima docker"),
        (
            {"docker_host": "ssh://me@box"},
            "start the engine at ssh://me@box, or unset DOCKER_HOST",
        ),
        (
            {"docker_host": "unix:///run/user/1000/docker.sock"},
            "start your rootless engine: systemctl --user start docker",
        ),
        (
            {"docker_host": "unix:///var/run/docker.sock", "has_dockerd": True, "systemd": True},
            "start it: systemctl enable --now docker",
        ),
    ],
)
def test_the_fix_for_each_system(kw: dict[str, object], fix: str):
    assert engine_fix(facts(**kw)).startswith(fix)


def test_claudex_says_the_same_line(monkeypatch: pytest.MonkeyPatch):
    """The hint of the engine error is the line install.sh prints."""
    from container import engine_fix as module

    monkeypatch.setattr(module, "host_facts", lambda environ=None: facts())
    err = explain_connect_error(ConnectionRefusedError("refused"))
    assert err.hint == engine_fix(facts())
