"""The one-line fix for "no Docker Engine answers", for the system claudex runs on: what to run
to install or start one. `claudex` says it when the engine is down, and scripts/install.sh
prints the same line (`python -m container.engine_fix`)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class HostFacts:
    """What decides the fix: the system, the user, and what is installed already."""

    os_ids: tuple[str, ...]  # /etc/os-release ID then ID_LIKE, e.g. ("ubuntu", "debian")
    root: bool
    has_dockerd: bool
    systemd: bool  # systemd runs the machine (so `systemctl start docker` works)
    init_script: bool  # /etc/init.d/docker (Debian's docker.io without systemd)
    docker_host: str = ""
    platform: str = "linux"


def _os_release(path: str = "/etc/os-release") -> dict[str, str]:
    fields = {}
    try:
        with open(path) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep:
                    fields[key] = value.strip().strip("\"'")
    except OSError:
        pass
    return fields


def host_facts(environ: Mapping[str, str] | None = None) -> HostFacts:
    env = os.environ if environ is None else environ
    release = _os_release()
    ids = (release.get("ID", ""), *release.get("ID_LIKE", "").split())
    return HostFacts(
        os_ids=tuple(i.lower() for i in ids if i),
        root=hasattr(os, "geteuid") and os.geteuid() == 0,
        has_dockerd=bool(shutil.which("dockerd") or os.path.exists("/usr/bin/dockerd")),
        systemd=os.path.isdir("/run/systemd/system"),
        init_script=os.path.exists("/etc/init.d/docker"),
        docker_host=env.get("DOCKER_HOST", ""),
        platform=sys.platform,
    )


# Each system's package of the Docker Engine, and how its package manager installs it.
_INSTALL = {
    "debian": "apt-get install -y docker.io",
    "ubuntu": "apt-get install -y docker.io",
    "fedora": "dnf install -y moby-engine",
    "rhel": "dnf install -y moby-engine",
    "centos": "dnf install -y moby-engine",
    "arch": "pacman -S --noconfirm docker",
    "opensuse": "zypper install -y docker",
    "suse": "zypper install -y docker",
    "alpine": "apk add docker",
}


SYSTEM_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def _start(f: HostFacts, sudo: str) -> str:
    if f.systemd:
        return f"{sudo}systemctl enable --now docker"
    if f.init_script:
        return f"{sudo}service docker start"
    if "alpine" in f.os_ids:
        return f"{sudo}rc-service docker start"
    run = "nohup dockerd >/var/log/dockerd.log 2>&1 &"
    return f"sudo sh -c '{run}'" if sudo else run


def engine_fix(f: HostFacts) -> str:
    """What to run so that an engine answers (one line, commands the user can paste)."""
    socket = f.docker_host.removeprefix("unix://")
    if f.docker_host and socket.startswith("/run/user/"):
        return "start your rootless engine: systemctl --user start docker"
    if f.docker_host and socket not in SYSTEM_SOCKETS:
        return f"start the engine at {f.docker_host}, or unset DOCKER_HOST to use this machine's"
    if f.platform == "darwin":
        return "start Docker Desktop (or: brew install colima docker && colima start)"
    if f.platform.startswith("win"):
        return "start Docker Desktop"
    sudo = "" if f.root else "sudo "
    if f.has_dockerd:
        return f"start it: {_start(f, sudo)}"
    install = next((_INSTALL[i] for i in f.os_ids if i in _INSTALL), None)
    if install is None:
        return "install the Docker Engine (https://docs.docker.com/engine/install/) and start it"
    if install.startswith("apt-get"):  # the package brings /etc/init.d/docker
        f = replace(f, init_script=True)
    return f"install and start it: {sudo}{install} && {_start(f, sudo)}"


if __name__ == "__main__":
    print(engine_fix(host_facts()))
