"""The History view's rows: parsed from a capture of the agent's terminal, searched, and
copied out. No Textual here.

The capture is the agent's output, so hostile: it is cut into rows of plain text and colours
(SGR read with the live emulator's rules; every other escape sequence and control character
dropped, so nothing reaches the user's terminal raw), never parsed as markup; at most
`MAX_ROWS` rows are kept (the newest).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from pyte.screens import Char
from rich.cells import get_character_cell_size
from rich.segment import Segment
from rich.style import Style

from widgets.terminal.cells import cell_style
from widgets.terminal.emulator import TerminalEmulator

MAX_ROWS = 100_000  # rows after wrapping, the newest kept: a bound on memory whatever the input
MAX_HITS = 50_000

Span = tuple[int, int, int]  # (row, start, end): a hit's part on one row
Place = tuple[int, int]  # (row, index in the row's text)


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
            found = self._styles[attrs] = cell_style(attrs[1:])
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


def overlay(segments: tuple[Segment, ...], spans: list[tuple[int, int, Style]]) -> list[Segment]:
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


def find_hits(rows: list[HistoryRow], query: str, max_hits: int = MAX_HITS) -> list[list[Span]]:
    """Every hit of `query` (case-insensitive unless it has capitals), oldest first, each as
    its spans on the rows it covers: a hit can go on across a wrapped row."""
    hits: list[list[Span]] = []
    fold = query == query.lower()
    needle = query.lower() if fold else query
    row = 0
    while row < len(rows) and len(hits) < max_hits:
        first = row  # a logical line: its rows up to one not wrapped
        while row < len(rows) - 1 and rows[row].wrapped:
            row += 1
        starts = [0]
        for r in range(first, row + 1):
            starts.append(starts[-1] + len(rows[r].text))
        text = "".join(rows[r].text for r in range(first, row + 1))
        haystack = text.lower() if fold else text
        at = haystack.find(needle)
        while at >= 0 and len(hits) < max_hits:
            end = at + len(needle)
            spans = []
            for r in range(first, row + 1):
                lo, hi = starts[r - first], starts[r - first + 1]
                s, e = max(at, lo), min(end, hi)
                if s < e:
                    spans.append((r, s - lo, e - lo))
            hits.append(spans)
            at = haystack.find(needle, end)
        row += 1
    return hits


def logical_line(rows: list[HistoryRow], row: int) -> tuple[int, int]:
    """The first and last rows of the line `row` belongs to (its wrapped rows)."""
    first = last = row
    while first > 0 and rows[first - 1].wrapped:
        first -= 1
    while last < len(rows) - 1 and rows[last].wrapped:
        last += 1
    return first, last


def text_between(rows: list[HistoryRow], start: Place, end: Place, line_mode: bool) -> str:
    """The text from `start` to `end` (whole rows in `line_mode`): wrapped rows join up,
    other rows end with a newline, trailing blanks dropped."""
    (r0, i0), (r1, i1) = start, end
    parts: list[str] = []
    for r in range(r0, r1 + 1):
        text = rows[r].text
        lo = 0 if line_mode or r != r0 else i0
        hi = len(text) if line_mode or r != r1 else i1
        parts.append(text[lo:hi])
        if r != r1 and not rows[r].wrapped:
            parts.append("\n")
    return "\n".join(line.rstrip() for line in "".join(parts).split("\n"))
