"""The byte channel between a terminal widget and a program, and the threads that drive it.

A channel is anything with a terminal on the other end: a local PTY (`LocalPty`) or a docker
exec with a TTY (`container.exec_channel.DockerExec`). Its calls may block (network, full PTY
buffers), so the widget never calls them on the event loop: a `ChannelPump` owns one reader
thread (which also starts the channel) and one writer thread (writes and resizes, in order).

The reader batches output for up to ~1/60 s while more keeps coming, so a flood of small
writes reaches the widget as about one chunk per frame, and delivers it with a short quiet gap
so typed echo is not delayed a whole frame.

No Textual import here: the pump calls plain callbacks, and the widget turns them into
messages.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

READ_SIZE = 64 * 1024
BATCH_SECONDS = 1 / 60
QUIET_SECONDS = 0.002  # deliver early when the program pauses this long
MAX_BATCH = 256 * 1024
POLL_SECONDS = 0.25  # how often a blocked reader re-checks for close()


@runtime_checkable
class TerminalChannel(Protocol):
    """A program on the far side of a terminal.

    All methods may block and are called from the pump's threads, never the event loop.
    Sizes are always (rows, columns).
    """

    def start(self, rows: int, columns: int) -> None:
        """Start (or attach to) the program with a terminal of this size."""

    def read(self, timeout: float | None) -> bytes | None:
        """Wait up to `timeout` seconds for output (forever if None). Returns up to 64 KiB of
        bytes, None if nothing came in time, or b"" once the program's output has ended."""

    def write(self, data: bytes) -> None:
        """Send input (keys, pastes, replies to terminal queries) to the program."""

    def resize(self, rows: int, columns: int) -> None:
        """Tell the program its terminal changed size (SIGWINCH)."""

    def close(self) -> None:
        """Detach and release everything; a blocked read() returns soon after."""

    @property
    def exit_code(self) -> int | None:
        """The program's exit status once it has ended, if known."""


OutputCallback = Callable[[bytes], None]
EndedCallback = Callable[[int | None, str | None], None]


class ChannelPump:
    """Drives a `TerminalChannel` from two daemon threads.

    Args:
        channel: the channel to drive.
        on_output: called from the reader thread with each batch of output.
        on_ended: called once from the reader thread when the channel ends, with the exit
            code (if known) and an error message (if starting or reading failed).
    """

    def __init__(
        self, channel: TerminalChannel, on_output: OutputCallback, on_ended: EndedCallback
    ) -> None:
        self.channel = channel
        self._on_output = on_output
        self._on_ended = on_ended
        self._commands: queue.Queue[tuple[str, bytes | tuple[int, int]] | None] = queue.Queue()
        self._started = threading.Event()
        self._closed = threading.Event()
        self._reader: threading.Thread | None = None
        self._writer: threading.Thread | None = None

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def start(self, rows: int, columns: int) -> None:
        self._reader = threading.Thread(
            target=self._read_loop, args=(rows, columns), name="terminal-reader", daemon=True
        )
        self._writer = threading.Thread(
            target=self._write_loop, name="terminal-writer", daemon=True
        )
        self._reader.start()
        self._writer.start()

    def write(self, data: bytes) -> None:
        """Queue input; never blocks."""
        if data and not self.closed:
            self._commands.put(("write", data))

    def resize(self, rows: int, columns: int) -> None:
        if not self.closed:
            self._commands.put(("resize", (rows, columns)))

    def close(self) -> None:
        """Stop both threads and close the channel; does not wait for them."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._commands.put(None)
        # Closing is best effort: the program may already be gone.
        with contextlib.suppress(Exception):
            self.channel.close()

    def join(self, timeout: float | None = None) -> None:
        for thread in (self._reader, self._writer):
            if thread is not None:
                thread.join(timeout)

    def _read_loop(self, rows: int, columns: int) -> None:
        error: str | None = None
        try:
            self.channel.start(rows, columns)
            self._started.set()
            self._pump_output()
        except Exception as exc:  # reported to the widget, which shows it
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self._started.set()  # release the writer even when start failed
        if self.closed:
            return  # closed on purpose: nobody is listening any more
        code = None
        with contextlib.suppress(Exception):  # the code is a nicety; the end is what matters
            code = self.channel.exit_code
        self._commands.put(None)
        self._on_ended(code, error)

    def _pump_output(self) -> None:
        read = self.channel.read
        while not self.closed:
            first = read(POLL_SECONDS)
            if first is None:
                continue
            if not first:
                return
            batch = [first]
            size = len(first)
            deadline = time.monotonic() + BATCH_SECONDS
            ended = False
            while size < MAX_BATCH:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                more = read(min(remaining, QUIET_SECONDS))
                if more is None:
                    break
                if not more:
                    ended = True
                    break
                batch.append(more)
                size += len(more)
            self._on_output(b"".join(batch))
            if ended:
                return

    def _write_loop(self) -> None:
        self._started.wait()
        while True:
            command = self._commands.get()
            if command is None or self.closed:
                return
            _kind, arg = command
            try:
                if isinstance(arg, bytes):
                    self.channel.write(arg)
                elif isinstance(arg, tuple):
                    self.channel.resize(*arg)
            except Exception:
                pass  # the reader notices a dead channel and reports the end
