"""The bytes a program wrote, waiting for the UI: filled by the reader thread, emptied on the
event loop. No Textual here."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

MAX_INBOX = 4 * 1024 * 1024  # the reader waits when the UI is this far behind


class OutputInbox:
    """Batches of output between two threads, with back-pressure: a program flooding output
    waits for the UI instead of filling memory."""

    def __init__(self, limit: int = MAX_INBOX) -> None:
        self.limit = limit
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # of the first chunk, taken already (a take stopped inside it)
        self._size = 0
        self._announced = False  # the UI was told there is output, and has not taken it yet
        self._lock = threading.Condition()

    def put(self, data: bytes, reading: Callable[[], bool]) -> bool:
        """Add `data` (waiting while full and `reading()` holds); True when the UI is to be
        told (the first batch since it last took)."""
        if not data:
            return False
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
            chunks = self._chunks
            wanted = self._size if limit is None else limit
            parts: list[bytes] = []
            taken = 0
            while chunks and taken < wanted:  # only the bytes taken are copied
                chunk, start = chunks[0], self._offset
                end = min(len(chunk), start + wanted - taken)
                parts.append(chunk[start:end] if start or end < len(chunk) else chunk)
                taken += end - start
                if end == len(chunk):
                    chunks.popleft()
                    self._offset = 0
                else:
                    self._offset = end
            self._size -= taken
            self._announced = bool(chunks)
            self._lock.notify_all()
        return b"".join(parts)

    @property
    def pending(self) -> bool:
        """Output left after a partial take."""
        with self._lock:
            return bool(self._chunks)

    def clear(self) -> None:
        """Drop what waits (a new start); the UI is told again on the next batch as before."""
        with self._lock:
            self._chunks.clear()
            self._offset = 0
            self._size = 0

    def wake(self) -> None:
        """Let a waiting reader look again (its channel is closing)."""
        with self._lock:
            self._lock.notify_all()
