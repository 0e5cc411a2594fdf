"""What the firewall adds to session start, on the real engine.

Starts sessions (create, start, wait until the agent runs) with and without the firewall,
interleaved in the same run, and prints the medians, their difference and ratio; then the
time `firewall.sh apply` itself takes inside a running session. Budget: +300 ms.

    .venv/bin/python tests/perf/bench_firewall.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from container.engine import connect
from container.firewall import DEFAULT_ALLOW
from container.mounts import plan_mounts
from container.sessions import Sessions, StartRequest

BUDGET_MS = 300.0


def start_once(sessions: Sessions, project: str, name: str, firewall: bool) -> float:
    req = StartRequest(
        plan=plan_mounts([project]),
        name=name,
        agent="shell",
        firewall=firewall,
        allow=list(DEFAULT_ALLOW),
    )
    t = time.perf_counter()
    sessions.start_session(req)
    elapsed = time.perf_counter() - t
    return elapsed


def apply_inside(sessions: Sessions, name: str, runs: int) -> float:
    container = sessions.client.containers.get(name)
    times = []
    for _ in range(runs):
        result = container.exec_run(
            [
                "bash",
                "-c",
                "s=$EPOCHREALTIME; /usr/local/lib/claudex/firewall.sh apply >/dev/null; "
                "echo $s $EPOCHREALTIME",
            ],
            user="root",
        )
        start, end = (float(x) for x in result.output.split())
        times.append(end - start)
    return statistics.median(times)


def _ms(values: list[float]) -> str:
    return ", ".join(f"{x * 1000:.0f}" for x in values)


def _ms(values: list[float]) -> str:
    return ", ".join(f"{x * 1000:.0f}" for x in values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="sessions per variant")
    args = parser.parse_args()
    sessions = Sessions(connect())
    with_fw: list[float] = []
    without: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        project = os.path.join(tmp, "proj")
        os.mkdir(project)
        if os.geteuid() == 0:
            os.chown(project, 4242, 4242)  # the agent never runs as root
        names = []
        try:
            # Warm-up (image layers in the page cache, network present), not counted.
            for fw in (True, False):
                name = f"claudexbench-fw-warm-{int(fw)}"
                names.append(name)
                start_once(sessions, project, name, fw)
                sessions.remove(name, force=True)
            for i in range(args.runs):
                for fw, bucket in ((True, with_fw), (False, without)):
                    name = f"claudexbench-fw-{i}-{int(fw)}"
                    names.append(name)
                    bucket.append(start_once(sessions, project, name, fw))
                    if not (fw and i == args.runs - 1):
                        sessions.remove(name, force=True)
            inside = apply_inside(sessions, f"claudexbench-fw-{args.runs - 1}-1", args.runs)
        finally:
            for name in names:
                with contextlib.suppress(Exception):
                    sessions.remove(name, force=True)
    on, off = statistics.median(with_fw) * 1000, statistics.median(without) * 1000
    print(f"session start, median of {args.runs} (allow list: {len(DEFAULT_ALLOW)} names)")
    verdict = "ok" if on - off <= BUDGET_MS else "EXCEEDED"
    print(f"  with firewall     {on:8.0f} ms   (runs: {_ms(with_fw)})")
    print(f"  without firewall  {off:8.0f} ms   (runs: {_ms(without)})")
    print(f"  difference        {on - off:+8.0f} ms   ratio {on / off:.2f}")
    print(f"  budget            +{BUDGET_MS:.0f} ms: {verdict}")
    print(f"firewall.sh apply inside a running session: {inside * 1000:.0f} ms (median)")
    return 0 if on - off <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
