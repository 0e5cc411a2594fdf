"""Stopping a transfer: a `CancelToken` checked between chunks, signals turned into the same
stop as Ctrl-C, and cleanups that no signal cuts short.

`interruptions_cancel()` turns SIGTERM and SIGHUP into the same cleanup as Ctrl-C, and keeps
any signal from cutting a cleanup (`uninterrupted()`) short.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from container.errors import ClaudexError


class Cancelled(ClaudexError):
    """The user stopped the transfer; nothing partial was left under a final name."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("transfer cancelled", "files copied before the cancel are kept")


class CancelToken:
    """Set from any thread; the transfer checks it between chunks and stops."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled


class _Shield(threading.local):
    depth = 0
    pending = False


_shield = _Shield()


def _on_signal(signum: int, frame: object) -> None:
    """SIGINT, SIGTERM, SIGHUP: stop the transfer, as Ctrl-C does; during a cleanup, later."""
    if _shield.depth:
        _shield.pending = True
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def interruptions_cancel() -> Iterator[None]:
    """For a command line transfer (main thread): SIGTERM and SIGHUP end it like Ctrl-C
    (KeyboardInterrupt), so its cleanup runs; the default handlers are back afterwards."""
    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _on_signal) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """A signal that comes in here waits until the end: resuming the session and removing
    staged files are never cut short (raised at the end if nothing else is on its way)."""
    _shield.depth += 1
    try:
        yield
    except BaseException:
        _shield.depth -= 1
        if not _shield.depth:
            _shield.pending = False  # what is on its way ends the transfer already
        raise
    _shield.depth -= 1
    if not _shield.depth and _shield.pending:
        _shield.pending = False
        raise KeyboardInterrupt
