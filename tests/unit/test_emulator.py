"""TerminalEmulator: modes, replies, screens and scrollback, byte by byte."""

from __future__ import annotations

from pathlib import Path

import pyte
import pytest

from widgets.terminal.emulator import TerminalEmulator

DATA = Path(__file__).parent / "data"


def make(
    columns: int = 20, lines: int = 5, **kwargs: object
) -> tuple[TerminalEmulator, list[bytes]]:
    replies: list[bytes] = []
    emulator = TerminalEmulator(columns, lines, on_reply=replies.append, **kwargs)  # type: ignore[arg-type]
    return emulator, replies


def rows(emulator: TerminalEmulator) -> list[str]:
    return [line.rstrip() for line in emulator.display]


def test_text_wraps_and_cursor_moves() -> None:
    emulator, _ = make(10, 3)
    emulator.feed(b"abcdefghijKL\r\nx\x1b[2;5Hy")
    assert rows(emulator) == ["abcdefghij", "KL  y", "x"]
    assert emulator.cursor_xy == (5, 1)
    assert len(emulator.display) == 3 and all(len(r) == 10 for r in emulator.display)


def test_utf8_and_escapes_split_across_reads() -> None:
    emulator, _ = make()
    data = "né 中 \x1b[31mred\x1b[0m 🙂!".encode()
    for i in range(len(data)):  # one byte at a time
        emulator.feed(data[i : i + 1])
    assert rows(emulator)[0] == "né 中 red 🙂!"
    red = rows(emulator)[0].index("red") + 1  # the wide char takes two cells
    assert emulator.buffer[0][red].fg == "red"
    assert emulator.buffer[0][red + 3].fg == "default"


def test_wide_characters_take_two_cells_and_wrap_whole() -> None:
    emulator, _ = make(5, 2)
    emulator.feed("ab中文".encode())
    # "中" fills cells 2-3; "文" does not fit in the last cell, so it wraps.
    assert rows(emulator) == ["ab中", "文"]
    assert emulator.cursor_xy == (2, 1)
    emulator.feed(b"\x1b[1;4Hx")  # overwriting the second half blanks the first
    assert rows(emulator)[0] == "ab x"


def test_combining_and_variation_selectors_stay_in_their_cell() -> None:
    emulator, _ = make()
    emulator.feed("e\u0301x ❤\ufe0f y".encode())
    assert rows(emulator)[0] == "e\u0301x ❤\ufe0f y"
    line = emulator.buffer[0]
    assert [line[x].data for x in range(5)] == ["e\u0301", "x", " ", "❤\ufe0f", " "]


def test_sgr_16_256_truecolor_and_text_attributes() -> None:
    emulator, _ = make(30, 2)
    emulator.feed(
        b"\x1b[1;3;4;7;31;42mA\x1b[0m\x1b[91;104mB\x1b[38;5;208;48;5;17mC"
        b"\x1b[38;2;1;2;3mD\x1b[38:2::250:128:0mE\x1b[4:0;9mF\x1b[22;23;24;27;29mG"
    )
    a, b, c, d, e, f, g = (emulator.buffer[0][x] for x in range(7))
    assert (a.fg, a.bg, a.bold, a.italics, a.underscore, a.reverse) == (
        "red",
        "green",
        True,
        True,
        True,
        True,
    )
    assert (b.fg, b.bg, b.bold) == ("brightred", "brightblue", False)
    assert (c.fg, c.bg) == ("ff8700", "00005f")
    assert d.fg == "010203"
    assert e.fg == "fa8000"
    assert (f.underscore, f.strikethrough) == (False, True)
    assert not (g.bold or g.italics or g.underscore or g.reverse or g.strikethrough)
    assert g.fg == "fa8000"  # colours survive attribute resets


def test_vim_modifier_key_sequence_does_not_raise_or_print() -> None:
    emulator, _ = make()
    emulator.feed(b"a\x1b[>4;2mb\x1b[>4mc\x1b[?1u\x1b[=5ud")  # stock pyte raises on the first
    assert rows(emulator)[0] == "abcd"


def test_alternate_screen_1049_restores_screen_and_cursor() -> None:
    emulator, _ = make(10, 3)
    emulator.feed(b"main\r\nline2\x1b[1;3H")
    emulator.feed(b"\x1b[?1049h")
    assert emulator.in_alternate_screen
    assert rows(emulator) == ["", "", ""]
    emulator.feed(b"\x1b[Halt screen\x1b[3;1Hbottom\n\n\n")
    assert emulator.scrollback_display == []  # the alternate screen never feeds scrollback
    emulator.feed(b"\x1b[?1049l")
    assert not emulator.in_alternate_screen
    assert rows(emulator) == ["main", "line2", ""]
    assert emulator.cursor_xy == (2, 0)
    # Entering again starts from a clear alternate screen.
    emulator.feed(b"\x1b[?1049h")
    assert rows(emulator) == ["", "", ""]


@pytest.mark.parametrize("mode", [47, 1047])
def test_alternate_screen_47_and_1047(mode: int) -> None:
    emulator, _ = make(10, 2)
    emulator.feed(b"main")
    emulator.feed(f"\x1b[?{mode}h".encode())
    assert emulator.in_alternate_screen
    emulator.feed(b"\x1b[Halt")
    emulator.feed(f"\x1b[?{mode}l".encode())
    assert rows(emulator)[0] == "main"
    emulator.feed(f"\x1b[?{mode}h".encode())
    # 47 keeps what the alternate screen held; 1047 clears it on leaving.
    assert rows(emulator)[0] == ("alt" if mode == 47 else "")


def test_scrollback_is_bounded_and_ordered() -> None:
    emulator, _ = make(10, 3, scrollback=4)
    emulator.feed(b"\r\n".join(str(n).encode() for n in range(10)))
    assert rows(emulator) == ["7", "8", "9"]
    assert [line.rstrip() for line in emulator.scrollback_display] == ["3", "4", "5", "6"]
    assert emulator.scrollback_pushed == 7
    emulator.feed(b"\x1b[3J")  # E3 clears the scrollback, not the screen
    assert emulator.scrollback_display == [] and rows(emulator) == ["7", "8", "9"]


def test_scroll_region_does_not_feed_scrollback() -> None:
    emulator, _ = make(10, 4)
    emulator.feed(b"head\x1b[2;4r\x1b[4;1Ha\r\nb\r\nc\r\nd")
    assert rows(emulator) == ["head", "b", "c", "d"]
    assert emulator.scrollback_display == []


def test_modes_cursor_keys_keypad_paste_focus_sync() -> None:
    emulator, _ = make()
    assert not emulator.cursor_keys_application
    emulator.feed(b"\x1b[?1h\x1b=\x1b[?2004h\x1b[?1004h\x1b[?2026h\x1b[?1007h")
    assert emulator.cursor_keys_application and emulator.keypad_application
    assert emulator.bracketed_paste and emulator.focus_events and emulator.synchronized
    assert emulator.alternate_scroll
    emulator.feed(b"\x1b[?1l\x1b>\x1b[?2004l\x1b[?1004l\x1b[?2026l")
    assert not (
        emulator.cursor_keys_application
        or emulator.keypad_application
        or emulator.bracketed_paste
        or emulator.focus_events
        or emulator.synchronized
    )


def test_mouse_modes_replace_each_other() -> None:
    emulator, _ = make()
    assert (emulator.mouse_tracking, emulator.mouse_encoding) == (0, 0)
    emulator.feed(b"\x1b[?1000h\x1b[?1006h")
    assert (emulator.mouse_tracking, emulator.mouse_encoding) == (1000, 1006)
    emulator.feed(b"\x1b[?1002h")
    assert emulator.mouse_tracking == 1002
    emulator.feed(b"\x1b[?1003h\x1b[?1015h")
    assert (emulator.mouse_tracking, emulator.mouse_encoding) == (1003, 1015)
    emulator.feed(b"\x1b[?1003l\x1b[?1015l")
    assert (emulator.mouse_tracking, emulator.mouse_encoding) == (0, 0)


def test_cursor_visibility() -> None:
    emulator, _ = make()
    assert emulator.cursor_visible
    emulator.feed(b"\x1b[?25l")
    assert not emulator.cursor_visible
    emulator.feed(b"\x1b[?25h")
    assert emulator.cursor_visible


def test_title_and_bell() -> None:
    titles: list[str] = []
    bells: list[None] = []
    emulator = TerminalEmulator(20, 2, on_title=titles.append, on_bell=lambda: bells.append(None))
    emulator.feed(b"\x1b]0;first\x07\x1b]2;second\x1b\\x\x07\x07")
    assert titles == ["first", "second"] and emulator.title == "second"
    assert emulator.bell_count == 2 and len(bells) == 2
    assert rows(emulator)[0] == "x"


def test_replies_to_queries() -> None:
    emulator, replies = make(20, 5)
    emulator.feed(
        b"ab\x1b[3;4H\x1b[6n\x1b[5n\x1b[c\x1b[>c\x1b[?6n\x1b[?2026$p\x1b[?7$p"
        b"\x1b[?9999$p\x1b]11;?\x07\x1bP+q544e\x1b\\\x1b[18t"
    )
    assert replies == [
        b"\x1b[3;4R",
        b"\x1b[0n",
        b"\x1b[?62;22c",
        b"\x1b[>1;10;0c",
        b"\x1b[?3;4R",
        b"\x1b[?2026;2$y",
        b"\x1b[?7;1$y",
        b"\x1b[?9999;0$y",
        b"\x1b]11;rgb:0000/0000/0000\x1b\\",
        b"\x1bP0+r\x1b\\",
        b"\x1b[8;5;20t",
    ]


def test_cursor_save_restore_is_one_reusable_slot() -> None:
    emulator, _ = make()
    emulator.feed(b"\x1b[2;3H\x1b7\x1b[5;5H\x1b8A\x1b[5;5H\x1b8B")
    # A progress bar restores the same saved position again and again.
    assert rows(emulator)[1] == "  B"


def test_dec_line_drawing() -> None:
    emulator, _ = make()
    emulator.feed(b"\x1b(0lqqk\x1b(B lqk")
    assert rows(emulator)[0] == "┌──┐ lqk"


def test_repeat_scroll_up_down_and_erase() -> None:
    emulator, _ = make(10, 4)
    emulator.feed(b"x\x1b[4b\r\n1\r\n2\r\n3")
    assert rows(emulator) == ["xxxxx", "1", "2", "3"]
    emulator.feed(b"\x1b[2S")
    assert rows(emulator) == ["2", "3", "", ""]
    emulator.feed(b"\x1b[1T")
    assert rows(emulator) == ["", "2", "3", ""]
    emulator.feed(b"\x1b[44m\x1b[2J")  # erase with a background colour paints every cell
    assert all(emulator.buffer[y][x].bg == "blue" for y in range(4) for x in range(10))


def test_resize_keeps_the_cursor_line_and_moves_the_rest_to_scrollback() -> None:
    emulator, _ = make(10, 5)
    emulator.feed(b"0\r\n1\r\n2\r\n3\r\n4")
    emulator.resize(3, 6)
    assert (emulator.lines, emulator.columns) == (3, 6)
    assert rows(emulator) == ["2", "3", "4"]
    assert emulator.cursor_xy == (1, 2)
    assert [r.rstrip() for r in emulator.scrollback_display] == ["0", "1"]
    emulator.resize(4, 12)
    assert rows(emulator) == ["2", "3", "4", ""] and len(emulator.display[0]) == 12
    emulator.feed(b"\r\n\tX")
    assert emulator.cursor_xy == (9, 3)  # tab stops exist in the new columns


def test_synchronized_output_keeps_state_until_end() -> None:
    emulator, _ = make()
    emulator.feed(b"\x1b[?2026hframe")
    assert emulator.synchronized and rows(emulator)[0] == "frame"
    emulator.feed(b"\x1b[?2026l")
    assert not emulator.synchronized


def test_reset_returns_to_main_screen() -> None:
    emulator, _ = make()
    emulator.feed(b"\x1b[?1049h\x1b[?1hx\x1bc")
    assert not emulator.in_alternate_screen and not emulator.cursor_keys_application
    assert rows(emulator) == ["", "", "", "", ""]


@pytest.mark.parametrize("name", ["bash"])
def test_same_screen_as_stock_pyte_on_a_recording(name: str) -> None:
    data = (DATA / f"{name}.bin").read_bytes()
    ours = TerminalEmulator(80, 24)
    ours.feed(data)
    stock = pyte.Screen(80, 24)
    pyte.ByteStream(stock).feed(data)
    assert ours.display == stock.display
    assert [[ours.buffer[y][x] for x in range(80)] for y in range(24)] == [
        [stock.buffer[y][x] for x in range(80)] for y in range(24)
    ]


def test_recorded_vim_session_ends_on_main_screen() -> None:
    emulator = TerminalEmulator(80, 24)
    emulator.feed((DATA / "vim.bin").read_bytes())
    assert not emulator.in_alternate_screen


def test_recorded_less_session_shows_end_while_in_alternate_screen() -> None:
    data = (DATA / "less.bin").read_bytes()
    emulator = TerminalEmulator(80, 24)
    quit_at = data.rindex(b"\r\x1b[K\x1b[?1l")  # where less erases its prompt to quit
    emulator.feed(data[:quit_at])
    assert emulator.in_alternate_screen
    assert rows(emulator)[-2] == "300" and rows(emulator)[-1] == "(END)"
    emulator.feed(data[quit_at:])
    assert rows(emulator) == [""] * 24  # less started on an empty screen


def test_desktop_notifications_reach_the_callback() -> None:
    seen: list[str] = []
    emu = TerminalEmulator(40, 5, on_notify=seen.append)
    emu.feed(b"\x1b]9;Claude needs your input\x07")
    emu.feed(b"\x1b]777;notify;Codex;turn complete\x1b\\")
    emu.feed(b"\x1b]777;other;ignored\x07")
    assert seen == ["Claude needs your input", "Codex: turn complete"]
