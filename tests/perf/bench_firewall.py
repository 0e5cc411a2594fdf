"""What the firewall adds to session start, on the real engine.

Starts sessions with and without the firewall, interleaved in the same run, and prints for
each the median of
  - session start as the CLI sees it (create, start, wait until the agent runs), and
  - inside the container: from the engine starting it to the agent running (init.sh's
    `ready`), which excludes the engine's and the readiness poll's jitter,
with the difference and ratio of each; then `firewall.sh apply` alone in a running session.
Budget: the firewall adds at most 300 ms.

    .venv/bin/python tests/perf/bench_firewall.py [--runs 7]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from container.engine import connect
from container.firewall import DEFAULT_ALLOW
from container.mounts import plan_mounts
from container.sessions import STATUS_FILE, Sessions, StartRequest

BUDGET_MS = 300.0


def _epoch(rfc3339: str) -> float:
    # The engine gives nanoseconds; datetime takes microseconds.
    head, _, frac = rfc3339.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head + "+00:00").timestamp()
    return base + float("0." + (frac or "0"))


def start_once(sessions: Sessions, project: str, name: str, firewall: bool) -> tuple[float, float]:
    """(CLI-visible start, container start -> agent ready), in seconds."""
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
    started = _epoch(sessions.api.inspect_container(name)["State"]["StartedAt"])
    out = sessions.client.containers.get(name).exec_run(["stat", "-c", "%.9Y", STATUS_FILE])
    ready = float(out.output.decode())
    return elapsed, ready - started


def apply_inside(sessions: Sessions, name: str, runs: int) -> float:
    container = sessions.client.containers.get(name)
    times = []
    script = (
        "s=$EPOCHREALTIME; /usr/local/lib/claudex/firewall.sh apply >/dev/null; "
        "echo $s $EPOCHREALTIME"
    )
    for _ in range(runs):
        result = container.exec_run(["bash", "-c", script], user="root")
        start, end = (float(x) for x in result.output.split())
        times.append(end - start)
    return statistics.median(times)


def _ms(values: list[float]) -> str:
    return ", ".join(f"{x * 1000:.0f}" for x in values)


def _report(label: str, on: list[float], off: list[float]) -> float:
    m_on, m_off = statistics.median(on) * 1000, statistics.median(off) * 1000
    print(label)
    print(f"  with firewall     {m_on:7.0f} ms   (runs: {_ms(on)})")
    print(f"  without firewall  {m_off:7.0f} ms   (runs: {_ms(off)})")
    print(f"  difference        {m_on - m_off:+7.0f} ms   ratio {m_on / m_off:.2f}")
    return m_on - m_off


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="sessions per variant")
    args = parser.parse_args()
    sessions = Sessions(connect())
    cli: dict[bool, list[float]] = {True: [], False: []}
    inner: dict[bool, list[float]] = {True: [], False: []}
    names: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        project = os.path.join(tmp, "proj")
        os.mkdir(project)
        if os.geteuid() == 0:
            os.chown(project, 4242, 4242)  # the agent never runs as root
        try:
            # Warm-up (page cache, network present), not counted.
            for fw in (True, False):
                name = f"claudexbench-fw-warm-{int(fw)}"
                names.append(name)
                start_once(sessions, project, name, fw)
                sessions.remove(name, force=True)
            last = ""
            for i in range(args.runs):
                for fw in (True, False) if i % 2 else (False, True):  # alternate the order
                    name = f"claudexbench-fw-{i}-{int(fw)}"
                    names.append(name)
                    outer, inside = start_once(sessions, project, name, fw)
                    cli[fw].append(outer)
                    inner[fw].append(inside)
                    if fw:
                        if last:
                            sessions.remove(last, force=True)
                        last = name
                    else:
                        sessions.remove(name, force=True)
            apply = apply_inside(sessions, last, args.runs)
        finally:
            for name in names:
                with contextlib.suppress(Exception):
                    sessions.remove(name, force=True)
    print(f"{args.runs} sessions each, allow list of {len(DEFAULT_ALLOW)} names, median:")
    _report("session start as the CLI sees it:", cli[True], cli[False])
    added = _report("inside the container, engine start -> agent ready:", inner[True], inner[False])
    print(f"firewall.sh apply alone, in a running session: {apply * 1000:.0f} ms")
    verdict = "ok" if added <= BUDGET_MS else "EXCEEDED"
    print(f"budget: the firewall adds at most {BUDGET_MS:.0f} ms to the agent's start: {verdict}")
    return 0 if added <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
