"""How many cells the characters of a text run take, for the terminal emulator.

Widths come from pyte's `wcwidth`, memoised per character. `expand` turns a whole run into one
character per cell with one `str.translate`: a NUL after each wide character (the emulator
turns it into pyte's empty stub cell).

This module must not import Textual.
"""

from __future__ import annotations

from pyte.screens import wcwidth

STUB = "\x00"  # after a wide character: the cell its right half covers
NO_WIDTH = "\x01"  # a character of width 0 or unknown width (combining marks, joiners, controls)


class _Widths(dict[str, int]):
    """wcwidth per character, memoised (a dict lookup is cheaper than lru_cache's call)."""

    def __missing__(self, char: str) -> int:
        width = self[char] = wcwidth(char)
        return width


WIDTHS = _Widths()


class _Expand(dict[int, int | str]):
    """A `str.translate` table: a wide character gets STUB after it, a character of no or
    unknown width becomes NO_WIDTH. Neither marker can come from a text run itself: both
    are controls, which have no width here and so are mapped to NO_WIDTH."""

    def __missing__(self, code: int) -> int | str:
        char = chr(code)
        width = WIDTHS[char]
        mapped = self[code] = code if width == 1 else char + STUB if width == 2 else NO_WIDTH
        return mapped


_EXPAND = _Expand()


def expand(text: str) -> str | None:
    """`text` with STUB after each wide character, or None if it holds a character of no or
    unknown width (the caller draws that run one character at a time)."""
    expanded = text.translate(_EXPAND)
    return None if NO_WIDTH in expanded else expanded
