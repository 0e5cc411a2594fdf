"""`LocalPty`: a local program on a pseudo-terminal (ptyprocess), as a `TerminalChannel`."""

from __future__ import annotations

import errno
import os
import select
from collections.abc import Mapping, Sequence

from ptyprocess import PtyProcess

from widgets.terminal.channel import READ_SIZE

TERM = "xterm-256color"


class LocalPty:
    """Runs `argv` on a new PTY.

    Args:
        argv: the program and its arguments.
        env: the environment (default: ours); TERM and COLORTERM are set to what the emulator
            understands.
        cwd: working directory.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(os.environ if env is None else env)
        self.env.update(TERM=TERM, COLORTERM="truecolor")
        self.cwd = os.fspath(cwd) if cwd is not None else None
        self._process: PtyProcess | None = None
        self._exit_code: int | None = None

    @property
    def process(self) -> PtyProcess | None:
        return self._process

    def start(self, rows: int, columns: int) -> None:
        # ptyprocess wants (rows, cols); pyte's Screen wants (cols, rows). Keep them apart.
        self._process = PtyProcess.spawn(
            self.argv, env=self.env, cwd=self.cwd, dimensions=(rows, columns)
        )

    def read(self, timeout: float | None) -> bytes | None:
        process = self._require()
        try:
            ready, _, _ = select.select([process.fd], [], [], timeout)
        except (OSError, ValueError):
            return b""  # the fd was closed under us
        if not ready:
            return None
        try:
            return os.read(process.fd, READ_SIZE)
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):
                return b""  # Linux reports the slave side closing as EIO
            raise

    def write(self, data: bytes) -> None:
        fd = self._require().fd
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def resize(self, rows: int, columns: int) -> None:
        self._require().setwinsize(rows, columns)

    def close(self) -> None:
        process = self._process
        if process is not None and not process.closed:
            process.close(force=True)

    @property
    def exit_code(self) -> int | None:
        process = self._process
        if process is None:
            return None
        if self._exit_code is None:
            if not process.terminated:
                try:
                    process.wait()
                except Exception:
                    return None  # reaped elsewhere
            status, signal = process.exitstatus, process.signalstatus
            if status is None and signal is None:
                return None
            self._exit_code = status if status is not None else -(signal or 0)
        return self._exit_code

    def _require(self) -> PtyProcess:
        if self._process is None:
            raise RuntimeError("LocalPty.start() was not called")
        return self._process
