"""Text the agent wrote (file names, file contents in a diff), made safe to show on a terminal.

A name or a line can carry terminal escapes (clear the line, move the cursor, conceal text),
a carriage return that draws over what came before, or bidirectional-text controls that show
code in another order than it runs ("Trojan source"): each hides a change in plain sight.
Here every such character is written as a visible escape (`\\x1b`, `\\r`, `\\u202e`), bytes
that are not UTF-8 as `\\xNN`; the colours of a diff on a terminal are added afterwards, so
none come from the content. Pure functions, no I/O.
"""

from __future__ import annotations

import codecs
import re
from typing import Literal

# C0 and C1 controls, DEL, format characters that change how text around them is drawn
# (bidirectional overrides and isolates, zero-width characters, the BOM, interlinear
# annotations), line/paragraph separators, and the lone surrogates that stand for bytes
# that were not UTF-8 (surrogateescape).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb\udc80-\udcff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\x1b"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str, keep: str = "") -> str:
    """`text` with every character that could act on a terminal written as an escape.

    `keep` names characters left alone (a diff keeps its tabs and newlines)."""
    if keep:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)
    return _UNSAFE.sub(_escape, text)


def display_path(path: str) -> str:
    """A file name as it may be shown: one line, nothing a terminal acts on."""
    return printable(path)


DiffMode = Literal["patch", "stat", "name-only"]

RESET = "\x1b[m"
BOLD = "\x1b[1m"
CYAN = "\x1b[36m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
_STAT_GRAPH = re.compile(r"^(.*\|\s+\d+ )(\+*)(-*)$")
PARTIAL = 1 << 16  # a longer line is shown in pieces (a 1 GB one-line file must not pile up)


class DiffPrinter:
    """`git diff-tree` output (bytes, in chunks) -> safe text for a terminal, coloured like
    git colours it. Lines are escaped before any colour is added."""

    def __init__(self, mode: DiffMode = "patch", color: bool = True) -> None:
        self.mode = mode
        self.color = color
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self._pending = ""
        self._continuing = False  # a long line is being written in pieces
        self._style = ""  # of the line being written
        self._in_hunk = False

    def feed(self, chunk: bytes) -> bytes:
        return self._lines(self._decoder.decode(chunk))

    def close(self) -> bytes:
        out = self._lines(self._decoder.decode(b"", final=True))
        if self._pending:
            out += self._emit(self._pending, end="")
            self._pending = ""
        return out

    def _lines(self, text: str) -> bytes:
        text = self._pending + text
        parts = text.split("\n")
        self._pending = parts.pop()
        out = [self._emit(line, end="\n") for line in parts]
        if len(self._pending) > PARTIAL:
            out.append(self._emit(self._pending, end=""))
            self._pending = ""
        return b"".join(out)

    def _emit(self, line: str, end: str) -> bytes:
        first = not self._continuing
        if first:
            self._style = self._line_style(line)
        safe = printable(line, keep="\t")
        if self.color and self.mode == "stat" and first:
            match = _STAT_GRAPH.match(safe)
            if match:
                head, plus, minus = match.groups()
                safe = head + (GREEN + plus + RESET if plus else "")
                safe += RED + minus + RESET if minus else ""
        style = self._style if self.color else ""
        text = f"{style}{safe}{RESET}" if style else safe
        self._continuing = not end
        return (text + end).encode("utf-8", errors="surrogateescape")

    def _line_style(self, line: str) -> str:
        if self.mode != "patch":
            return ""
        if line.startswith("diff --git ") or (not self._in_hunk and not line.startswith("@@")):
            self._in_hunk = False
            return BOLD
        if line.startswith("@@"):
            self._in_hunk = True
            return CYAN
        if line.startswith("+"):
            return GREEN
        if line.startswith("-"):
            return RED
        return ""
