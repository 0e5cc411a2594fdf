"""The History view: a session's whole terminal history, read-only, in the terminal's pane.

The live terminal shows only the agent tmux's current screen (tmux redraws, so lines that
scroll away never reach our emulator). The history comes from the owner's `HistorySource`
(for a session: `tmux capture-pane -e -J` as the agent's uid, see container/pane_history.py).

That capture is the agent's output, so hostile: it is cut into rows of plain text and colours
(SGR read with the live emulator's rules; every other escape sequence and control character
dropped, so nothing reaches the user's terminal raw), never parsed as markup; at most
`MAX_ROWS` rows are kept (the newest) and the source caps its bytes. Parsing happens in a
worker thread.

Keys (handled here, never passed on to the agent): wheel, Up/Down, PgUp/PgDn, Home/End
scroll; `/` searches (upward, from the cursor: the view opens at the end), `n` goes to the next
hit upward, `N` downward; `v` starts a line selection on the cursor line, `y` copies it (or the
cursor's line) with OSC 52, as does a mouse drag; Esc or `q` go back to the live terminal, and
any other key goes back and is typed there.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from pyte.screens import Char
from rich.cells import get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from widgets.terminal.emulator import TerminalEmulator

HistorySource = Callable[[], bytes]
MAX_ROWS = 100_000  # rows after wrapping, the newest kept: a bound on memory whatever the input
MAX_HITS = 50_000
WHEEL_LINES = 3  # as the live terminal's wheel


@dataclass(frozen=True)
class HistoryRow:
    """One screen row of the history: its text, its coloured segments (cell styles only), and
    whether the line goes on in the next row (it was wrapped)."""

    text: str
    segments: tuple[Segment, ...]
    wrapped: bool = False


# SGR (kept, short parameters only) or anything else a terminal would act on (dropped): CSI,
# OSC up to BEL or ST, DCS/APC/PM/SOS strings, other escapes, lone C0/C1 controls and DEL.
_TOKEN = re.compile(
    r"\x1b\[(?P<sgr>[0-9;:]{0,64})m"
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b[P_^X]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
    r"|[\x00-\x1f\x7f-\x9f]"
)


class _Styles:
    """SGR parameters to rich Styles, with the live terminal's colour rules (its emulator
    computes the attributes), cached."""

    def __init__(self) -> None:
        from widgets.terminal.widget import _colour

        self._colour = _colour
        self._emulator = TerminalEmulator(1, 1, scrollback=0)
        self.default = self._emulator.default_char
        self._sgr: dict[tuple[Char, str], Char] = {}
        self._styles: dict[Char, Style] = {}

    def apply(self, attrs: Char, params: str) -> Char:
        key = (attrs, params)
        found = self._sgr.get(key)
        if found is None:
            try:
                found = self._emulator._compute_sgr(attrs, params)
            except ValueError:  # a number too long for int(): the sequence is ignored
                found = attrs
            if len(self._sgr) > 4096:
                self._sgr.clear()
            self._sgr[key] = found
        return found

    def style(self, attrs: Char) -> Style:
        found = self._styles.get(attrs)
        if found is None:
            _, fg, bg, bold, italics, underscore, strike, reverse, blink = attrs
            found = self._styles[attrs] = Style(
                color=self._colour(str(fg)),
                bgcolor=self._colour(str(bg)),
                bold=bool(bold),
                italic=bool(italics),
                underline=bool(underscore),
                strike=bool(strike),
                reverse=bool(reverse),
                blink=bool(blink),
            )
        return found


def parse_history(data: bytes, width: int, max_rows: int = MAX_ROWS) -> list[HistoryRow]:
    """Rows of `width` cells from captured terminal output (lines end with "\\n"): colours
    kept, every other escape and control character dropped, long lines wrapped."""
    width = max(1, width)
    styles = _Styles()
    attrs = styles.default
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline ends the last line; no line after it
    del lines[:-max_rows]  # each line makes a row at least: older ones could not be kept
    rows: list[HistoryRow] = []
    for line in lines:
        pieces: list[tuple[str, Char]] = []
        pos = 0
        for token in _TOKEN.finditer(line):
            if token.start() > pos:
                _add(pieces, line[pos : token.start()], attrs)
            pos = token.end()
            params = token.group("sgr")
            if params is not None:
                attrs = styles.apply(attrs, params)
        if pos < len(line):
            _add(pieces, line[pos:], attrs)
        plain = "".join(text for text, _ in pieces)
        cuts = _row_starts(plain, width)
        index = offset = 0  # the piece the row starts in, and where that piece starts
        for number, (start, end) in enumerate(itertools.pairwise([*cuts, len(plain)])):
            row: list[Segment] = []
            while index < len(pieces):
                text, piece_attrs = pieces[index]
                lo, hi = max(start, offset), min(end, offset + len(text))
                if lo < hi:
                    row.append(Segment(text[lo - offset : hi - offset], styles.style(piece_attrs)))
                if offset + len(text) > end:
                    break  # the piece goes on in the next row
                offset += len(text)
                index += 1
            rows.append(HistoryRow(plain[start:end], tuple(row), number < len(cuts) - 1))
        if len(rows) > 2 * max_rows:
            del rows[: len(rows) - max_rows]
    return rows[-max_rows:]


def _add(pieces: list[tuple[str, Char]], text: str, attrs: Char) -> None:
    if pieces and pieces[-1][1] is attrs:  # text split by a dropped control: one piece
        pieces[-1] = (pieces[-1][0] + text, attrs)
    else:
        pieces.append((text, attrs))


def _row_starts(plain: str, width: int) -> list[int]:
    """Where each row of `plain` starts when wrapped at `width` cells (a wide character that
    does not fit goes to the next row)."""
    if plain.isascii():
        return list(range(0, max(len(plain), 1), width))
    starts = [0]
    column = 0
    for index, char in enumerate(plain):
        size = get_character_cell_size(char)
        if column + size > width and column:
            starts.append(index)
            column = 0
        column += size
    return starts


def index_at(text: str, column: int) -> int:
    """The index in `text` of the character at screen `column` (wide characters take two)."""
    cells = 0
    for index, char in enumerate(text):
        cells += get_character_cell_size(char)
        if cells > column:
            return index
    return len(text)


def _overlay(segments: tuple[Segment, ...], spans: list[tuple[int, int, Style]]) -> list[Segment]:
    """`segments` with each (start, end, style) character span's style laid on top."""
    if not spans:
        return list(segments)
    out: list[Segment] = []
    pos = 0
    for segment in segments:
        text, base = segment.text, segment.style or Style()
        end = pos + len(text)
        cuts = sorted({pos, end} | {c for s, e, _ in spans for c in (s, e) if pos < c < end})
        for a, b in itertools.pairwise(cuts):
            piece = base
            for s, e, extra in spans:
                if s <= a and b <= e:
                    piece = piece + extra
            out.append(Segment(text[a - pos : b - pos], piece))
        pos = end
    for s, e, extra in spans:  # a selection past the text's end shows as one cell
        if e > pos and s >= pos:
            out.append(Segment(" ", extra))
            break
    return out


class HistoryLines(ScrollView, can_focus=True, inherit_bindings=False):
    """The rows of the history, with a cursor line, search hits and a selection."""

    DEFAULT_CSS = """
    HistoryLines {
        height: 1fr;
        scrollbar-size-vertical: 0;
        background: $background;
        color: $foreground;
    }
    HistoryLines > .history--cursor { background: $boost; }
    HistoryLines > .history--match { background: $warning 40%; }
    HistoryLines > .history--current { background: $warning; color: $background; }
    HistoryLines > .history--selection { background: $accent 60%; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "history--cursor",
        "history--match",
        "history--current",
        "history--selection",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back to the terminal", id="history_close"),
        Binding("slash", "search", "Search", id="history_search"),
        Binding("n", "next_hit(-1)", "Next hit (up)", id="history_next"),
        Binding("N", "next_hit(1)", "Previous hit (down)", id="history_previous"),
        Binding("v", "select", "Select lines", id="history_select"),
        Binding("y", "copy", "Copy", id="history_copy"),
        Binding("up", "cursor(-1)", "Line up", show=False, id="history_up"),
        Binding("down", "cursor(1)", "Line down", show=False, id="history_down"),
        Binding("pageup,shift+pageup", "page(-1)", "Page up", show=False, id="history_page_up"),
        Binding(
            "pagedown,shift+pagedown", "page(1)", "Page down", show=False, id="history_page_down"
        ),
        Binding("home", "edge(-1)", "Oldest", show=False, id="history_home"),
        Binding("end", "edge(1)", "Newest", show=False, id="history_end"),
    ]

    class Copied(Message):
        """Text went to the clipboard (OSC 52)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[HistoryRow] = []
        self.cursor = 0
        self.query_text = ""
        self.hits: list[list[tuple[int, int, int]]] = []  # per hit: (row, start, end) spans
        self.hit = -1  # the current hit
        self._row_hits: dict[int, list[tuple[int, int, int]]] = {}  # row -> (start, end, hit)
        self.mark: tuple[int, int] | None = None  # where the selection started (row, index)
        self.point: tuple[int, int] | None = None
        self.line_mode = False  # a `v` selection: whole lines from the anchor to the cursor
        self._dragging = False

    # -- content ---------------------------------------------------------------------------

    def set_rows(self, rows: list[HistoryRow]) -> None:
        """Show `rows`; `place` scrolls once the new size is laid out."""
        self.rows = rows
        self.virtual_size = Size(self.size.width, len(rows))
        self.refresh()

    def place(self, back: int) -> None:
        """Scroll `back` rows up from the end, the cursor on the view's last row."""
        bottom = max(0, len(self.rows) - self.size.height)
        self.scroll_to(y=max(0, bottom - back), animate=False, immediate=True)
        self.cursor = max(0, min(len(self.rows) - 1, bottom - back + self.size.height - 1))
        self.refresh()

    @property
    def view_top(self) -> int:
        return round(self.scroll_offset.y)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        index = self.view_top + y
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        spans: list[tuple[int, int, Style]] = []
        match = self.get_component_rich_style("history--match", partial=True)
        current = self.get_component_rich_style("history--current", partial=True)
        for start, end, hit in self._row_hits.get(index, ()):
            spans.append((start, end, current if hit == self.hit else match))
        selected = self._selected_span(index, row)
        if selected is not None:
            selection = self.get_component_rich_style("history--selection", partial=True)
            spans.append((*selected, selection))
        segments = _overlay(row.segments, spans)
        line_style = base
        if index == self.cursor and self.has_focus:
            line_style = base + self.get_component_rich_style("history--cursor", partial=True)
        strip = Strip(segments).apply_style(line_style)
        return strip.adjust_cell_length(width, line_style).crop(0, width)

    def _selection(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        if self.mark is None:
            return None
        point = (self.cursor, 0) if self.line_mode else self.point
        if point is None:
            return None
        start, end = sorted((self.mark, point))
        return start, end

    def _selected_span(self, index: int, row: HistoryRow) -> tuple[int, int] | None:
        selection = self._selection()
        if selection is None:
            return None
        (r0, i0), (r1, i1) = selection
        if not r0 <= index <= r1:
            return None
        if self.line_mode:
            return 0, max(len(row.text), 1)
        start = i0 if index == r0 else 0
        end = i1 if index == r1 else len(row.text) + 1
        return (start, end) if end > start else None

    # -- moving ----------------------------------------------------------------------------

    def _show_cursor(self, center: bool = False) -> None:
        top, height = self.view_top, max(1, self.size.height)
        if center and not top <= self.cursor < top + height:
            self.scroll_to(y=max(0, self.cursor - height // 2), animate=False, immediate=True)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def _move(self, row: int) -> None:
        self.cursor = max(0, min(len(self.rows) - 1, row))
        self._show_cursor()

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        page = max(1, self.size.height - 1)
        self.scroll_to(y=self.view_top + direction * page, animate=False, immediate=True)
        self._move(self.cursor + direction * page)

    def action_edge(self, direction: int) -> None:
        self._move(0 if direction < 0 else len(self.rows) - 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # The wheel moves the view; the cursor stays on screen with it.
        top, height = round(new), max(1, self.size.height)
        if self.rows and not top <= self.cursor < top + height:
            self.cursor = max(
                0, min(len(self.rows) - 1, min(max(self.cursor, top), top + height - 1))
            )
        self.post_message(HistoryView.Moved())

    # -- search ----------------------------------------------------------------------------

    def search(self, query: str) -> int:
        """Find every hit of `query` (case-insensitive unless it has capitals), across wrapped
        rows; go to the nearest at or above the cursor. Returns the number of hits."""
        self.query_text = query
        self.hits, self._row_hits, self.hit = [], {}, -1
        if not query:
            self.refresh()
            return 0
        fold = query == query.lower()
        needle = query.lower() if fold else query
        row = 0
        while row < len(self.rows) and len(self.hits) < MAX_HITS:
            first = row  # a logical line: its rows up to one not wrapped
            while row < len(self.rows) - 1 and self.rows[row].wrapped:
                row += 1
            starts = [0]
            for r in range(first, row + 1):
                starts.append(starts[-1] + len(self.rows[r].text))
            text = "".join(self.rows[r].text for r in range(first, row + 1))
            haystack = text.lower() if fold else text
            at = haystack.find(needle)
            while at >= 0 and len(self.hits) < MAX_HITS:
                end = at + len(needle)
                spans = []
                for r in range(first, row + 1):
                    lo, hi = starts[r - first], starts[r - first + 1]
                    s, e = max(at, lo), min(end, hi)
                    if s < e:
                        spans.append((r, s - lo, e - lo))
                self.hits.append(spans)
                at = haystack.find(needle, end)
            row += 1
        for number, spans in enumerate(self.hits):
            for r, s, e in spans:
                self._row_hits.setdefault(r, []).append((s, e, number))
        if self.hits:
            firsts = [spans[0][0] for spans in self.hits]
            above = bisect.bisect_right(firsts, self.cursor) - 1
            self._go_to_hit(above if above >= 0 else len(self.hits) - 1)
        self.refresh()
        return len(self.hits)

    def _go_to_hit(self, number: int) -> None:
        self.hit = number % len(self.hits)
        self.cursor = self.hits[self.hit][0][0]
        self._show_cursor(center=True)

    def action_next_hit(self, direction: int) -> None:
        if not self.hits:
            if self.query_text:
                self.notify(f"not found: {self.query_text}", markup=False)
            return
        self._go_to_hit(self.hit + direction)

    def action_search(self) -> None:
        self.post_message(HistoryView.SearchRequested())

    def action_close(self) -> None:
        self.post_message(HistoryView.Closed())

    # -- selection and copy ----------------------------------------------------------------

    def action_select(self) -> None:
        if self.mark is not None and self.line_mode:
            self.mark = None  # v again: no selection
        else:
            self.mark, self.line_mode = (self.cursor, 0), True
        self.refresh()

    def selected_text(self) -> str:
        """The selection's text, or the cursor's whole (logical) line without one."""
        selection = self._selection()
        if selection is None:
            first = last = self.cursor
            while first > 0 and self.rows[first - 1].wrapped:
                first -= 1
            while last < len(self.rows) - 1 and self.rows[last].wrapped:
                last += 1
            selection, line_mode = ((first, 0), (last, 0)), True
        else:
            line_mode = self.line_mode
        (r0, i0), (r1, i1) = selection
        parts: list[str] = []
        for r in range(r0, r1 + 1):
            text = self.rows[r].text
            start = 0 if line_mode or r != r0 else i0
            end = len(text) if line_mode or r != r1 else i1
            parts.append(text[start:end])
            if r != r1 and not self.rows[r].wrapped:
                parts.append("\n")
        return "\n".join(line.rstrip() for line in "".join(parts).split("\n"))

    def action_copy(self) -> None:
        if not self.rows:
            return
        text = self.selected_text()
        self.app.copy_to_clipboard(text)
        lines = text.count("\n") + 1
        self.notify(f"Copied {lines} line{'s' if lines != 1 else ''}", markup=False)
        self.mark = None
        self.refresh()
        self.post_message(self.Copied(text))

    def _position(self, event: events.MouseEvent) -> tuple[int, int]:
        row = max(0, min(len(self.rows) - 1, self.view_top + event.y))
        text = self.rows[row].text if self.rows else ""
        return row, index_at(text, max(0, event.x))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        event.stop()
        self.focus()
        if not self.rows:
            return
        self.mark = self.point = self._position(event)
        self.line_mode = False
        self.cursor = self.mark[0]
        self._dragging = True
        self.capture_mouse()
        self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if not self._dragging or not self.rows:
            return
        event.stop()
        if event.y < 0:
            self.scroll_to(y=self.view_top - 1, animate=False, immediate=True)
        elif event.y >= self.size.height:
            self.scroll_to(y=self.view_top + 1, animate=False, immediate=True)
        self.point = self._position(event)
        self.cursor = self.point[0]
        self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if not self._dragging:
            return
        event.stop()
        self._dragging = False
        self.capture_mouse(False)
        if self.mark is not None and self.point is not None and self.mark != self.point:
            self.action_copy()  # a drag copies, as terminals do
        else:
            self.mark = None
            self.refresh()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_to(y=self.view_top - WHEEL_LINES, animate=False, immediate=True)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        if self.view_top >= self.max_scroll_y:
            self.post_message(HistoryView.Closed())  # scrolled past the end: live again
        else:
            self.scroll_to(y=self.view_top + WHEEL_LINES, animate=False, immediate=True)

    # -- keys ------------------------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        """The view's keys are taken here (never the agent's); any other key goes back to the
        live terminal and is typed there."""
        event.stop()
        event.prevent_default()
        bindings = self._bindings.key_to_bindings.get(event.key)
        if bindings:
            await self.run_action(bindings[0].action)
            return
        self.post_message(HistoryView.Closed(event.key, event.character))


class HistoryView(Vertical):
    """The history pane: the rows, a status line, and the search line.

    Args:
        source: reads the history (blocking; runs in a worker thread).
        back: rows to show above the end when it opens (a wheel step, a page).
    """

    DEFAULT_CSS = """
    HistoryView {
        width: 1fr;
        height: 1fr;
        background: $background;
    }
    HistoryView > #history-status {
        height: 1;
        background: $panel;
        color: $text-muted;
    }
    HistoryView > #history-search {
        height: 1;
        border: none;
        padding: 0 1;
        display: none;
    }
    HistoryView.-searching > #history-search { display: block; }
    HistoryView.-searching > #history-status { display: none; }
    """

    class Closed(Message):
        """Back to the live terminal; `key` (with its character) is to be typed there."""

        def __init__(self, key: str | None = None, character: str | None = None) -> None:
            super().__init__()
            self.key = key
            self.character = character

    class SearchRequested(Message):
        pass

    class Moved(Message):
        def can_replace(self, message: Message) -> bool:
            return isinstance(message, HistoryView.Moved)

    class _Loaded(Message):
        def __init__(
            self, rows: list[HistoryRow] | None, error: str | None, width: int, rewrap: bool
        ) -> None:
            super().__init__()
            self.rows = rows
            self.error = error
            self.width = width
            self.rewrap = rewrap

    def __init__(self, source: HistorySource, *, back: int = 0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.back = back
        self.loaded = False
        self.error: str | None = None
        self._data: bytes | None = None  # the capture (capped by the source), for rewrapping
        self._width = 0

    def compose(self) -> ComposeResult:
        yield HistoryLines(id="history-lines")
        yield Static(Text(" reading the history…"), id="history-status")
        yield Input(placeholder="search up: text, Enter (Esc: cancel)", id="history-search")

    @property
    def lines(self) -> HistoryLines:
        return self.query_one(HistoryLines)

    def on_mount(self) -> None:
        self.lines.focus()
        self.call_after_refresh(self._load)

    def _load(self) -> None:
        self._read(max(1, self.lines.size.width or self.size.width))

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _read(self, width: int, data: bytes | None = None) -> None:
        rewrap = data is not None
        try:
            if data is None:
                data = self._data = self.source()
            rows: list[HistoryRow] | None = parse_history(data, width)
            error = None
        except Exception as exc:  # shown in the status line, never a traceback
            rows, error = None, str(exc) or type(exc).__name__
        self.post_message(self._Loaded(rows, error, width, rewrap))

    def on_resize(self, event: events.Resize) -> None:
        # A new width (say the terminal maximized): the lines are wrapped again.
        width = event.size.width
        if self.loaded and self._data is not None and width != self._width and width > 0:
            self._width = width
            self._read(width, self._data)

    @on(_Loaded)
    def _loaded(self, message: _Loaded) -> None:
        message.stop()
        self.error = message.error
        self._width = message.width
        lines = self.lines
        if message.rewrap and message.rows is not None:
            from_end = len(lines.rows) - lines.cursor
            lines.set_rows(message.rows)
            self.call_after_refresh(self._rewrapped, from_end)
            return
        lines.set_rows(message.rows or [])
        self.call_after_refresh(self._placed)

    def _rewrapped(self, from_end: int) -> None:
        lines = self.lines
        lines.cursor = max(0, len(lines.rows) - from_end)
        if lines.query_text:
            lines.search(lines.query_text)  # the hits' rows moved
        lines._show_cursor(center=True)
        self._update_status()

    def _placed(self) -> None:
        self.lines.place(self.back)
        self.loaded = True
        self._update_status()
        if self._data is not None and self.size.width not in (self._width, 0):
            self._width = self.size.width  # resized while it was read
            self._read(self._width, self._data)

    @on(Moved)
    def _moved(self, message: Moved) -> None:
        message.stop()
        if self.loaded:
            self._update_status()

    def _update_status(self) -> None:
        status = self.query_one("#history-status", Static)
        if self.error is not None:
            text = f" history: {self.error} — Esc: back"
        else:
            lines = self.lines
            total = len(lines.rows)
            top = lines.view_top
            last = min(total, top + lines.size.height)
            hits = ""
            if lines.query_text:
                hits = f" · {lines.query_text!r}: {len(lines.hits)} hit"
                hits += "" if len(lines.hits) == 1 else "s"
            text = (
                f" History {top + 1 if total else 0}-{last} of {total}{hits} · / search  "
                "n/N next/prev  v select  y copy  Esc back"
            )
        status.update(Text(text, no_wrap=True, overflow="ellipsis"))

    @on(SearchRequested)
    def _search_requested(self, message: SearchRequested) -> None:
        message.stop()
        self.add_class("-searching")
        search = self.query_one("#history-search", Input)
        search.value = ""
        search.focus()

    @on(Input.Submitted, "#history-search")
    def _search(self, message: Input.Submitted) -> None:
        message.stop()
        self._end_search()
        query = message.value
        if query:
            found = self.lines.search(query)
            if not found:
                self.notify(f"not found: {query}", markup=False)
        self._update_status()

    def _end_search(self) -> None:
        self.remove_class("-searching")
        self.lines.focus()

    def on_key(self, event: events.Key) -> None:
        # From the search line: Esc cancels the search (the rest is the Input's); nothing
        # reaches the agent's terminal.
        if event.key == "escape":
            event.stop()
            event.prevent_default()
            self._end_search()
