"""The History view: a session's whole terminal history, read-only, in the terminal's pane.

The live terminal shows only the agent tmux's current screen (tmux redraws, so lines that
scroll away never reach our emulator). The history comes from the owner's `HistorySource`
(for a session: `tmux capture-pane -e -J` as the agent's uid, see container/pane_history.py).

That capture is the agent's output, so hostile: `history_rows.parse_history` cuts it into rows
of plain text and colours (nothing reaches the user's terminal raw, nothing is read as markup,
the rows are capped) in a worker thread; the source caps its bytes.

Keys (handled here, never passed on to the agent): wheel, Up/Down, PgUp/PgDn, Home/End
scroll; `/` searches (upward, from the cursor: the view opens at the end), `n` goes to the next
hit upward, `N` downward; `v` starts a line selection on the cursor line, `y` copies it (or the
cursor's line) with OSC 52, as does a mouse drag; Esc or `q` go back to the live terminal, and
any other key goes back and is typed there.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

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

from widgets.terminal.history_rows import (
    HistoryRow,
    Place,
    Span,
    find_hits,
    index_at,
    logical_line,
    overlay,
    parse_history,
    text_between,
)

HistorySource = Callable[[], bytes]
WHEEL_LINES = 3  # as the live terminal's wheel


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
        self.hits: list[list[Span]] = []  # per hit: its spans, oldest hit first
        self.hit = -1  # the current hit
        self._row_hits: dict[int, list[tuple[int, int, int]]] = {}  # row -> (start, end, hit)
        self.mark: Place | None = None  # where the selection started
        self.point: Place | None = None
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
        segments = overlay(row.segments, spans)
        line_style = base
        if index == self.cursor and self.has_focus:
            line_style = base + self.get_component_rich_style("history--cursor", partial=True)
        strip = Strip(segments).apply_style(line_style)
        return strip.adjust_cell_length(width, line_style).crop(0, width)

    def _selection(self) -> tuple[Place, Place] | None:
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
        self.hits = find_hits(self.rows, query)
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
            first, last = logical_line(self.rows, self.cursor)
            return text_between(self.rows, (first, 0), (last, 0), line_mode=True)
        return text_between(self.rows, *selection, line_mode=self.line_mode)

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

    def _position(self, event: events.MouseEvent) -> Place:
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

    @dataclass
    class _Loaded(Message):
        rows: list[HistoryRow] | None
        error: str | None
        width: int
        rewrap: bool

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
        if not self.is_attached:
            return  # closed (Esc, typing) between the read and this refresh
        lines = self.lines
        lines.cursor = max(0, len(lines.rows) - from_end)
        if lines.query_text:
            lines.search(lines.query_text)  # the hits' rows moved
        lines._show_cursor(center=True)
        self._update_status()

    def _placed(self) -> None:
        if not self.is_attached:
            return  # closed (Esc, typing) between the read and this refresh
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
