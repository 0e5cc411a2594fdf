"""`claudex doctor` on the real engine: all ok here, and a stopped engine, a missing image and a
bad config file each give their line `failed` with the fix, and exit 1. The firewall check
really runs iptables, ip6tables and ipset in a throw-away container, never left behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest

from container.image import DEFAULT_IMAGE, image_state

REPO = Path(__file__).resolve().parents[2]
CHECKS = {
    "config",
    "engine",
    "image",
    "firewall",
    "dns",
    "logins",
    "disk-engine",
    "disk-state",
    "engines",
}


def doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claudex_tui.cli", "doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        timeout=120,
    )


def as_json(res: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    entries = json.loads(res.stdout)
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)), names  # one entry per check
    assert all(set(e) == {"name", "status", "detail", "fix"} for e in entries), entries
    return {e["name"]: e for e in entries}


def probes(engine: docker.DockerClient) -> list[str]:
    found = engine.api.containers(all=True, filters={"label": ["com.claudex.doctor"]})
    return [c["Names"][0] for c in found if c["Names"][0].lstrip("/").startswith("claudextest")]


@pytest.fixture
def no_probe_left(engine: docker.DockerClient) -> Any:
    assert probes(engine) == []
    yield
    assert probes(engine) == [], "the firewall probe's container was left behind"


@pytest.mark.usefixtures("no_probe_left")
def test_all_ok_here(engine: docker.DockerClient) -> None:
    started = time.monotonic()
    res = doctor("--format", "json")
    took = time.monotonic() - started
    assert res.returncode == 0, res.stdout + res.stderr
    checks = as_json(res)
    assert set(checks) == CHECKS
    assert checks["config"]["status"] == "ok"
    assert checks["engine"]["status"] == "ok"
    assert "API 1." in checks["engine"]["detail"]
    assert "storage " in checks["engine"]["detail"] and "cgroup v" in checks["engine"]["detail"]
    # The image other helpers' context changes made stale is a warning, never a failure.
    current = image_state(engine, DEFAULT_IMAGE).current
    assert checks["image"]["status"] == ("ok" if current else "warning"), checks["image"]
    assert " GiB" in checks["image"]["detail"]
    assert checks["firewall"] == {
        "name": "firewall",
        "status": "ok",
        "detail": "iptables, ip6tables and ipset work with NET_ADMIN",
        "fix": "",
    }
    assert "from the host" in checks["dns"]["detail"]
    assert checks["disk-engine"]["status"] in ("ok", "warning")
    assert "free" in checks["disk-engine"]["detail"]
    assert not [c for c in checks.values() if c["status"] == "failed"], checks
    assert took < 15, f"doctor took {took:.1f}s"

    text = doctor()
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == len(CHECKS)  # one line per check
    assert [ln.split()[1] for ln in lines] == [
        "config",
        "engine",
        "image",
        "firewall",
        "dns",
        "logins",
        "disk-engine",
        "disk-state",
        "engines",
    ]
    assert "checks in" in text.stderr


def test_stopped_engine(tmp_path: Path) -> None:
    """An address with nothing listening (the real engine keeps running)."""
    path = tmp_path / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))  # bound, never listening: connections are refused
    try:
        res = doctor("--format", "json", env={"DOCKER_HOST": f"unix://{path}"})
        text = doctor(env={"DOCKER_HOST": f"unix://{path}"})
    finally:
        sock.close()
    assert res.returncode == 1, res.stdout + res.stderr
    checks = as_json(res)
    assert checks["engine"]["status"] == "failed"
    assert str(path) in checks["engine"]["detail"]
    assert checks["engine"]["fix"]
    assert checks["image"]["status"] == "skipped"
    assert checks["image"]["detail"] == "skipped: the engine did not answer"
    assert checks["firewall"]["status"] == "skipped"
    assert checks["disk-engine"]["status"] == "skipped"
    assert checks["config"]["status"] == "ok"
    assert text.returncode == 1
    engine_line = next(ln for ln in text.stdout.splitlines() if ln.split()[1] == "engine")
    assert engine_line.startswith("failed") and "fix: " in engine_line
    assert "Traceback" not in text.stderr


@pytest.mark.usefixtures("no_probe_left")
def test_missing_image(tmp_path: Path) -> None:
    missing = f"claudextest-missing-{uuid.uuid4().hex[:8]}"
    res = doctor("--format", "json", "--image", missing)
    assert res.returncode == 1, res.stdout + res.stderr
    checks = as_json(res)
    assert checks["engine"]["status"] == "ok"
    assert checks["image"] == {
        "name": "image",
        "status": "failed",
        "detail": f"{missing}: not on the engine",
        "fix": "run `claudex build`",
    }
    assert checks["firewall"]["detail"] == f"skipped: image {missing} is missing"

    # The same from the config's `image`.
    config = tmp_path / "config" / "claudex"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'image = "{missing}"\n')
    res = doctor("--format", "json", env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert res.returncode == 1
    assert as_json(res)["image"]["status"] == "failed"


@pytest.mark.usefixtures("no_probe_left")
def test_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config" / "claudex"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('agent = "nobody"\n')
    res = doctor("--format", "json", env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert res.returncode == 1, res.stdout + res.stderr
    checks = as_json(res)
    assert checks["config"]["status"] == "failed"
    assert "config.toml: agent:" in checks["config"]["detail"]
    assert checks["config"]["fix"] == "fix or remove that key"
    # The rest still runs, on the defaults.
    assert checks["engine"]["status"] == "ok"
    assert checks["firewall"]["status"] == "ok"

    (config / "config.toml").write_text("image = [\n")
    res = doctor(env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert res.returncode == 1
    line = res.stdout.splitlines()[0]
    assert line.startswith("failed") and "config" in line and "not valid TOML" in line


def test_a_configured_engine_that_is_down(tmp_path: Path) -> None:
    """Each engine of the config's [engines] gets its own line; one that does not answer is a
    failure, while the default engine's checks stay ok."""
    path = tmp_path / "other.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    config = tmp_path / "config" / "claudex"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'[engines.spare]\nhost = "unix://{path}"\n')
    try:
        res = doctor("--format", "json", env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    finally:
        sock.close()
    assert res.returncode == 1, res.stdout + res.stderr
    checks = as_json(res)
    assert "engines" not in checks
    assert checks["engine spare"]["status"] == "failed"
    assert checks["engine spare"]["fix"]
    assert checks["engine"]["status"] == "ok"


@pytest.mark.usefixtures("no_probe_left")
def test_the_firewall_probe_sees_a_missing_capability(engine: docker.DockerClient) -> None:
    """The probe really exercises the kernel: without NET_ADMIN it fails, naming it."""
    from container.doctor_checks import check_firewall

    assert check_firewall(engine, DEFAULT_IMAGE).status == "ok"
    line = check_firewall(engine, DEFAULT_IMAGE, caps=["NET_RAW"])
    assert line.status == "failed"
    assert line.detail.startswith("NET_ADMIN: not granted"), line
    assert "NET_ADMIN" in line.fix


@pytest.mark.usefixtures("no_probe_left")
def test_a_config_error_with_engine_chosen(tmp_path: Path) -> None:
    """`doctor --engine NAME` with a config that cannot be read still runs: the config's
    failed line, and the engine its own line (the name came from that config); an engine
    that needs no config (the default one) is checked as usual."""
    config = tmp_path / "config" / "claudex"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('agent = "nobody"\n[engines.spare]\nhost = "unix:///x"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    res = doctor("--format", "json", "--engine", "spare", env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    checks = as_json(res)
    assert checks["config"]["status"] == "failed"
    assert "config.toml: agent:" in checks["config"]["detail"]
    assert checks["engine"]["status"] == "failed"
    assert "unknown engine 'spare'" in checks["engine"]["detail"]
    assert "could not be read" in checks["engine"]["detail"]
    assert checks["image"]["status"] == "skipped"
    assert "Traceback" not in res.stderr

    res = doctor("--format", "json", "--engine", "default", env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    checks = as_json(res)
    assert checks["config"]["status"] == "failed"
    assert checks["engine"]["status"] == "ok"
    assert checks["firewall"]["status"] == "ok"


@pytest.mark.usefixtures("no_probe_left")
def test_an_image_built_with_other_cas(tmp_path: Path, engine: docker.DockerClient) -> None:
    """A CA the config adds now (a proxy's, say) is not in the image yet: a warning saying so,
    with the fix; exit 0 (sessions still work)."""
    if not image_state(engine, DEFAULT_IMAGE).current:
        pytest.skip("the image is stale anyway (another context change): that line wins")
    pem = tmp_path / "proxy.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIBnotinthebundle\n-----END CERTIFICATE-----\n")
    config = tmp_path / "config" / "claudex"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'ca_certs = ["{pem}"]\n')
    res = doctor("--format", "json", env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert res.returncode == 0, res.stdout + res.stderr
    line = as_json(res)["image"]
    assert line["status"] == "warning"
    if image_state(engine, DEFAULT_IMAGE).extra_ca_list:
        assert (
            "the CAs this host trusts changed since its build (1 added, 0 removed)"
            in (line["detail"])
        )
    else:  # built before images listed their CAs
        assert "its CAs differ from the ones this host trusts now" in line["detail"]
    assert "claudex build" in line["fix"]
