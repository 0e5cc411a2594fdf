"""Denial of service (issue 12, attack 6): nothing the agent can make grow slows claudex.

The agent floods its firewall: 200,000 DNS queries for random names (the full flood of the
issue: a few seconds here, queries sent without waiting for each answer) and 20,000 packets
to random addresses and ports. Afterwards `claudex firewall status` answers within 1 s and
prints a bounded number of lines, the Firewall tab's panel shows the status read after the
flood within 1 s, and what the container keeps is capped (refused names aggregated, at most
BLOCK_MAX destinations per family, no query log).

A FIFO, a link to /dev/zero or a 1 GB sparse file named `.claudex.toml` in a directory makes
`claudex DIR` fail at once with one clear message, where a FIFO used to hang it forever.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from textual.app import App, ComposeResult

from container import firewall, firewall_model
from container.firewall_model import FirewallStatus
from container.sessions import Sessions
from tests.conftest import TEST_PREFIX
from tests.security.conftest import CLI, as_agent, as_root
from widgets.firewall_panel import ROWS, FirewallPanel, blocked_table

QUERIES = 200_000
PACKETS = 20_000

# As the agent: DNS queries for random names to the session's resolver, up to 64 in flight
# (an answer lost under load does not stall it), then UDP packets to random destinations.
FLOOD = r"""
import os, random, select, socket, struct, sys, time
n, packets = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.connect(("127.0.0.1", 53))
s.setblocking(False)
tag = os.urandom(3).hex()
sent = got = 0
while got < n:
    while sent < n and sent - got < 64:
        label = f"q{sent:x}{tag}".encode()
        s.send(struct.pack(">HHHHHH", sent & 0xFFFF, 0x0100, 1, 0, 0, 0) + bytes([len(label)])
               + label + b"\x05flood\x07example\x00\x00\x01\x00\x01")
        sent += 1
    if not select.select([s], [], [], 1.0)[0]:
        got = max(got, sent - 32)  # answers lost: go on
        continue
    while True:
        try:
            s.recv(512)
            got += 1
        except BlockingIOError:
            break
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(packets):
    try:
        a, b, c = random.randrange(256), random.randrange(256), random.randrange(1, 255)
        u.sendto(b"x", (f"10.{a}.{b}.{c}", random.randrange(1, 65536)))
    except OSError:
        pass
print("flooded")
"""


@pytest.fixture
def session(cli: CLI, project: Path, engine: docker.DockerClient) -> Iterator[str]:
    name = f"{TEST_PREFIX}-flood-{uuid.uuid4().hex[:6]}"
    res = cli(str(project), "--name", name, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    yield name
    engine.api.remove_container(name, force=True, v=True)


def timed_status(cli: CLI, name: str, *args: str) -> tuple[float, str]:
    """The best of three runs of `claudex firewall status` (the machine is shared)."""
    best, out = float("inf"), ""
    for _ in range(3):
        t = time.perf_counter()
        res = cli("firewall", "status", name, *args)
        best = min(best, time.perf_counter() - t)
        assert res.code == 0, res.text
        out = res.out
    return best, out


class PanelApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FirewallPanel(id="fw")


async def panel_refresh(status: FirewallStatus) -> float:
    """How long the Firewall panel takes to show `status` (the best of three)."""
    best = float("inf")
    app = PanelApp()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(FirewallPanel)
        for _ in range(3):
            t = time.perf_counter()
            panel.show(status)
            await pilot.pause()
            best = min(best, time.perf_counter() - t)
    return best


async def test_a_flood_leaves_status_and_the_firewall_tab_fast(
    cli: CLI, session: str, engine: docker.DockerClient
):
    before, _ = timed_status(cli, session)
    code, out = as_agent(engine, session, f"python3 - {QUERIES} {PACKETS} <<'EOF'\n{FLOOD}\nEOF")
    assert code == 0 and "flooded" in out, out
    info = Sessions(engine).resolve(session)

    def refused() -> int:
        return firewall.read_status(engine, info).refused_total

    deadline = time.monotonic() + 30  # the aggregate follows within a second
    while refused() < QUERIES and time.monotonic() < deadline:
        time.sleep(0.25)
    assert refused() >= QUERIES

    after, table = timed_status(cli, session)
    assert after < 1.0, f"status took {after:.2f}s after the flood ({before:.2f}s before)"
    lines = table.splitlines()
    assert len(lines) < 200 and "more names" in table and "more destinations" in table
    _, raw = timed_status(cli, session, "--format", "json")
    data = json.loads(raw)
    assert len(data["refused_names"]) <= firewall_model.REFUSED_KEEP
    assert data["refused_other_names"] >= QUERIES - firewall_model.REFUSED_KEEP
    assert len(data["blocked"]) <= 2 * firewall_model.BLOCK_MAX
    assert data["rejected_packets"] >= PACKETS * 0.9

    status = firewall.read_status(engine, info)
    seconds = await panel_refresh(status)
    assert seconds < 1.0, f"the Firewall panel took {seconds:.2f}s to show the status"
    assert blocked_table(status).row_count <= ROWS + 2  # the rows, "… N more", the total

    # What the container keeps is capped: the aggregate, the recording sets, no query log.
    code, out = as_root(
        engine,
        session,
        "stat -c %s /var/lib/claudex-dns/refused; wc -l </var/lib/claudex-dns/refused;"
        " ls /var/log/claudex-dns.log 2>&1;"
        " for s in cx-blocked4 cx-last4; do"
        "   ipset list -t $s | sed -n 's/^Number of entries: //p';"
        " done",
    )
    size, rows, log, blocked, last = out.split("\n")[:5]
    assert int(size) < 300_000 and int(rows) <= firewall_model.REFUSED_KEEP + 3, out
    assert "No such file" in log
    assert int(blocked) <= firewall_model.BLOCK_MAX and int(last) <= firewall_model.BLOCK_MAX


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "1 GB sparse file"])
def test_a_hostile_project_file_is_an_error_at_once(cli: CLI, project: Path, kind: str):
    path = project / ".claudex.toml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    else:
        with path.open("wb") as fh:
            fh.truncate(1 << 30)
    want = {
        "fifo": "not a regular file (a FIFO)",
        "link to /dev/zero": "not a regular file (a symbolic link)",
        "1 GB sparse file": "too large (more than 64 KiB)",
    }[kind]
    t = time.monotonic()
    res = cli(str(project), "-d", "--agent", "shell", timeout=60)
    assert time.monotonic() - t < 5
    assert res.code != 0 and f"{path}: cannot be read: {want}" in res.err, res.text
    assert "Traceback" not in res.text
