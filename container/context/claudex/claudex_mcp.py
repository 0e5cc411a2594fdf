#!/usr/bin/python3 -I
"""`claudex-mcp NAME`: the stdio command agents run for an MCP server. It asks the session's
broker to start NAME and then copies bytes between its own stdin/stdout and the server's: the
agent holds a pipe, never a handle on the engine. Runs as the agent; standard library only."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading

BROKER = os.path.join(os.environ.get("CLAUDEX_MCP_DIR", "/run/claudex-mcp"), "broker.sock")


def _to_server(sock: socket.socket) -> None:
    try:
        while chunk := os.read(0, 65536):
            sock.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: claudex-mcp NAME", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.connect(BROKER)
    except OSError as exc:
        print(f"claudex-mcp: no MCP broker in this session ({exc.strerror})", file=sys.stderr)
        return 1
    sock.sendall(f"start {argv[1]}\n".encode())
    answer = b""
    while not answer.endswith(b"\n") and len(answer) < 600:
        chunk = sock.recv(1)
        if not chunk:
            break
        answer += chunk
    if answer != b"ok\n":
        text = answer.decode(errors="replace").strip() or "the broker closed the connection"
        print(f"claudex-mcp: {argv[1]}: {text}", file=sys.stderr)
        return 1
    threading.Thread(target=_to_server, args=(sock,), daemon=True).start()
    while chunk := sock.recv(65536):
        os.write(1, chunk)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
