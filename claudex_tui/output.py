"""Terminal output for the CLI: errors with hints, warnings, tables, confirmations, progress."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import TextIO

from container.errors import ClaudexError


def _color(code: str, text: str, stream: object = sys.stderr) -> str:
    isatty = getattr(stream, "isatty", lambda: False)()
    if isatty and not os.environ.get("NO_COLOR"):
        return f"\x1b[{code}m{text}\x1b[0m"
    return text


def error(exc: ClaudexError | str) -> None:
    message = exc.message if isinstance(exc, ClaudexError) else exc
    print(f"{_color('1;31', 'claudex: error:')} {message}", file=sys.stderr)
    hint = exc.hint if isinstance(exc, ClaudexError) else None
    if hint:
        print(f"  {_color('2', 'hint:')} {hint}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"{_color('33', 'claudex: warning:')} {message}", file=sys.stderr)


def info(message: str) -> None:
    print(f"{_color('2', 'claudex:')} {message}", file=sys.stderr)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def confirm(question: str) -> bool:
    """Ask on the terminal; anything but y/yes is no. EOF is no."""
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


class Progress:
    """A one-line progress bar on a TTY, plain lines otherwise."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.tty = stream.isatty()
        self._last = ""

    def update(self, done: int, total: int, detail: str = "") -> None:
        if not self.tty:
            if detail and detail != self._last:
                print(detail, file=self.stream, flush=True)
                self._last = detail
            return
        width = shutil.get_terminal_size((80, 24)).columns
        bar_w = 24
        filled = int(bar_w * done / total) if total else 0
        bar = "█" * filled + "░" * (bar_w - filled)
        counts = f"{done}/{total}" if total else ""
        line = f"{self.label} {bar} {counts} {detail}"
        self.stream.write("\r\x1b[2K" + line[: width - 1])
        self.stream.flush()

    def close(self, message: str = "") -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K")
        if message:
            print(message, file=self.stream, flush=True)
