"""The bytes a program wrote, waiting for the UI: filled by the reader thread, emptied on the
event loop. No Textual here."""

from __future__ import annotations

import threading
from collections.abc import Callable

MAX_INBOX = 4 * 1024 * 1024  # the reader waits when the UI is this far behind


class OutputInbox:
    """Batches of output between two threads, with back-pressure: a program flooding output
    waits for the UI instead of filling memory."""

    def __init__(self, limit: int = MAX_INBOX) -> None:
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._announced = False  # the UI was told there is output, and has not taken it yet
        self._lock = threading.Condition()

    def put(self, data: bytes, reading: Callable[[], bool]) -> bool:
        """Add `data` (waiting while full and `reading()` holds); True when the UI is to be
        told (the first batch since it last took)."""
        with self._lock:
            while self._size > self.limit and reading():
                self._lock.wait(0.1)
            self._chunks.append(data)
            self._size += len(data)
            tell = not self._announced
            self._announced = True
        return tell

    def take(self, limit: int | None = None) -> bytes:
        """What waits, up to `limit` bytes (everything if None); the reader may go on. While
        some is left the UI is not told again: it comes back for the rest by itself."""
        with self._lock:
            data = b"".join(self._chunks)
            self._chunks.clear()
            if limit is not None and len(data) > limit:
                self._chunks.append(data[limit:])
                data = data[:limit]
            self._size -= len(data)
            self._announced = bool(self._chunks)
            self._lock.notify_all()
        return data

    @property
    def pending(self) -> bool:
        """Output left after a partial take."""
        with self._lock:
            return bool(self._chunks)

    def clear(self) -> None:
        """Drop what waits (a new start); the UI is told again on the next batch as before."""
        with self._lock:
            self._chunks.clear()
            self._size = 0

    def wake(self) -> None:
        """Let a waiting reader look again (its channel is closing)."""
        with self._lock:
            self._lock.notify_all()
