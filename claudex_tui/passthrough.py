"""Pass the user's terminal straight through to an interactive exec (no dashboard)."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import termios
import tty
from collections.abc import Iterator

from container.exec_socket import ExecSocket


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


# Ctrl-]: telnet's escape key, the same key that leaves the dashboard's terminal. Neither
# Claude Code, Codex nor tmux uses it, and it passes through SSH and tmux unchanged.
DETACH = b"\x1d"


def passthrough(handle: ExecSocket) -> int | None:
    """Copy bytes both ways until the exec ends or the user presses Ctrl-] (returns None);
    follow terminal resizes. Returns the exec's exit code."""
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    sock = handle.sock

    def resize(*_args: object) -> None:
        size = shutil.get_terminal_size()
        handle.resize(size.lines, size.columns)

    previous = signal.signal(signal.SIGWINCH, resize)
    resize()
    try:
        with _raw_terminal(stdin):
            while True:
                readable, _, _ = select.select([sock, stdin], [], [])
                if sock in readable:
                    data = sock.recv(1 << 16)
                    if not data:
                        break
                    os.write(stdout, data)
                if stdin in readable:
                    data = os.read(stdin, 1 << 16)
                    if not data:
                        break
                    if DETACH in data:
                        sock.sendall(data.split(DETACH, 1)[0])
                        return None
                    sock.sendall(data)
    except OSError:
        pass  # the stream dropped; the exit code below says what happened
    finally:
        signal.signal(signal.SIGWINCH, previous)
        handle.close()
    code = handle.exit_code()
    return code if code is not None else 0
