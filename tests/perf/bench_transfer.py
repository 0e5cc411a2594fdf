"""Push and pull of 1 GiB against `docker cp` of the same data, measured in the same run.

Targets: claudex push and pull each <= 1.2x the time of `docker cp`; peak RSS of the claudex
process during the transfer <= 100 MB (VmHWM, reported by the claudex process itself).
Run: .venv/bin/python tests/perf/bench_transfer.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from tests.peak_rss import MEASURED_CLAUDEX, split_peak

PREFIX = "claudexbench"
ENV = {**os.environ, "CLAUDEX_NAME_PREFIX": PREFIX}
CLAUDEX = MEASURED_CLAUDEX  # reports its own peak memory (see tests/peak_rss.py)
SIZE = 1 << 30
ROUNDS = 7  # odd, for a median: the engine's own speed varies by a third run to run here
RSS_TARGET = 100 * 1024 * 1024


def run(cmd: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one command."""
    os.sync()  # the previous run's dirty pages must not slow this one down (writeback)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    text = err.decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {text}")
    if "PEAK_KB=" in text:
        return elapsed, split_peak(text)[1]
    return elapsed, usage.ru_maxrss * 1024


def main() -> None:
    client = docker.from_env()
    root = Path(tempfile.mkdtemp(prefix="claudex-bench-transfer-"))
    name = f"{PREFIX}-transfer-{os.getpid()}"
    try:
        proj = root / "proj"
        proj.mkdir()
        big = root / "big.bin"
        with open(big, "wb") as fh:  # real bytes: a sparse file would flatter both sides
            for _ in range(SIZE >> 24):
                fh.write(os.urandom(1 << 24))
        subprocess.run(
            [
                *CLAUDEX,
                str(proj),
                "--name",
                name,
                "-d",
                "--agent",
                "shell",
                "--host-network",
                "--no-git",
            ],
            env=ENV,
            check=True,
            capture_output=True,
        )
        container = client.containers.get(name)

        def clear_in_session() -> None:
            container.exec_run(["rm", "-f", "/workspace/big.bin"])

        out = root / "out"

        def clear_out() -> None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()

        results: dict[str, list[tuple[float, int]]] = {
            k: [] for k in ("cp-in", "push", "cp-out", "pull")
        }
        cp_in = ["docker", "cp", str(big), f"{name}:/workspace/big.bin"]
        push = [*CLAUDEX, "push", "--name", name, str(big)]
        cp_out = ["docker", "cp", f"{name}:/workspace/big.bin", str(out / "big.bin")]
        pull = [*CLAUDEX, "pull", "--name", name, "big.bin", str(out)]
        for round_ in range(ROUNDS):
            # Each side goes first in turn: neither always inherits the other's after-effects.
            ins = [("cp-in", cp_in), ("push", push)]
            outs = [("cp-out", cp_out), ("pull", pull)]
            if round_ % 2:
                ins.reverse()
                outs.reverse()
            for key, cmd in ins:
                clear_in_session()
                results[key].append(run(cmd))
            for key, cmd in outs:
                clear_out()
                results[key].append(run(cmd))

        for key, runs in results.items():
            print(f"  {key:<7}" + "  ".join(f"{t:5.2f}s" for t, _ in runs), file=sys.stderr)

        def median(key: str) -> float:
            return statistics.median(t for t, _ in results[key])

        def peak(key: str) -> int:
            return max(r for _, r in results[key])

        for ours, floor, what in (
            ("push", "cp-in", "push 1 GiB"),
            ("pull", "cp-out", "pull 1 GiB"),
        ):
            ratio = median(ours) / median(floor)
            rss = peak(ours)
            verdict = "ok" if ratio <= 1.2 and rss <= RSS_TARGET else "OVER TARGET"
            print(
                f"{what:<12} claudex {median(ours):6.2f} s   docker cp {median(floor):6.2f} s"
                f"   ratio {ratio:4.2f} (<= 1.2)   peak RSS {rss / 2**20:5.1f} MiB (<= 100)"
                f"   {verdict}"
            )
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
