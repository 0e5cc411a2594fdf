"""Interactive docker exec: a TTY exec whose raw socket carries the terminal's bytes both ways."""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from container.engine import engine_errors

if TYPE_CHECKING:
    from docker import APIClient


@dataclass
class ExecSocket:
    """An exec started with a TTY; `sock` is a real socket (sendall, recv, fileno)."""

    api: APIClient
    exec_id: str
    sock: socket.socket

    def resize(self, rows: int, cols: int) -> None:
        # The exec may have ended already: resizing is best effort.
        with contextlib.suppress(Exception):
            self.api.exec_resize(self.exec_id, height=rows, width=cols)

    def exit_code(self) -> int | None:
        try:
            return self.api.exec_inspect(self.exec_id).get("ExitCode")
        except Exception:
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def open_exec(
    api: APIClient,
    container_id: str,
    cmd: list[str],
    *,
    user: str = "",
    environment: dict[str, str] | None = None,
    workdir: str | None = None,
    rows: int = 24,
    cols: int = 80,
) -> ExecSocket:
    """Start `cmd` in the container with a TTY and return its socket."""
    env = {"TERM": "xterm-256color", **(environment or {})}
    with engine_errors("starting a terminal in the session"):
        created = api.exec_create(
            container_id, cmd, stdin=True, tty=True, user=user, environment=env, workdir=workdir
        )
        exec_id = created["Id"]
        raw = api.exec_start(exec_id, tty=True, socket=True)
    # docker-py hands back a SocketIO wrapper; the real socket has sendall and a fileno.
    sock = getattr(raw, "_sock", raw)
    sock.settimeout(None)  # the default 60 s timeout would kill an idle shell
    handle = ExecSocket(api, exec_id, sock)
    handle.resize(rows, cols)
    return handle
