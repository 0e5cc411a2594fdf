"""A second `dockerd` this test run starts (standing for a remote host) with its own socket, data
root, bridge and networks, and no say over the host's iptables; the real claudex image loaded
into it once per run. Registered for every integration test in tests/integration/conftest.py.

Rules: always `--iptables=false` and a bridge of its own (never `--bridge=none`: a dockerd
started that way deletes the host's docker0 at start-up, which breaks the first engine's
default network); stop only the dockerd started here."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.waiting import wait_for

# This run's: another test run sharing the host has its own bridge, address and data root.
RUN = uuid.uuid4().hex[:6]
# The second engine's own bridge (an interface name: 15 characters at most).
BRIDGE = f"cxme{RUN}"


def _free_bridge_address() -> str:
    """A 10.214.N.1/24 that no interface here has yet (another run's bridge may have one)."""
    used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
    first = int(RUN, 16) % 256
    for n in ((first + i) % 256 for i in range(256)):
        if f" 10.214.{n}." not in used:
            return f"10.214.{n}.1/24"
    raise RuntimeError("no 10.214.N.0/24 is free for the second engine's bridge")


@dataclass
class SecondEngine:
    """A dockerd of our own; stop() and start() keep its data (and, with live-restore, its
    containers running), as a remote host whose engine went away and came back."""

    root: Path
    proc: subprocess.Popen[bytes] | None = None
    bridge: str = BRIDGE
    address_pool: str = "10.213.0.0/16"

    @property
    def host(self) -> str:
        return f"unix://{self.root}/docker.sock"

    def make_bridge(self) -> None:
        if not Path(f"/sys/class/net/{self.bridge}").exists():
            for cmd in (
                ["ip", "link", "add", self.bridge, "type", "bridge"],
                ["ip", "addr", "add", _free_bridge_address(), "dev", self.bridge],
                ["ip", "link", "set", self.bridge, "up"],
            ):
                subprocess.run(cmd, check=True)

    def dockerd_args(self) -> list[str]:
        """Everything but --host: where it keeps its data, and its own networking."""
        return [
            "--data-root",
            str(self.root / "data"),
            "--exec-root",
            str(self.root / "exec"),
            "--pidfile",
            str(self.root / "docker.pid"),
            # Its own bridge, no rules in the host's iptables: the first engine's
            # networking stays untouched; its own networks get a distinct address pool.
            f"--bridge={self.bridge}",
            "--iptables=false",
            "--ip-masq=false",
            "--default-address-pool",
            f"base={self.address_pool},size=24",
            "--live-restore",
        ]

    def start(self) -> None:
        self.make_bridge()
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 (outlives this call)
        self.proc = subprocess.Popen(
            ["dockerd", "--host", self.host, *self.dockerd_args()],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if docker.DockerClient(base_url=self.host, timeout=5).ping():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError((self.root / "dockerd.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=60)


def load_image(image: str, host: str, *also: str) -> None:
    """The image (and `also`: e.g. its base) reaches the second engine as it would reach a
    remote host: saved and loaded. Saved by id (fixed now, whatever rebuilds `image`
    meanwhile), then tagged there."""
    image_id = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    save = subprocess.Popen(["docker", "save", image_id, *also], stdout=subprocess.PIPE)
    subprocess.run(["docker", "-H", host, "load", "-q"], stdin=save.stdout, check=True, timeout=900)
    assert save.wait() == 0
    subprocess.run(["docker", "-H", host, "tag", image_id, image], check=True)


@pytest.fixture(scope="session")
def second_engine(image: str) -> Iterator[SecondEngine]:
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.fail("a second engine needs dockerd and root")
    d2 = SecondEngine(Path(tempfile.mkdtemp(prefix=f"claudexme{RUN}-d2-", dir="/tmp")))
    d2.start()
    try:
        load_image(image, d2.host)
        yield d2
    finally:
        if d2.proc is None:  # a test stopped it and failed before starting it again
            with contextlib.suppress(Exception):
                d2.start()
        with contextlib.suppress(Exception):
            client = d2.client()
            for c in client.api.containers(all=True):
                client.api.remove_container(c["Id"], force=True, v=True)
        d2.stop()
        remove_leftovers(d2)


def remove_leftovers(d2: SecondEngine) -> None:
    """After its dockerd stopped: its files and its bridge."""
    # dockerd leaves its data root mounted on itself; undo that, then remove the files.
    for line in reversed(Path("/proc/mounts").read_text().splitlines()):
        target = line.split()[1]
        if target.startswith(str(d2.root)):
            subprocess.run(["umount", target], check=False)
    subprocess.run(["rm", "-rf", str(d2.root)], check=False)
    subprocess.run(["ip", "link", "delete", d2.bridge], check=False)


def answers(host: str) -> bool:
    with contextlib.suppress(Exception):
        return bool(docker.DockerClient(base_url=host, timeout=5).ping())
    return False


def stop_started_dockerd(d: SecondEngine) -> None:
    """The dockerd the run command started, found by its pidfile, and only if it is ours."""
    pidfile = d.root / "docker.pid"
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        if str(d.root) not in cmdline:
            return
        os.kill(pid, signal.SIGTERM)
        wait_for("the started dockerd to stop", lambda: not Path(f"/proc/{pid}").exists(), 60)


def tear_down_started(d: SecondEngine) -> None:
    """After a test that let claudex start `d`'s dockerd: its containers, that dockerd (only if
    it is the test's), then everything `d` made."""
    if answers(d.host):
        with contextlib.suppress(Exception):
            client = docker.DockerClient(base_url=d.host, timeout=60)
            for c in client.api.containers(all=True):
                client.api.remove_container(c["Id"], force=True, v=True)
    stop_started_dockerd(d)
    d.stop()
    remove_leftovers(d)
