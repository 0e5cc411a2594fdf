"""Getting a local engine when none answers: whether claudex may offer to install and start one
(root on Debian/Ubuntu, the local engine or a unix:// DOCKER_HOST), what to do about it (ask on a
terminal, go ahead with --yes, else say what to run), and running the shipped ensure_engine.sh,
the same steps as the test command's scripts/ensure-engine.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from enum import Enum

from container import scripts
from container.engine_fix import HostFacts

# What scripts run instead of answering the question (documented in --help and the README).
YES_COMMAND = "claudex doctor --fix --yes"


class Offer(Enum):
    ASK = "ask"  # on a terminal: ask, then start it on yes
    START = "start"  # --yes: start it without asking
    TELL = "tell"  # could start one, but nobody can answer: say how, exit non-zero
    FIX = "fix"  # cannot start one here: say what the user runs for their system


def can_start(f: HostFacts, apt: bool) -> bool:
    """Whether ensure_engine.sh can install and start an engine here: root on Debian/Ubuntu
    with apt-get, for the system's engine or one at a unix:// DOCKER_HOST (anything else is
    another machine's, never started over here; /run/user/ is a user's rootless one)."""
    debian = any(i in ("debian", "ubuntu") for i in f.os_ids)
    socket = f.docker_host.removeprefix("unix://")
    local = not f.docker_host or (socket != f.docker_host and not socket.startswith("/run/user/"))
    return f.platform == "linux" and f.root and debian and apt and local


def decide(f: HostFacts, apt: bool, tty: bool, yes: bool) -> Offer:
    if not can_start(f, apt):
        return Offer.FIX
    if yes:
        return Offer.START
    return Offer.ASK if tty else Offer.TELL


def has_apt() -> bool:
    return shutil.which("apt-get") is not None


def start_engine(environ: Mapping[str, str] | None = None) -> int:
    """Run the shipped ensure_engine.sh here (its progress lines, and anything it prints, go
    to our stderr); its exit code. It reads no input; its dockerd runs in a session of its own."""
    env = dict(os.environ if environ is None else environ)
    res = subprocess.run(
        ["bash", "-c", scripts.source("ensure_engine.sh"), "ensure_engine.sh"],
        stdin=subprocess.DEVNULL,
        stdout=2,  # stdout stays the caller's (e.g. `claudex -d` prints the name)
        env=env,
        check=False,
    )
    return res.returncode
