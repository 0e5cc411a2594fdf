"""How many cells the characters of a text run take, for the terminal emulator.

Widths come from pyte's `wcwidth`, memoised per character. `expand` turns a whole run into one
character per cell: a NUL after each wide character (the emulator turns it into pyte's empty
stub cell).

Most runs are checked and expanded by two regular expressions built from the widths of the
Unicode blocks seen so far (a character class of the one-cell characters, one of the two-cell
ones): a search and a substitution in C, where a `str.translate` with a dict table costs about
0.1 µs a character. A character in a block not seen yet has its block's widths looked up once;
past `_MAX_BLOCKS` blocks (the program chooses the characters) runs with such characters take
the `str.translate` path, which gives the same result.

This module must not import Textual.
"""

from __future__ import annotations

import re

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

_BLOCK = 256  # code points whose widths are looked up together
_MAX_BLOCKS = 64  # blocks learned at most: each one recompiles the two patterns


def _ranges(codes: list[int]) -> str:
    """A character class body for sorted code points, as ranges."""
    out = []
    start = prev = -2
    for code in [*codes, -2]:
        if code == prev + 1:
            prev = code
            continue
        if start >= 0:
            out.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
        start = prev = code
    return "".join(out)


class _Blocks:
    """The widths of the Unicode blocks seen so far, as two compiled character classes."""

    def __init__(self) -> None:
        self.learned: set[int] = set()
        self.narrow: list[int] = []
        self.wide: list[int] = []
        self.learn(0x20 // _BLOCK)  # printable ASCII and Latin-1

    def learn(self, block: int) -> bool:
        """Look up the widths of a block; False if no more blocks may be learned."""
        if block in self.learned:
            return True
        if len(self.learned) >= _MAX_BLOCKS:
            return False
        self.learned.add(block)
        for code in range(block * _BLOCK, (block + 1) * _BLOCK):
            if 0xD800 <= code <= 0xDFFF:
                continue  # lone surrogates never come out of the UTF-8 decoder
            width = WIDTHS[chr(code)]
            if width == 1:
                self.narrow.append(code)
            elif width == 2:
                self.wide.append(code)
        self.narrow.sort()
        self.wide.sort()
        narrow, wide = _ranges(self.narrow), _ranges(self.wide)
        # A character that is not known to take one cell.
        self.not_narrow = re.compile(f"[^{narrow}]")
        # A character known to take neither one nor two cells, or in a block not learned.
        self.odd = re.compile(f"[^{narrow}{wide}]" if wide else f"[^{narrow}]")
        self.wide_char = re.compile(f"[{wide}]" if wide else "(?!)")
        return True


_BLOCKS = _Blocks()
# A wide character and its STUB, for `re.sub`: a C-level callable (a template string runs
# Python code for every match on Python 3.11).
_WITH_STUB = ("{0[0]}" + STUB).format


def expand(text: str) -> str | None:
    """`text` with STUB after each wide character, or None if it holds a character of no or
    unknown width (the caller draws that run one character at a time)."""
    blocks = _BLOCKS
    if blocks.not_narrow.search(text) is None:
        return text  # every character takes one cell
    odd = blocks.odd.search(text)
    while odd is not None:
        code = ord(odd.group())
        if code // _BLOCK in blocks.learned or not blocks.learn(code // _BLOCK):
            return _expand_slowly(text)  # no or unknown width, or too many blocks
        odd = blocks.odd.search(text)
    return blocks.wide_char.sub(_WITH_STUB, text)


def _expand_slowly(text: str) -> str | None:
    expanded = text.translate(_EXPAND)
    return None if NO_WIDTH in expanded else expanded
