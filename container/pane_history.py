"""A session's terminal history: the agent's tmux pane captured with its colours
(`tmux capture-pane -p -e -J`), for the dashboard's History view.

The capture is the agent's own output, read from a tmux server the agent runs (and could
replace with anything that answers on its socket), so it is hostile input:
- it runs as the agent's uid (the session's label), never as root: root would be a client of
  a server the agent controls, under /tmp, a directory the agent writes;
- at most `HISTORY_BYTES` are kept (the newest, the end of the capture) and the exec is cut off
  after `CAPTURE_SECONDS`: the dashboard keeps the bytes in memory and parses them, so neither
  its memory nor the time before the view shows may follow what the agent prints;
- the stream is read from the exec's socket with a deadline, so a server that never answers
  (or answers one byte at a time) cannot hold the worker.
"""

from __future__ import annotations

import select
import struct
import time
from typing import TYPE_CHECKING, Any

from container import labels
from container.diff_text import printable
from container.engine import engine_errors
from container.errors import ClaudexError
from container.exec_channel import close_exec

if TYPE_CHECKING:
    import docker

DEFAULT_LINES = 10_000
# What tmux keeps (history-limit in context/claudex/tmux.conf): asking for more gives no more.
MAX_LINES = 50_000
# 10,000 lines of 200 columns with a colour change every few cells stays well under this; what
# goes beyond is the agent flooding: the oldest part is dropped.
HISTORY_BYTES = 4 * 1024 * 1024
CAPTURE_SECONDS = 15.0
ERROR_BYTES = 4096
_READ = 64 * 1024


class HistoryError(ClaudexError):
    """The history could not be read (no agent terminal, engine gone, too slow)."""


def capture_command(lines: int) -> list[str]:
    """The tmux capture of the agent's pane: colours (-e), wrapped lines joined (-J), from
    `lines` lines back in the history to the end of the screen."""
    lines = max(1, min(int(lines), MAX_LINES))
    # `timeout` ends the client if the server never answers; the host-side deadline below
    # covers the agent killing `timeout` (same uid) too.
    return [
        "timeout", "-s", "KILL", str(int(CAPTURE_SECONDS)),
        "tmux", "capture-pane", "-p", "-e", "-J", "-S", f"-{lines}", "-t", "agent",
    ]  # fmt: skip


def agent_user(session: labels.SessionInfo) -> str:
    """The agent's "uid:gid" from the session's label; refused if missing or root."""
    user = labels.agent_user(session.labels)
    if user is None:
        raise HistoryError(
            f"session {session.name} has no agent user to read its terminal history as"
        )
    return user


def capture_history(
    client: docker.DockerClient,
    session: labels.SessionInfo,
    lines: int = DEFAULT_LINES,
    *,
    limit: int = HISTORY_BYTES,
    seconds: float = CAPTURE_SECONDS,
) -> bytes:
    """The agent pane's history with colours (blocks: for a worker thread); at most `limit`
    bytes, the newest kept. Raises HistoryError."""
    user = agent_user(session)
    api = getattr(client, "api", client)
    with engine_errors(f"reading the terminal history of {session.name}"):
        exec_id = api.exec_create(
            session.id, capture_command(lines), stdout=True, stderr=True, user=user, workdir="/"
        )["Id"]
        response = api.exec_start(exec_id, socket=True)
        sock = getattr(response, "_sock", response)
        try:
            out, err, complete = _read_frames(sock, limit, time.monotonic() + seconds)
        finally:
            close_exec(sock, response)
        code = api.exec_inspect(exec_id).get("ExitCode") if complete else None
    if not complete:
        raise HistoryError(
            f"reading the terminal history of {session.name} took more than {seconds:g}s"
        )
    if code:
        message = printable(err.decode(errors="replace").strip())[:300] or f"exit {code}"
        if "no server running" in message or "can't find session" in message:
            message = "the agent's terminal is not running"
        raise HistoryError(f"cannot read the terminal history of {session.name}: {message}")
    return bytes(out)


def _read_frames(sock: Any, limit: int, deadline: float) -> tuple[bytearray, bytearray, bool]:
    """Docker's multiplexed stream (8-byte header: stream, 0, 0, 0, big-endian size) until
    its end or the deadline: stdout (its last `limit` bytes), stderr (its first
    ERROR_BYTES), and whether it ended."""
    out = bytearray()
    err = bytearray()
    pending = bytearray()
    cut = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out, err, False
        try:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                continue
            chunk = sock.recv(_READ)
        except (OSError, ValueError):
            chunk = b""
        if not chunk:
            if cut or len(out) > limit:
                del out[: len(out) - limit]
                del out[: out.find(b"\n") + 1]  # start on a whole line
            return out, err, True
        pending += chunk
        while len(pending) >= 8:
            stream, size = pending[0], struct.unpack(">I", pending[4:8])[0]
            if len(pending) < 8 + size:
                break
            payload = pending[8 : 8 + size]
            del pending[: 8 + size]
            if stream == 2:
                err += payload[: max(0, ERROR_BYTES - len(err))]
            else:
                out += payload
                if len(out) > 2 * limit:  # trimmed now and then, not per frame
                    del out[: len(out) - limit]
                    cut = True
