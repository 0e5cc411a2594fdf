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

from container.exec_channel import DockerExec

# Ctrl-]: telnet's escape key, the same key that leaves the dashboard's terminal. Neither
# Claude Code, Codex nor tmux uses it, and it passes through SSH and tmux unchanged.
DETACH = b"\x1d"


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        # TCSANOW, not setraw's default TCSAFLUSH: keys typed while the exec was starting
        # are kept and passed on, not thrown away.
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def passthrough(channel: DockerExec) -> int | None:
    """Copy bytes both ways until the exec ends (returns its exit code) or the user presses
    Ctrl-] (returns None); terminal resizes follow."""
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()

    def resize(*_args: object) -> None:
        size = shutil.get_terminal_size()
        with contextlib.suppress(Exception):
            channel.resize(size.lines, size.columns)

    size = shutil.get_terminal_size()
    channel.start(size.lines, size.columns)
    previous = signal.signal(signal.SIGWINCH, resize)
    try:
        with _raw_terminal(stdin):
            while True:
                readable, _, _ = select.select([channel, stdin], [], [])
                if channel in readable:
                    data = channel.read(0)
                    if not data:
                        break
                    os.write(stdout, data)
                if stdin in readable:
                    data = os.read(stdin, 1 << 16)
                    if not data:
                        break
                    if DETACH in data:
                        channel.write(data.split(DETACH, 1)[0])
                        return None
                    channel.write(data)
    except OSError:
        pass  # the stream dropped; the exit code below says what happened
    finally:
        signal.signal(signal.SIGWINCH, previous)
        channel.close()
    with contextlib.suppress(Exception):
        code = channel.exit_code
        return code if code is not None else 0
    return 1
