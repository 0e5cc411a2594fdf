"""Frames of the live terminal: when the next one is due and what it redraws. No Textual here.

A frame copies only the rows pyte marked dirty (plus the cursor's), at most ~60 a second, and
is held while the program is inside synchronized output (mode 2026) so whole frames are drawn,
never halves (with a timeout, as terminals do, in case the end marker never comes). Rendering
reads only these copies, so output that arrives between frames (or inside a held frame) is
never half shown.
"""

from __future__ import annotations

from widgets.terminal.emulator import Line, TerminalEmulator

FRAME_SECONDS = 1 / 60
SYNC_TIMEOUT = 0.25  # a frame held longer than this by mode 2026 is drawn anyway


class Frames:
    """The screen as of the last frame: a copy of each row with a version that changes when
    the row does (a render cache key), and the cursor as it was then."""

    def __init__(self, emulator: TerminalEmulator) -> None:
        self.emulator = emulator
        self.versions: list[int] = [0] * emulator.lines
        self.rows: list[Line] = [[emulator.default_char] * emulator.columns] * emulator.lines
        self.cursor = (0, 0, True)  # x, y, visible
        self._cursor_row = 0
        self._sync_started: float | None = None
        self._last = 0.0

    def delay(self, now: float) -> float:
        """Seconds until the next frame may be drawn (0: now)."""
        if self.emulator.synchronized:
            if self._sync_started is None:
                self._sync_started = now
            return max(0.0, self._sync_started + SYNC_TIMEOUT - now)
        return max(0.0, self._last + FRAME_SECONDS - now)

    def take(self, now: float, force: bool = False) -> list[int] | None:
        """Make a frame of what changed: the rows to redraw, or None while it is held (the
        end of a synchronized frame will come with more output)."""
        emulator = self.emulator
        if emulator.synchronized and not force:
            started = self._sync_started if self._sync_started is not None else now
            self._sync_started = started
            if now - started < SYNC_TIMEOUT:
                return None
        self._sync_started = None
        self._last = now
        dirty = set(emulator.dirty)
        emulator.dirty.clear()
        versions = self.versions
        rows = min(len(versions), emulator.lines)  # the same unless resized without copy_all
        for y in dirty:
            if 0 <= y < rows:
                versions[y] += 1
                self._copy_row(y)
        cursor_x, cursor_y = emulator.cursor_xy
        self.cursor = (cursor_x, cursor_y, emulator.cursor_visible)
        dirty.update((self._cursor_row, cursor_y))
        self._cursor_row = cursor_y
        return sorted(y for y in dirty if 0 <= y < len(versions))

    def _copy_row(self, y: int) -> None:
        self.rows[y] = self.emulator.buffer[y][:]

    def copy_all(self) -> None:
        """Copy every row (after a resize or a reset): all are new versions."""
        lines = self.emulator.lines
        self.rows = [[self.emulator.default_char] * self.emulator.columns] * lines
        for y in range(lines):
            self._copy_row(y)
        self.versions = [v + 1 for v in self.versions[:lines]]
        self.versions += [0] * (lines - len(self.versions))
