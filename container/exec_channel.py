"""`DockerExec`: a program in a container on a TTY, as a terminal channel.

It satisfies `widgets.terminal.channel.TerminalChannel` structurally (this layer imports
neither Textual nor widgets). Every call blocks and is meant for the terminal pump's threads.

docker-py details that matter:
- `exec_create(tty=True, stdin=True)` then `exec_start(tty=True, socket=True)` gives the
  hijacked connection. With a TTY the stream is raw (no multiplexing headers).
- `exec_start` returns a `SocketIO` wrapper (no `sendall`, buffered); its `_sock` is the real
  socket. Its timeout is docker-py's request timeout (60 s by default), which would kill an
  idle shell, so it is set to None.
- Bytes the program writes before the upgrade completes can be lost (docker-py#3332), so
  after attaching we resize, which sends SIGWINCH: full-screen programs (tmux) redraw.
- `exec_resize(height, width)` — rows first.
- The engine keeps a TTY exec running after its client left (closing the connection does not
  hang up the TTY): every `tmux attach` would stay as a client, every shell would stay. So a
  guard exec without a TTY runs beside it, as the same user: the engine does close a plain
  exec's stdin when its client goes, whatever ends the client (close, crash, SIGKILL, SSH
  drop), and the guard then hangs up the processes that carry this exec's marker variable.
"""

from __future__ import annotations

import contextlib
import secrets
import select
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from container import scripts

READ_SIZE = 64 * 1024
MARKER = "CLAUDEX_EXEC"

# Hangs up the exec's processes once its client is gone (see the script for how).
_GUARD_SCRIPT = scripts.source("exec_guard.sh")


def _api(client: Any) -> Any:
    """The low-level APIClient, from either a DockerClient or an APIClient."""
    return getattr(client, "api", client)


class DockerExec:
    """Runs `command` in a running container on a new TTY.

    Args:
        client: a `docker.DockerClient` or `docker.APIClient`.
        container: container id or name.
        command: argv to run, e.g. ["tmux", "attach", "-t", "agent"].
        user: user to run as ("agent", "1000:1000"); default: the container's.
        environment: extra environment variables (TERM is set to xterm-256color unless given).
        workdir: working directory inside the container.
    """

    def __init__(
        self,
        client: Any,
        container: str,
        command: Sequence[str],
        *,
        user: str | None = None,
        environment: Mapping[str, str] | None = None,
        workdir: str | None = None,
    ) -> None:
        self.api = _api(client)
        self.container = container
        self.command = list(command)
        self.user = user
        self.environment = {
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            **(environment or {}),
        }
        self.workdir = workdir
        self.marker = secrets.token_hex(8)
        self.environment[MARKER] = self.marker
        self.exec_id: str | None = None
        self._sock: socket.socket | None = None
        self._response: Any = None  # keeps docker-py's wrapper (and the connection) alive
        self._guard: tuple[Any, Any] | None = None  # (socket, response) of the guard exec
        self._closed = False  # close() may come while start() is still connecting

    def start(self, rows: int, columns: int) -> None:
        created = self.api.exec_create(
            self.container,
            self.command,
            stdin=True,
            tty=True,
            user=self.user or "",
            environment=self.environment,
            workdir=self.workdir,
        )
        self.exec_id = created["Id"]
        self._response = self.api.exec_start(self.exec_id, tty=True, socket=True)
        raw = getattr(self._response, "_sock", self._response)
        raw.settimeout(None)
        self._sock = raw
        self._start_guard()
        if self._closed:  # closed while connecting: the guard must still hang it up
            self.close()
            return
        # A program that already exited cannot be resized; its output is still there to read.
        with contextlib.suppress(Exception):
            self.resize(rows, columns)

    def _start_guard(self) -> None:
        """The exec that ends this one's processes once our connection to it is gone. Best
        effort: a session that is stopping has nothing left to end."""
        with contextlib.suppress(Exception):
            guard_id = self.api.exec_create(
                self.container,
                ["bash", "-c", _GUARD_SCRIPT, "claudex-guard", MARKER, self.marker],
                stdin=True,
                user=self.user or "",
                workdir="/",
            )["Id"]
            response = self.api.exec_start(guard_id, socket=True)
            self._guard = (getattr(response, "_sock", response), response)
            self._guard[0].settimeout(None)

    def read(self, timeout: float | None) -> bytes | None:
        sock = self._require()
        try:
            ready, _, _ = select.select([sock], [], [], timeout)
        except (OSError, ValueError):
            return b""  # closed under us
        if not ready:
            return None
        try:
            return sock.recv(READ_SIZE)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        self._require().sendall(data)

    def resize(self, rows: int, columns: int) -> None:
        if self.exec_id is not None:
            self.api.exec_resize(self.exec_id, height=rows, width=columns)

    def close(self) -> None:
        """Leaves the program: the guard sees its stdin end and hangs it up."""
        self._closed = True
        sock, self._sock = self._sock, None
        guard, self._guard = self._guard, None
        close_exec(sock, self._response)
        if guard is not None:
            close_exec(*guard)

    @property
    def exit_code(self) -> int | None:
        if self.exec_id is None:
            return None
        code = self.api.exec_inspect(self.exec_id).get("ExitCode")
        return code if isinstance(code, int) else None

    def fileno(self) -> int:
        """The socket's descriptor, so callers can select() on it with other files."""
        return self._require().fileno()

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise RuntimeError("DockerExec is not started (or was closed)")
        return self._sock


def close_exec(sock: Any, response: Any) -> None:
    """Close an exec's socket and its HTTP response, whatever state they are in."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
    if response is not None:
        with contextlib.suppress(Exception):
            response.close()
