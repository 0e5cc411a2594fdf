"""An MCP server to test with (a stdio JSON-RPC echo, built here from the session image) and a
broker started by hand as the host would: shared by tests/security/test_mcp_broker.py and
tests/perf/bench_mcp.py."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import tarfile
import uuid
from collections.abc import Iterator
from typing import Any

import docker

from tests.waiting import wait_for

SERVER = r"""
import json, socket, sys

def reply(id_, result):
    print(json.dumps({"jsonrpc": "2.0", "id": id_, "result": result}), flush=True)

for line in sys.stdin:
    msg = json.loads(line)
    method, id_ = msg.get("method"), msg.get("id")
    if method == "initialize":
        reply(id_, {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                    "serverInfo": {"name": "echo-test", "version": "1"}})
    elif method == "tools/list":
        reply(id_, {"tools": [{"name": "echo", "inputSchema": {"type": "object"}},
                              {"name": "connect", "inputSchema": {"type": "object"}}]})
    elif method == "tools/call" and msg["params"]["name"] == "echo":
        text = msg["params"]["arguments"]["text"]
        reply(id_, {"content": [{"type": "text", "text": "echo: " + text}]})
    elif method == "tools/call" and msg["params"]["name"] == "connect":
        host = msg["params"]["arguments"]["host"]
        try:
            socket.create_connection((host, 8000), timeout=20).close()  # a loaded machine
            text = "connected"
        except OSError as exc:
            text = "refused: " + type(exc).__name__
        reply(id_, {"content": [{"type": "text", "text": text}]})
"""


def rpc(id_: int, method: str, params: dict) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})


def build_echo_image(engine: docker.DockerClient, image: str) -> str:
    """A small stdio MCP server image, built from the session image and SERVER; its tag."""
    tag = f"claudextest-mcp-echo:{uuid.uuid4().hex[:8]}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (
            ("Dockerfile", f'FROM {image}\nCOPY server.py /srv/server.py\nUSER 4242\n'
             'ENTRYPOINT ["python3", "-u", "/srv/server.py"]\n'),
            ("server.py", SERVER),
        ):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data.encode())
            tar.addfile(info, io.BytesIO(data.encode()))
    buf.seek(0)
    engine.images.build(fileobj=buf, custom_context=True, tag=tag, rm=True)
    return tag


@contextlib.contextmanager
def running_broker(
    engine: docker.DockerClient, image: str, name: str, servers: dict[str, Any]
) -> Iterator[None]:
    """A broker started by hand as the host would (its servers' firewalls of `image`)."""
    engine.volumes.create(name)
    try:
        c = engine.containers.run(
            image,
            entrypoint=["python3", "-I", "-B", "/usr/local/lib/claudex/mcp_broker.py"],
            name=name,
            environment={
                "CLAUDEX_MCP_SERVERS": json.dumps(servers),
                "CLAUDEX_MCP_SESSION": name,
                "CLAUDEX_MCP_IMAGE": image,
            },
            volumes={
                "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                name: {"bind": "/run/claudex-mcp", "mode": "rw"},
            },
            network_mode="none",
            detach=True,
        )
        wait_for("the broker", lambda: b"ready: " + ", ".join(sorted(servers)).encode() in c.logs())
        yield
    finally:
        for sib in engine.containers.list(
            all=True, filters={"label": f"com.claudex.mcp-of={name}"}
        ):
            sib.remove(force=True)
        engine.containers.get(name).remove(force=True)
        engine.volumes.get(name).remove(force=True)


def first_answer(sock: socket.socket, request: bytes) -> bytes:
    """Send `request`, read up to the first newline of the answer (framed or not: the text is
    in there either way)."""
    sock.sendall(request)
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data
