"""Firewall status tells the truth (issue 12): it is read from the live rules, and says BROKEN,
with what differs, whenever they are not what claudex applied.

Each attack plays an escaped root in the session (`docker exec` as root: what the agent could
do had it become root, as attacks 1 and 2 of the issue did), breaks one part of the firewall
and then writes "enforcing" where the old status was read from. `claudex firewall status`
(table and JSON), the model the dashboard reads and the dashboard itself must all say BROKEN.
The other way round: while status says enforcing, a server the test started is unreachable.
The agent itself cannot block status or edits through the firewall's lock, nor forge what
status reads.

`claudex firewall status` exits 1 for BROKEN, as for failed (see its --help).
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from container import firewall, firewall_model
from container.labels import SessionInfo
from container.sessions import Sessions
from tests.security.conftest import (
    CLI,
    as_agent,
    as_root,
    blocked_server,
)
from tests.waiting import steady, until

PORT = 8000
TAG = secrets.token_hex(3)
# Not the shared test prefix: containers on our network must go before the network does.
PREFIX = f"claudexfwtruth-{TAG}"
NET = PREFIX
FW = "/usr/local/lib/claudex/firewall.sh"


@pytest.fixture(scope="module")
def blocked(engine: docker.DockerClient, image: str) -> Iterator[str]:
    """Our own network with one server, `blocked.test`; its IPv4 address."""
    with blocked_server(engine, image, PREFIX, PORT) as (address, _server):
        yield address


@pytest.fixture
def session(cli: CLI, project: Path, blocked: str, engine: docker.DockerClient) -> Iterator[str]:
    name = f"{PREFIX}-{uuid.uuid4().hex[:6]}"
    res = cli(str(project), "--name", name, "-d", "--agent", "shell", "--network", NET)
    assert res.code == 0, res.text
    yield name
    engine.api.remove_container(name, force=True, v=True)


def connect(engine: docker.DockerClient, name: str, address: str) -> str:
    """What the agent gets connecting to address:PORT: the reply's start or the error."""
    code, out = as_agent(
        engine,
        name,
        "python3 -c '\n"
        "import socket, sys\n"
        "try:\n"
        f'    s = socket.create_connection(("{address}", {PORT}), timeout=3)\n'
        '    s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n"); print(s.recv(12).decode())\n'
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
        "'",
    )
    assert code == 0, out
    return out.strip()


def status_json(cli: CLI, name: str) -> tuple[int, dict[str, Any]]:
    res = cli("firewall", "status", name, "--format", "json")
    assert res.code in (0, 1), res.text
    data: dict[str, Any] = json.loads(res.out)
    return res.code, data


def info(engine: docker.DockerClient, name: str) -> SessionInfo:
    return Sessions(engine).resolve(name)


def test_enforcing_is_true_the_blocked_server_is_unreachable(
    cli: CLI, session: str, blocked: str, engine: docker.DockerClient
):
    code, data = status_json(cli, session)
    assert (code, data["mode"], data["reason"]) == (0, "enforcing", "")
    assert connect(engine, session, blocked) == "ConnectionRefusedError"
    assert as_agent(engine, session, "getent hosts blocked.test")[0] != 0
    res = cli("firewall", "status", session)
    assert res.code == 0 and "firewall  enforcing" in res.out and "BROKEN" not in res.out


def test_the_agent_cannot_hold_the_lock_nor_forge_what_status_reads(
    cli: CLI, session: str, engine: docker.DockerClient
):
    # flock(1) works on a file opened read-only: the lock must not be readable by the agent,
    # or it could stall every status and edit.
    assert status_json(cli, session)[1]["mode"] == "enforcing"  # the lock file exists now
    assert as_root(engine, session, "stat -c %a /run/claudex/firewall.lock")[1].strip() == "600"
    code, out = as_agent(engine, session, "flock -n /run/claudex/firewall.lock true")
    assert code != 0 and "Permission denied" in out, out
    as_agent(engine, session, "nohup flock /run/claudex/firewall.lock sleep 60 >/dev/null 2>&1 &")
    t = time.monotonic()
    assert cli("firewall", "allow", session, "example.org").code == 0
    assert status_json(cli, session)[1]["mode"] == "enforcing"
    assert time.monotonic() - t < 10  # no lock wait (edits wait up to 10 s for it)
    for path in (
        "/run/claudex/dns-log",  # dnsmasq's query log: forged refusals
        "/var/lib/claudex-dns/refused",  # the aggregate status reads
        "/run/claudex/firewall",
        "/run/claudex/firewall-applied",
    ):
        code, out = as_agent(engine, session, f"timeout 2 sh -c 'echo x >> {path}'")
        assert code != 0, (path, out)


ATTACKS = {
    # what the escaped root does: what BROKEN must name
    "output policy ACCEPT": ("iptables -P OUTPUT ACCEPT", "'-P OUTPUT ACCEPT'"),
    "accept rule first": (
        "iptables -I OUTPUT 1 -d {blocked} -j ACCEPT",
        "added '-A OUTPUT -d {blocked}/32 -j ACCEPT'",
    ),
    "IPv6 accept rule": ("ip6tables -I OUTPUT 1 -j ACCEPT", "IPv6 rules differ"),
    "reject rule deleted": ("iptables -D OUTPUT -j CX-BLOCK", "missing '-A OUTPUT -j CX-BLOCK'"),
    "dnsmasq killed": ("kill $(cat /run/claudex/dnsmasq.pid)", "dnsmasq is not running"),
    "dnsmasq replaced": (
        "p=$(cat /run/claudex/dnsmasq.pid); kill $p; while kill -0 $p 2>/dev/null; do :; done;"
        " dnsmasq --conf-file=/run/claudex/dnsmasq.conf",
        "dnsmasq is not the process the firewall started",
    ),
    "allow list set flushed": ("ipset flush cx-allow4", "ipsets differ"),
    "resolv.conf to Docker's DNS": (
        "echo nameserver 127.0.0.11 > /etc/resolv.conf",
        "/etc/resolv.conf does not point at the firewall's DNS",
    ),
    "allow list file edited": (
        "echo 0.0.0.0/0 >> /etc/claudex/firewall/allow",
        "allow list entries differ",
    ),
    "state and record removed": (
        "rm -f /run/claudex/firewall /run/claudex/firewall-applied",
        "no firewall state",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_escaped_root_breaking_the_firewall_shows_as_broken(
    attack: str, cli: CLI, session: str, blocked: str, engine: docker.DockerClient
):
    cmd, reason = (x.format(blocked=blocked) for x in ATTACKS[attack])
    lie = "" if attack == "state and record removed" else "; echo enforcing > /run/claudex/firewall"
    code, out = as_root(engine, session, cmd + lie)
    assert code == 0, out

    code, data = status_json(cli, session)
    assert code == 1 and data["mode"] == "broken", data
    assert reason in data["reason"], data["reason"]
    res = cli("firewall", "status", session)
    assert res.code == 1 and "firewall  BROKEN: " in res.out and reason in res.out, res.text
    # The model the dashboard reads, full and brief (its periodic check of every session).
    assert firewall.read_status(engine, info(engine, session)).mode == firewall_model.BROKEN
    assert firewall.read_status(engine, info(engine, session), brief=True).mode == "broken"
    if attack == "accept rule first":
        # The truth: this firewall really lets the agent out now.
        assert connect(engine, session, blocked) == "HTTP/1.0 200"
    # Live edits refuse a firewall that is not what claudex applied.
    res = cli("firewall", "allow", session, "example.org")
    assert res.code != 0 and "broken" in res.err, res.text


async def test_the_dashboard_shows_broken_and_notifies_once(
    session: str, engine: docker.DockerClient
):
    from claudex_tui.app import ClaudexApp
    from claudex_tui.config import Config
    from widgets.firewall_panel import FirewallPanel

    as_root(engine, session, "iptables -P OUTPUT ACCEPT; echo enforcing > /run/claudex/firewall")
    app = ClaudexApp(config=Config(), client_factory=lambda: engine, select=session)
    told: list[str] = []
    app.notify = lambda message, **kw: told.append(message)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == session, "the session")
        app.session_list.options.focus()
        await pilot.press("w")
        panel = app.query_one(FirewallPanel)
        await until(pilot, lambda: panel.status is not None, "the Firewall tab")
        assert panel.status is not None and panel.status.mode == "broken"
        mode_text = str(panel.query_one("#fw-mode").render())
        assert "BROKEN" in mode_text and "'-P OUTPUT ACCEPT'" in mode_text
        ours = lambda: [m for m in told if session in m and "BROKEN" in m]  # noqa: E731
        await until(pilot, ours, "the notification")
        for _ in range(2):  # checked again (every 15 s, here at once): told only once
            app.dashboard._check_firewalls()
            await until(
                pilot, steady(lambda: not app.dashboard._busy("firewall-check")), "the check"
            )
        assert len(ours()) == 1, told
    assert os.environ.get("CLAUDEX_NAME_PREFIX")  # the app ran with the tests' settings
