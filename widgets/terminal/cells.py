"""Terminal cells as rich Segments: pyte's colour names and cell attributes as Styles.

Shared by the live terminal and the History view so both colour a cell the same way.
No Textual here (rich only).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyte.screens import Char
from rich.color import Color
from rich.segment import Segment
from rich.style import Style

from widgets.terminal.emulator import Line

_NAMED = {
    "black": 0,
    "red": 1,
    "green": 2,
    "brown": 3,
    "blue": 4,
    "magenta": 5,
    "cyan": 6,
    "white": 7,
}
_NAMED.update({"bright" + name: n + 8 for name, n in list(_NAMED.items())})
_NAMED["bfightmagenta"] = 13  # stock pyte's spelling of SGR 105

# A cell's attributes after its character: fg, bg, bold, italics, underscore, strikethrough,
# reverse, blink (pyte's `Char` fields but `data`).
Attrs = tuple[object, ...]
DEFAULT_ATTRS: Attrs = ("default", "default", False, False, False, False, False, False)
_REVERSE = 6  # the index of `reverse` in Attrs: the cursor is a reversed cell
_BLANK = Char(" ")


def colour(name: str) -> Color | None:
    """A pyte colour (a name, or six hex digits) as a rich Color; None for the default."""
    if name == "default":
        return None
    number = _NAMED.get(name)
    if number is not None:
        return Color.from_ansi(number)
    try:
        return Color.from_rgb(int(name[0:2], 16), int(name[2:4], 16), int(name[4:6], 16))
    except ValueError:
        return None


def cell_style(attrs: Sequence[object]) -> Style:
    """The Style of a cell's attributes (`Attrs`)."""
    fg, bg, bold, italics, underscore, strikethrough, reverse, blink = attrs
    return Style(
        color=colour(str(fg)),
        bgcolor=colour(str(bg)),
        bold=bool(bold),
        italic=bool(italics),
        underline=bool(underscore),
        strike=bool(strikethrough),
        reverse=bool(reverse),
        blink=bool(blink),
    )


class CellStyles:
    """Cell attributes to Styles laid on the widget's base style, cached."""

    def __init__(self) -> None:
        self.base: Style | None = None
        self._styles: dict[Attrs, Style] = {}

    def rebase(self, base: Style) -> bool:
        """Use `base` from now on; True when it changed (what was drawn with the old is stale)."""
        if base == self.base:
            return False
        self.base = base
        self._styles.clear()
        return True

    def get(self, attrs: Attrs) -> Style:
        style = self._styles.get(attrs)
        if style is None:
            style = self._styles[attrs] = (self.base or Style()) + cell_style(attrs)
        return style


def cell_segments(line: Line, columns: int, cursor_x: int, styles: CellStyles) -> list[Segment]:
    """The first `columns` cells of `line` as Segments, one per run of equal attributes; the
    cell at `cursor_x` (-1: none) is drawn reversed."""
    segments: list[Segment] = []
    run: list[str] = []
    run_key: Attrs | None = None
    cells = line[:columns]
    if len(cells) < columns:  # a scrollback line from before the screen grew
        cells += [_BLANK] * (columns - len(cells))
    for x, cell in enumerate(cells):
        key = tuple(cell[1:])
        if x == cursor_x:
            key = (*key[:_REVERSE], not key[_REVERSE], *key[_REVERSE + 1 :])
        if key != run_key:
            if run:
                segments.append(Segment("".join(run), styles.get(run_key or DEFAULT_ATTRS)))
                run = []
            run_key = key
        run.append(cell.data or "")
    if run:
        segments.append(Segment("".join(run), styles.get(run_key or DEFAULT_ATTRS)))
    return segments
