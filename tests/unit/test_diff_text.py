"""What the agent wrote, shown on a terminal: escaped before it is coloured."""

from __future__ import annotations

from container.diff_text import DiffPrinter, display_path, printable
from container.tracking_model import ChangedFile
from widgets.changes_panel import change_row

HOSTILE = "ok\x1b[2K\rfake\u009b31m\u202eevil\u200b\udcff\x7f"


def test_every_character_a_terminal_acts_on_is_escaped():
    shown = display_path(HOSTILE)
    assert shown == "ok\\x1b[2K\\rfake\\u009b31m\\u202eevil\\u200b\\xff\\x7f"
    assert shown.isprintable()
    assert printable("a\tb\nc", keep="\t\n") == "a\tb\nc"
    assert printable("a\tb\nc") == "a\\tb\\nc"
    assert display_path("plain/ünïcode 名前.txt") == "plain/ünïcode 名前.txt"


def _print(data: bytes, mode: str = "patch", color: bool = True, step: int = 3) -> str:
    printer = DiffPrinter(mode, color=color)  # type: ignore[arg-type]
    out = b"".join(printer.feed(data[i : i + step]) for i in range(0, len(data), step))
    return (out + printer.close()).decode()


PATCH = (
    b"diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n ctx\n"
    b"-old \xe2\x80\xae\n+new\x1b[1A\x1b[2K\r+harmless\n--- not a header\n"
)


def test_a_patch_is_escaped_then_coloured_in_any_chunks():
    plain = _print(PATCH, color=False, step=1)
    assert "\x1b" not in plain and "\u202e" not in plain
    assert "-old \\u202e\n" in plain and "+new\\x1b[1A\\x1b[2K\\r+harmless\n" in plain
    coloured = _print(PATCH)
    assert coloured.count("\x1b[") == 2 * 8  # a colour and a reset on each line but " ctx"
    assert "\x1b[32m+new\\x1b[1A" in coloured
    assert "\x1b[31m--- not a header\x1b[m" in coloured  # a removed line, in the hunk
    assert "\x1b[1m--- a/x\x1b[m" in coloured


def test_stat_graph_and_long_lines():
    stat = _print(b" a\x1b.txt | 3 ++-\n 1 file changed\n", mode="stat")
    assert stat == (" a\\x1b.txt | 3 \x1b[32m++\x1b[m\x1b[31m-\x1b[m\n 1 file changed\n")
    line = b"@@ -0,0 +1 @@\n+" + b"x" * 200_000 + b"\x1b\n"
    out = _print(line, step=65_536).split("\n", 1)[1]
    assert out.startswith("\x1b[32m+xxx") and out.endswith("\\x1b\x1b[m\n")
    assert "\x1b[" not in out.replace("\x1b[32m", "").replace("\x1b[m", "")  # pieces: green


def test_the_changes_tab_shows_names_escaped():
    row = change_row(ChangedFile(HOSTILE, "added", 1, 0, False, old_path="\x1b]0;t\x07"))
    assert row.plain.isprintable() and "\\x1b[2K" in row.plain and "\\x1b]0;t\\x07" in row.plain
