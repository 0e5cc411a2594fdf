"""The per-session MCP broker (see the README's design): the only container of a session that
holds the engine's socket. It listens on a socket in a volume the session sees read-only and
carries out one request per connection, `start NAME`, for a NAME the host configured (the
servers come from the host, in CLAUDEX_MCP_SERVERS, never from the request). It answers
`ok` and then bridges the connection to the stdio of a fresh sibling container, or
`refused: WHY`. The sibling is removed when either side closes.

Runs under `python3 -I` (nothing from the environment or the working directory is imported);
standard library only, so it runs in claudex's own image."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # claudex's own, root-owned

from mcp_request import REQUEST_LIMIT, Refused, parse_request

ENGINE = os.environ.get("CLAUDEX_ENGINE_SOCKET", "/var/run/docker.sock")
SOCKET_DIR = os.environ.get("CLAUDEX_MCP_DIR", "/run/claudex-mcp")
SESSION = os.environ.get("CLAUDEX_MCP_SESSION", "session")
MAX_RUNNING = 8  # servers at once per session
MAX_CONNECTIONS = 32  # connections at once (each waits at most 10 s for its request line)
MCP_LABEL = "com.claudex.mcp-of"
# A server with an allow list gets a firewall of its own: a container of claudex's image (the
# host names it) on the session's network that applies the session firewall (firewall.sh) as
# root in that network namespace; the server then joins the namespace, as a non-root uid
# without capabilities, so it can neither change the rules nor use root's DNS path.
FIREWALL_IMAGE = os.environ.get("CLAUDEX_MCP_IMAGE", "")
FIREWALL_CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "SETPCAP", "KILL"]
FIREWALL_CAPS += ["NET_ADMIN", "NET_RAW"]
FIREWALL_READY = b"claudex-mcp-firewall: enforcing"
FIREWALL_TIMEOUT = 30.0
SERVER_USER = "65534:65534"  # nobody: neither root (DNS path) nor the firewall's DNS user
_running = threading.BoundedSemaphore(MAX_RUNNING)
_connections = threading.BoundedSemaphore(MAX_CONNECTIONS)


class _Engine(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost", timeout=60)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(ENGINE)
        self.sock = sock


def api(method: str, path: str, body: object = None) -> object:
    conn = _Engine()
    try:
        data = None if body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        raw = res.read()
    finally:
        conn.close()
    if res.status >= 300:
        raise RuntimeError(f"{method} {path.split('?')[0]}: {res.status} {raw[:200]!r}")
    return json.loads(raw) if raw else None


def attach(cid: str) -> tuple[socket.socket, bytes]:
    """The container's stdin/stdout as a raw (hijacked) engine connection, and any bytes read
    past the response head."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(ENGINE)
    sock.sendall(
        (
            f"POST /containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=0 HTTP/1.1\r\n"
            "Host: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk or len(buf) > 65536:
            raise RuntimeError("attach: no answer from the engine")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status and b" 200 " not in status:
        raise RuntimeError(f"attach: {status[:100]!r}")
    return sock, rest


def start_firewall(name: str, spec: dict) -> str:
    """The firewall container of one run of server `name`, started and enforcing `allow`
    (or an error saying why not); its id."""
    if not FIREWALL_IMAGE or not spec.get("network"):
        raise RuntimeError(f"{name} has an allow list but this broker has no firewall image")
    body = {
        "Image": FIREWALL_IMAGE,
        "Entrypoint": ["/bin/bash", "-c"],
        "Cmd": [
            "out=$(/usr/local/lib/claudex/firewall.sh apply 2>&1) || "
            "{ printf '%s\\n' \"$out\" | tail -n 3; exit 1; }; "
            f"echo '{FIREWALL_READY.decode()}'; exec sleep infinity"
        ],
        "Env": ["CLAUDEX_ALLOW=" + ",".join(spec["allow"])],
        "Labels": {MCP_LABEL: SESSION, "com.claudex.mcp-firewall": name},
        "HostConfig": {
            "NetworkMode": spec["network"],
            "Init": True,
            "CapDrop": ["ALL"],
            "CapAdd": FIREWALL_CAPS,
            "SecurityOpt": ["no-new-privileges"],
            "Tmpfs": {"/run/claudex": "mode=0755,size=1m"},
            "PidsLimit": 128,
        },
    }
    cname = f"{SESSION}-mcp-{name}-fw-{secrets.token_hex(3)}"
    made = api("POST", f"/containers/create?name={cname}", body)
    assert isinstance(made, dict)
    fid = str(made["Id"])
    api("POST", f"/containers/{fid}/start")
    deadline = time.monotonic() + FIREWALL_TIMEOUT
    while time.monotonic() < deadline:
        logs = _logs(fid)
        if FIREWALL_READY in logs:
            return fid
        state = api("GET", f"/containers/{fid}/json")
        assert isinstance(state, dict)
        if not state["State"]["Running"]:
            why = logs.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise _FirewallFailed(fid, f"the firewall of {name} was not applied: {why[0][:200]}")
        time.sleep(0.05)
    raise _FirewallFailed(
        fid, f"the firewall of {name} was not applied within {FIREWALL_TIMEOUT:.0f} s"
    )


class _FirewallFailed(RuntimeError):
    def __init__(self, fid: str, message: str) -> None:
        super().__init__(message)
        self.fid = fid


def _logs(cid: str) -> bytes:
    """The container's output (stdout and stderr, frame headers left in: searched only)."""
    conn = _Engine()
    try:
        conn.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1&tail=20")
        return conn.getresponse().read()[:65536]
    finally:
        conn.close()


def create(name: str, spec: dict, firewall: str | None = None) -> str:
    """A sibling for `spec` (written by the host): no network unless the host gave an allow
    list (then the namespace of its firewall container), no capabilities, no new privileges,
    only its configured mounts."""
    body: dict = {
        "Image": spec["image"],
        "Env": spec.get("env", []),
        "OpenStdin": True,
        "StdinOnce": True,
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": False,
        "Tty": False,
        "Labels": {MCP_LABEL: SESSION, "com.claudex.mcp-server": name},
        "HostConfig": {
            "NetworkMode": f"container:{firewall}" if firewall else "none",
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "Binds": spec.get("binds", []),
            "PidsLimit": 512,
        },
    }
    if spec.get("command"):
        body["Cmd"] = spec["command"]
    if firewall:
        body["User"] = SERVER_USER
    cname = f"{SESSION}-mcp-{name}-{secrets.token_hex(3)}"
    made = api("POST", f"/containers/create?name={cname}", body)
    assert isinstance(made, dict)
    return str(made["Id"])


def _pump_in(client: socket.socket, engine: socket.socket) -> None:
    """The agent's bytes to the server's stdin; its end closes the server's stdin."""
    try:
        while chunk := client.recv(65536):
            engine.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            engine.shutdown(socket.SHUT_WR)


def _recv_exact(sock: socket.socket, n: int, pending: bytearray) -> bytes | None:
    while len(pending) < n:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        pending += chunk
    out = bytes(pending[:n])
    del pending[:n]
    return out


def _pump_out(engine: socket.socket, client: socket.socket, rest: bytes) -> None:
    """The server's stdout (the engine's multiplexed frames) to the agent, as plain bytes."""
    pending = bytearray(rest)
    try:
        while True:
            head = _recv_exact(engine, 8, pending)
            if head is None:
                break
            kind, size = head[0], struct.unpack(">I", head[4:])[0]
            body = _recv_exact(engine, size, pending)
            if body is None:
                break
            if kind == 1:
                client.sendall(body)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)


def _read_line(conn: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\n") and len(line) <= REQUEST_LIMIT:
        chunk = conn.recv(1)
        if not chunk:
            break
        line += chunk
    return line


def serve(conn: socket.socket, servers: dict) -> None:
    cid = fid = None
    try:
        conn.settimeout(10)
        line = _read_line(conn)
        conn.settimeout(None)
        try:
            name = parse_request(line, servers)
        except Refused as exc:
            print(f"refused: {exc}", flush=True)
            conn.sendall(f"refused: {exc}\n".encode())
            return
        if not _running.acquire(blocking=False):
            conn.sendall(f"refused: {MAX_RUNNING} servers are running already\n".encode())
            return
        try:
            if servers[name].get("allow"):
                try:
                    fid = start_firewall(name, servers[name])
                except _FirewallFailed as exc:
                    fid = exc.fid
                    raise
            cid = create(name, servers[name], fid)
            engine, rest = attach(cid)
            api("POST", f"/containers/{cid}/start")
            conn.sendall(b"ok\n")
            print(f"started {name} ({cid[:12]})", flush=True)
            inbound = threading.Thread(target=_pump_in, args=(conn, engine), daemon=True)
            inbound.start()
            _pump_out(engine, conn, rest)
            engine.close()
        finally:
            _running.release()
    except Exception as exc:  # the engine refused, the agent went: answer if possible, go on
        print(f"error: {exc}", flush=True)
        with contextlib.suppress(OSError):
            conn.sendall(f"refused: {exc}\n".encode()[:500])
    finally:
        conn.close()
        _connections.release()
        for made in (cid, fid):  # the server first: its namespace is the firewall's
            if made:
                try:
                    api("DELETE", f"/containers/{made}?force=1&v=1")
                except Exception as exc:
                    print(f"error removing {made[:12]}: {exc}", flush=True)


def main() -> int:
    servers = json.loads(os.environ.get("CLAUDEX_MCP_SERVERS") or "{}")
    path = os.path.join(SOCKET_DIR, "broker.sock")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    os.chmod(path, 0o666)  # the agent connects; the volume is read-only for it
    listener.listen(16)
    print(f"ready: {', '.join(sorted(servers)) or 'no servers'}", flush=True)
    while True:
        conn, _ = listener.accept()
        if not _connections.acquire(blocking=False):  # a flood costs the agent, not the broker
            with contextlib.suppress(OSError):
                conn.sendall(b"refused: too many connections\n")
            conn.close()
            continue
        threading.Thread(target=serve, args=(conn, servers), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
