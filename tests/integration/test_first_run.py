"""First run on a machine: the image builds with the host's CAs and no flag (from the layer
cache of the image built with `--ca-cert <host bundle>`), the run command's engine step starts
an engine when none answers and a session on it gets ready, and a non-editable install finds
the build context and the container scripts."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker
import ptyprocess
import pytest

from container.image import EXTRA_CA, EXTRA_CA_LIST
from tests.integration.conftest import CLI, REPO
from tests.integration.second_engine import SecondEngine, answers, load_image, tear_down_started


def _config(tmp_path: Path, image: str) -> dict[str, str]:
    conf = tmp_path / "xdg" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'image = "{image}"\n')
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def test_the_image_builds_with_the_host_cas_and_no_flag(
    cli: CLI, engine: docker.DockerClient, image: str, tmp_path: Path
):
    """`claudex build` with no flag trusts the host's bundle: the same extra-ca/ context as
    `--ca-cert <bundle>` (what the tests' image was built with), so every layer comes from the
    cache; the label lists the CAs; afterwards the image is up to date, also with the flag."""
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    named = os.environ.get("SSL_CERT_FILE", bundle)
    if not Path(bundle).exists() or os.path.realpath(named) != bundle:
        pytest.skip("this test compares with the system bundle the tests' image was built with")
    mine = f"claudextest-hostca-{uuid.uuid4().hex[:8]}"
    env = _config(tmp_path, mine)
    try:
        res = cli("build", env=env, timeout=900)
        assert res.code == 0, res.text
        assert "the host's bundle /etc/ssl/certs/ca-certificates.crt" in res.err
        assert "built image" in res.err and "step " in res.err  # one line per step (no TTY)
        built = engine.api.inspect_image(mine)
        shared = engine.api.inspect_image(image)
        # Every layer is the tests' image's: nothing ran again (a cold build takes minutes).
        assert built["RootFS"]["Layers"] == shared["RootFS"]["Layers"]
        mine_labels, shared_labels = built["Config"]["Labels"], shared["Config"]["Labels"]
        assert mine_labels[EXTRA_CA] == shared_labels[EXTRA_CA]
        assert len(mine_labels[EXTRA_CA_LIST].split(",")) > 100  # one digest per CA

        again = cli("build", env=env)
        assert again.code == 0 and "up to date" in again.err, again.text
        with_flag = cli("build", "--ca-cert", "/etc/ssl/certs/ca-certificates.crt", env=env)
        assert with_flag.code == 0 and "up to date" in with_flag.err, with_flag.text
        # Without the host's CAs, or with one more, it is another build (not run here: it would
        # be a cold one); doctor says how the CAs differ.
        from container.doctor_checks import check_image
        from container.image import up_to_date

        assert not up_to_date(engine, mine, [], host_ca=False)
        proxy = tmp_path / "proxy.pem"
        proxy.write_text("-----BEGIN CERTIFICATE-----\nMIIBproxy\n-----END CERTIFICATE-----\n")
        assert not up_to_date(engine, mine, [proxy])
        line, usable = check_image(engine, mine, [str(proxy)])
        assert usable and line.status == "warning"
        assert "the CAs this host trusts changed since its build (1 added, 0 removed)" in (
            line.detail
        )
        assert check_image(engine, mine, [])[0].status == "ok"
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine.api.remove_image(mine)  # only the tag: the layers are the shared image's


# -- installed as a user would: the wheel, and the run command -----------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with claudex installed from this checkout, not editable (what
    `pipx install .`, `pip install --user .` and scripts/install.sh do)."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check", str(REPO)],
        check=True,
        timeout=600,
    )
    return venv


def _shipped(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_a_non_editable_install_finds_the_context(
    installed: Path, engine: docker.DockerClient, image: str, tmp_path: Path
):
    """The wheel ships container/context/ and container/scripts/ whole; its claudex, run from
    elsewhere, answers --version and its doctor finds the image current (the context hash it
    computes from the shipped files is the checkout's)."""
    from container.image import image_state

    site = next((installed / "lib").glob("python3*/site-packages"))
    for part in ("container/context", "container/scripts"):
        assert _shipped(site / part) == _shipped(REPO / part), part
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(installed / "bin/python"), "-c", "import container; print(container.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    ).stdout
    assert where.startswith(str(site)), where  # the installed copy, not this checkout

    version = subprocess.run(
        [str(installed / "bin/claudex"), "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert version.returncode == 0 and version.stdout.startswith("claudex "), version
    doctor = subprocess.run(
        [str(installed / "bin/claudex"), "doctor", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    current = image_state(engine, image).current  # another helper's context change: stale
    assert checks["image"]["status"] == ("ok" if current else "warning"), checks["image"]
    assert checks["firewall"]["status"] == "ok", checks["firewall"]
    assert "Traceback" not in doctor.stderr


def test_the_run_command_starts_an_engine_then_a_session(
    installed: Path, image: str, project: Path, tmp_path: Path
):
    """`bash scripts/install.sh` when no engine answers: without a terminal and without --yes
    it says what to run and stops (nothing started); on a terminal it asks, and "n" starts
    nothing; with --yes it starts one the way the test command does (scripts/ensure-engine.sh)
    and the session on it gets ready. The engine is the test's own (socket, data and exec
    root, pidfile, bridge, no iptables), stopped first."""
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.fail("this test needs dockerd and root")
    run = uuid.uuid4().hex[:6]
    d = SecondEngine(
        Path(tempfile.mkdtemp(prefix=f"claudexfr{run}-", dir="/tmp")),
        bridge=f"cxfr{run}",
        address_pool="10.212.0.0/16",
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "DOCKER_HOST": d.host,
        "CLAUDEX_DOCKERD_ARGS": " ".join(d.dockerd_args()),
        "CLAUDEX_DOCKERD_LOG": str(d.root / "started.log"),
        "CLAUDEX_VENV": str(installed),
        "HOME": str(home),
    }
    try:
        d.start()
        load_image(image, d.host, "debian:bookworm-slim")  # as on a machine of its own
        d.stop()
        assert not answers(d.host)

        def install(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["bash", str(REPO / "scripts/install.sh"), *args],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                timeout=900,
            )

        refused = install("-d", "--agent", "shell", str(project))
        assert refused.returncode != 0, refused.stdout + refused.stderr
        assert "no Docker Engine answers" in refused.stderr
        assert "scripts/install.sh --yes" in refused.stderr
        assert not answers(d.host)  # asked nobody, started nothing

        # On a terminal it asks; anything but yes starts nothing.
        asked = ptyprocess.PtyProcessUnicode.spawn(
            ["bash", str(REPO / "scripts/install.sh"), "-d", str(project)],
            env=env,
            cwd=str(tmp_path),
            dimensions=(24, 200),
        )
        try:
            seen = ""
            deadline = time.monotonic() + 600
            while "[y/N]" not in seen and time.monotonic() < deadline:
                seen += asked.read(4096)
            assert "Install (if needed) and start one now" in seen, seen
            asked.write("n\r")
            with contextlib.suppress(EOFError):
                while True:
                    seen += asked.read(4096)
            asked.wait()
        finally:
            asked.close(force=True)
        assert asked.exitstatus == 1, seen
        assert "not installing; to do it yourself: " in seen
        assert not answers(d.host)

        res = install("--yes", "-d", "--agent", "shell", str(project))
        assert res.returncode == 0, res.stdout + res.stderr
        assert "starting dockerd" in res.stderr
        assert answers(d.host)
        name = res.stdout.strip().splitlines()[-1]
        client = docker.DockerClient(base_url=d.host, timeout=60)
        container = client.containers.get(name)
        assert container.status == "running"
        out = container.exec_run(["cat", "/workspace/proj/README.md"], user="4242")
        assert out.exit_code == 0 and out.output == b"hello\n"
        assert (home / ".local/bin/claudex").resolve() == (installed / "bin/claudex").resolve()
    finally:
        tear_down_started(d)
