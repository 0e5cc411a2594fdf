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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # claudex's own, root-owned

from mcp_request import REQUEST_LIMIT, Refused, parse_request

ENGINE = os.environ.get("CLAUDEX_ENGINE_SOCKET", "/var/run/docker.sock")
SOCKET_DIR = os.environ.get("CLAUDEX_MCP_DIR", "/run/claudex-mcp")
SESSION = os.environ.get("CLAUDEX_MCP_SESSION", "session")
MAX_RUNNING = 8  # servers at once per session
MAX_CONNECTIONS = 32  # connections at once (each waits at most 10 s for its request line)
MCP_LABEL = "com.claudex.mcp-of"
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


def create(name: str, spec: dict) -> str:
    """A sibling for `spec` (written by the host): no network unless the host gave one, no
    capabilities, no new privileges, only its configured mounts."""
    body = {
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
            "NetworkMode": spec.get("network") or "none",
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "Binds": spec.get("binds", []),
            "PidsLimit": 512,
        },
    }
    if spec.get("command"):
        body["Cmd"] = spec["command"]
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
    cid = None
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
            cid = create(name, servers[name])
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
        if cid:
            try:
                api("DELETE", f"/containers/{cid}?force=1&v=1")
            except Exception as exc:
                print(f"error removing {cid[:12]}: {exc}", flush=True)


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
