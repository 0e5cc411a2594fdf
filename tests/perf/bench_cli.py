"""CLI speed against the floor of any docker-py tool, measured in the same run.

- `claudex list --format json` with 20 sessions vs `python -c` importing docker and making
  the same single list call (target <= 1.3x);
- `claudex DIR --detach --no-git --host-network` vs `docker run -d` + `docker exec true`
  of the same image (target <= 2x), and the full default start (target <= 4x).
Run: .venv/bin/python tests/perf/bench_cli.py

Each claudex run is paired with a floor run right after it, and each pair's containers are
removed before the next: the two sides see the same engine load, so a noisy moment on a
shared machine moves both.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

from container.image import DEFAULT_IMAGE

PREFIX = "claudexbench"
ENV = {**os.environ, "CLAUDEX_NAME_PREFIX": PREFIX}
CLAUDEX = [sys.executable, "-m", "claudex_tui.cli"]
FLOOR = (
    "import docker; c = docker.from_env(); "
    "c.api.containers(all=True, filters={'label': ['com.claudex.signature']})"
)
ROUNDS = 7


def timed(cmd: list[str], **kw: object) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=ENV, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - start


def paired(ours, floor, rounds: int = ROUNDS, between=None) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median of each side over alternating runs (after one warm-up of each)."""
    ours_times: list[float] = []
    floor_times: list[float] = []
    for i in range(rounds + 1):
        for fn, into in ((ours, ours_times), (floor, floor_times)):
            took = fn()
            if i:  # the first round warms caches (page cache, engine)
                into.append(took)
            if between:
                between()
    return statistics.median(ours_times), statistics.median(floor_times)


def cleanup(client: docker.DockerClient) -> None:
    for c in client.api.containers(all=True, filters={"name": PREFIX}):
        client.api.remove_container(c["Id"], force=True)


def report(what: str, ours: float, floor: float, target: float) -> None:
    ratio = ours / floor
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(
        f"{what:<48} claudex {ours * 1000:7.0f} ms   floor {floor * 1000:7.0f} ms   "
        f"ratio {ratio:4.2f} (target <= {target}) {verdict}"
    )


def main() -> None:
    client = docker.from_env()
    cleanup(client)
    root = Path(tempfile.mkdtemp(prefix="claudex-bench-"))
    try:
        for i in range(20):
            d = root / f"p{i:02d}"
            d.mkdir()
            subprocess.run(
                [*CLAUDEX, str(d), "-d", "--agent", "shell", "--no-git", "--host-network"],
                check=True,
                capture_output=True,
                env=ENV,
                stdin=subprocess.DEVNULL,
            )
        ours, floor = paired(
            lambda: timed([*CLAUDEX, "list", "--format", "json"]),
            lambda: timed([sys.executable, "-c", FLOOR]),
        )
        report("list --format json, 20 sessions", ours, floor, 1.3)
        cleanup(client)

        counter = iter(range(10_000))

        def start(*flags: str) -> float:
            d = root / f"s{next(counter)}"
            d.mkdir()
            return timed(
                [*CLAUDEX, str(d), "-d", "--agent", "shell", *flags], stdin=subprocess.DEVNULL
            )

        def bare() -> float:
            name = f"{PREFIX}-bare-{next(counter)}"
            t0 = time.perf_counter()
            subprocess.run(
                [
                    "docker",
                    "run",
                    "-d",
                    "--name",
                    name,
                    "--entrypoint",
                    "sleep",
                    DEFAULT_IMAGE,
                    "infinity",
                ],
                check=True,
                capture_output=True,
            )
            subprocess.run(["docker", "exec", name, "true"], check=True, capture_output=True)
            return time.perf_counter() - t0

        fast, floor = paired(
            lambda: start("--no-git", "--host-network"), bare, between=lambda: cleanup(client)
        )
        report("start --detach --no-git --host-network", fast, floor, 2.0)
        full, floor = paired(start, bare, rounds=5, between=lambda: cleanup(client))
        report("start --detach (firewall, git snapshot, tmux)", full, floor, 4.0)
    finally:
        cleanup(client)
        subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
