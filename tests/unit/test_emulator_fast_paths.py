"""The emulator's fast paths (bulk text runs, cached sequences, cached cells and SGR results)
give the same screen as drawing one character at a time, and their caches stay bounded and
never freeze state."""

from __future__ import annotations

import random

import pyte
import pytest

from widgets.terminal import cell_widths
from widgets.terminal import emulator as emulator_module
from widgets.terminal.cell_widths import STUB, expand
from widgets.terminal.cells import CellStyles, cell_segments
from widgets.terminal.emulator import LAT1_MAP, TerminalEmulator


class CharByChar(TerminalEmulator):
    """The reference: every text run goes through the character-at-a-time path (the one
    insert mode and combining characters still take), none of the bulk writes or caches."""

    def draw(self, data: str) -> None:
        if self.charset:
            data = data.translate(self.g1_charset)
        elif self.g0_charset is not LAT1_MAP:
            data = data.translate(self.g0_charset)
        if data:
            self._last_text = data
            self._draw_unicode(data)


TEXT = [
    "abc",
    "hello world",
    "中",
    "文字",
    "→",
    "─" * 7,
    "✓ ok",
    "é",
    "e\u0301",
    "🙂",
    " ",
    "x" * 50,
]
CONTROLS = [
    "\r\n",
    "\r",
    "\n",
    "\b",
    "\t",
    "\x1b[2K",
    "\x1b[K",
    "\x1b[1K",
    "\x1b[1A",
    "\x1b[2B",
    "\x1b[3C",
    "\x1b[2D",
    "\x1b[G",
    "\x1b[5G",
    "\x1b[m",
    "\x1b[1;31m",
    "\x1b[38;5;208m",
    "\x1b[38;2;1;2;3;48;5;17m",
    "\x1b[7m",
    "\x1b[44m",
    "\x1b[?7l",  # autowrap off, then on again: both paths
    "\x1b[?7h",
    "\x1b[4h",  # insert mode
    "\x1b[4l",
    "\x1b[2;4r",
    "\x1b[r",
    "\x1b[S",
    "\x1b[T",
    "\x1bM",
    "\x1b[3@",
    "\x1b[2P",
    "\x1b[2X",
    "\x1b[3b",  # REP: the last character again
    "\x1b(0",
    "\x1b(B",
    "\x1b[?2026h",
    "\x1b[?2026l",
]


def cells(emulator: pyte.Screen) -> list[list[object]]:
    return [[emulator.buffer[y][x] for x in range(emulator.columns)] for y in range(emulator.lines)]


@pytest.mark.parametrize("seed", range(40))
def test_bulk_text_matches_drawing_one_character_at_a_time(seed: int) -> None:
    rng = random.Random(seed)
    columns, lines = rng.randint(2, 30), rng.randint(2, 8)
    stream = []
    for _ in range(300):
        if rng.random() < 0.5:
            stream.append(rng.choice(TEXT))
        elif rng.random() < 0.1:
            stream.append(f"\x1b[{rng.randint(1, lines)};{rng.randint(1, columns + 2)}H")
        else:
            stream.append(rng.choice(CONTROLS))
    data = "".join(stream).encode()
    fast = TerminalEmulator(columns, lines, scrollback=20)
    reference = CharByChar(columns, lines, scrollback=20)
    for offset in range(0, len(data), 97):  # reads that split sequences and characters
        fast.feed(data[offset : offset + 97])
        reference.feed(data[offset : offset + 97])
    assert cells(fast) == cells(reference)
    assert (fast.cursor.x, fast.cursor.y) == (reference.cursor.x, reference.cursor.y)
    assert fast.scrollback_display == reference.scrollback_display


def test_wide_character_at_the_margin_wraps_whole() -> None:
    emulator = TerminalEmulator(5, 3)
    emulator.feed("zzzzz\x1b[1;1Habcd中文x".encode())
    # The last column keeps what it had (tmux does the same).
    assert [line.rstrip() for line in emulator.display] == ["abcdz", "中文x", ""]
    assert [emulator.buffer[1][x].data for x in range(5)] == ["中", "", "文", "", "x"]
    assert emulator.cursor_xy == (4, 1) and emulator.cursor.x == 5  # wrap pending


def test_wide_character_that_does_not_fit_leaves_the_last_column_alone() -> None:
    emulator = TerminalEmulator(5, 3)
    emulator.feed("\x1b[1;4H🙂\x1b[1;5H中".encode())  # from the stub of 🙂: 中 wraps
    assert [emulator.buffer[0][x].data for x in range(5)] == [" ", " ", " ", "🙂", ""]
    assert [line.rstrip() for line in emulator.display] == ["   🙂", "中", ""]


def test_overwriting_half_of_a_wide_character_blanks_the_other_half() -> None:
    emulator = TerminalEmulator(10, 2)
    emulator.feed("中文字".encode())
    emulator.feed(b"\x1b[1;2Hab")  # starts on the stub of the first, ends on the head of another
    assert [emulator.buffer[0][x].data for x in range(6)] == [" ", "a", "b", " ", "字", ""]


def test_combining_characters_are_kept_as_written() -> None:
    emulator = TerminalEmulator(10, 2)
    emulator.feed("e\u0301 \u00e9 中\u0301\x1b[31mn\u0303".encode())
    line = emulator.buffer[0]
    # Decomposed and precomposed stay as they came (tmux and xterm keep them so); a mark
    # after a wide character joins the wide cell, not its stub.
    expected = ["e\u0301", " ", "\u00e9", " ", "中\u0301", "", "n\u0303", " "]
    assert [line[x].data for x in range(8)] == expected
    assert line[6].fg == "red"
    assert emulator.display[0].rstrip() == "e\u0301 \u00e9 中\u0301n\u0303"


def test_combining_mark_after_a_wrap_joins_the_last_cell_of_the_line_above() -> None:
    emulator = TerminalEmulator(3, 2)
    emulator.feed("abc\r\n\x1b[Axyz\u0301".encode())
    assert emulator.buffer[0][2].data == "z\u0301"


def test_cached_sequences_act_on_the_current_state() -> None:
    replies: list[bytes] = []
    emulator = TerminalEmulator(20, 5, on_reply=replies.append)
    emulator.feed(b"\x1b[6n\x1b[3;7H\x1b[6n\x1b[2;4r\x1b[?6h\x1b[6n")
    assert replies == [b"\x1b[1;1R", b"\x1b[3;7R", b"\x1b[1;1R"]
    emulator.feed(b"\x1b[?6l\x1b[r\x1b[5;5H\x1b[2A\x1b[6n")  # a cached CUU moves from here
    assert replies[-1] == b"\x1b[3;5R"


def test_colours_stay_right_past_the_cache_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small bounds so the caches are emptied many times during the stream.
    monkeypatch.setattr(emulator_module, "_MAX_CELL_CACHES", 8)
    monkeypatch.setattr(emulator_module, "_MAX_SGR_LINKS", 4)
    monkeypatch.setattr(emulator_module, "_MAX_RUNS", 16)
    monkeypatch.setattr(emulator_module, "_MAX_ACTIONS", 8)
    monkeypatch.setattr(emulator_module, "_MAX_ROWS", 8)
    monkeypatch.setattr(emulator_module, "_MAX_CELLS", 4)
    emulator = TerminalEmulator(40, 3)
    rng = random.Random(3)
    expected = []
    for i in range(300):
        r, g, b = rng.randrange(256), rng.randrange(256), rng.randrange(4)
        emulator.feed(f"\x1b[{i % 3 + 1};1H\x1b[38;2;{r};{g};{b}mcell{i % 7}\x1b[m".encode())
        expected.append((i % 3, f"{r:02x}{g:02x}{b:02x}"))
        row, colour = expected[-1]
        assert [emulator.buffer[row][x].fg for x in range(5)] == [colour] * 5
        assert emulator.buffer[row][5].fg == "default"
    assert len(emulator._cells) <= 8 and len(emulator._actions) <= 8 and len(emulator._rows) <= 8
    assert emulator._runs_cached <= 16 and len(emulator._runs_seen) <= 16
    assert all(len(cache.sgr) <= 4 and len(cache) <= 4 for cache in emulator._cells.values())


def test_hostile_sequences_are_not_cached_whole() -> None:
    """The agent chooses what the emulator caches: huge rows of sequences and huge SGR
    parameter strings are acted on but never kept as cache keys."""
    emulator = TerminalEmulator(20, 5)
    emulator.feed(b"\x1b[5;3H" + b"\x1b[1A" * 50_000 + b"x")
    huge_sgr = b"\x1b[" + b";".join([b"1"] * 20_000) + b";31mred"
    emulator.feed(huge_sgr)
    assert emulator.display[0] == "  xred" + " " * 14
    assert emulator.buffer[0][3].fg == "red" and emulator.buffer[0][3].bold
    emulator.feed(b"\x1b[m\r\n")  # an ordinary row is cached
    assert "\x1b[m\r\n" in emulator._rows
    assert max(map(len, emulator._rows)) <= emulator_module._MAX_ROW_KEY
    assert max(map(len, emulator._actions)) <= emulator_module._MAX_KEY
    links = [key for cache in emulator._cells.values() for key in cache.sgr]
    assert max(map(len, links), default=0) <= emulator_module._MAX_KEY


def test_text_runs_are_cached_only_when_short() -> None:
    emulator = TerminalEmulator(200, 3)
    short, long = "s" * emulator_module._MAX_RUN_LENGTH, "l" * (emulator_module._MAX_RUN_LENGTH + 1)
    emulator.feed(f"{short}\r\n{long}".encode())
    runs = emulator._cell_cache(emulator.cursor.attrs).runs
    assert not runs  # a run is kept when it comes again, not the first time
    emulator.feed(f"\r\n{short}\r\n{long}".encode())
    assert short in runs and long not in runs
    assert emulator.display[2].rstrip() == long


def test_erase_line_with_a_background_colour_paints_it() -> None:
    emulator = TerminalEmulator(6, 2)
    emulator.feed(b"abcdef\x1b[1;3H\x1b[44m\x1b[K\x1b[2;1H\x1b[2K\x1b[m")
    assert emulator.display[0] == "ab    "
    assert [emulator.buffer[0][x].bg for x in range(6)] == ["default"] * 2 + ["blue"] * 4
    assert [emulator.buffer[1][x].bg for x in range(6)] == ["blue"] * 6
    emulator.feed(b"\x1b[2;1Hxy\x1b[2K")  # default attributes: the line is empty again
    assert emulator.buffer[1][0] == emulator.default_char and emulator.display[1] == " " * 6


def test_text_runs_expand_to_one_character_per_cell() -> None:
    assert expand("a中→🙂") == f"a中{STUB}→🙂{STUB}"
    assert expand("plain") == "plain"
    assert expand("e\u0301") is None  # a combining mark: drawn one character at a time
    assert expand("x\u200dy") is None and expand("bad\x00") is None


def test_reset_after_reverse_screen_follows_the_mode() -> None:
    emulator = TerminalEmulator(10, 2)
    # The same attributes (red, not reversed) and the same SGR 0 with DECSCNM on, then off.
    emulator.feed(b"\x1b[?5h\x1b[27;31m\x1b[0ma\x1b[?5l\x1b[27;31m\x1b[0mb")
    assert emulator.buffer[0][1].reverse is False and emulator.buffer[0][1].fg == "default"
    assert emulator.cursor.attrs == emulator.default_char


@pytest.mark.parametrize("seed", range(20))
def test_erasing_a_frame_matches_stock_pyte_one_sequence_at_a_time(seed: int) -> None:
    """Ink's `CSI 2K CSI 1A` rows (one action for the lot) give stock pyte's screen, inside
    scrolling margins and with a background colour too."""
    rng = random.Random(seed)
    columns, lines = rng.randint(2, 30), rng.randint(2, 10)
    parts = []
    for _ in range(80):
        kind = rng.random()
        if kind < 0.3:
            erase = "\x1b[2K" + rng.choice(("\x1b[1A", "\x1b[A"))
            parts.append(erase * rng.randint(1, lines + 2) + rng.choice(("", "\x1b[2K\x1b[G")))
        elif kind < 0.6:
            # Narrow text only: stock pyte leaves half a wide character where tmux blanks it.
            text = rng.choice(("abc", "hello world", "→", "─" * 7, "✓ ok"))
            parts.append(text + rng.choice(("\r\n", "", "\x1b[41m", "\x1b[m")))
        elif kind < 0.7:
            top = rng.randint(1, lines)
            parts.append(
                f"\x1b[{top};{rng.randint(top, lines)}r" if rng.random() < 0.7 else "\x1b[r"
            )
        else:
            parts.append(f"\x1b[{rng.randint(1, lines)};{rng.randint(1, columns)}H")
    data = "".join(parts).encode()
    ours = TerminalEmulator(columns, lines, scrollback=0)
    ours.feed(data)
    one_at_a_time = TerminalEmulator(columns, lines, scrollback=0)
    for offset in range(len(data)):  # byte by byte: every row holds one sequence
        one_at_a_time.feed(data[offset : offset + 1])
    stock = pyte.Screen(columns, lines)
    pyte.ByteStream(stock).feed(data)
    assert cells(ours) == cells(one_at_a_time) == cells(stock)
    assert (ours.cursor.x, ours.cursor.y) == (stock.cursor.x, stock.cursor.y)


def test_text_widths_from_learned_blocks_match_the_translate_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`expand`'s regular expressions give what the per-character table gives, also past the
    bound on learned blocks (few here, so the fallback is taken often)."""
    blocks = cell_widths._Blocks()
    monkeypatch.setattr(cell_widths, "_MAX_BLOCKS", 6)
    monkeypatch.setattr(cell_widths, "_BLOCKS", blocks)
    rng = random.Random(5)
    ranges = [(0x20, 0x7F), (0xA0, 0x600), (0x2000, 0x2800), (0x3000, 0x3100), (0x4E00, 0x4F00)]
    ranges += [(0xAC00, 0xAD00), (0x1F300, 0x1F700), (0x300, 0x370), (0x200B, 0x2010)]
    pool = [chr(code) for start, end in ranges for code in range(start, end)]
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 12)))
        assert expand(text) == cell_widths._expand_slowly(text), repr(text)
    assert len(blocks.learned) == 6


@pytest.mark.parametrize("seed", range(20))
def test_line_edits_match_stock_pyte(seed: int) -> None:
    """Lines are lists of exactly `columns` cells here, dicts of written cells in stock pyte:
    inserting, deleting and erasing characters and lines, and the reverse screen, give the
    same cells."""
    rng = random.Random(seed)
    columns, lines = rng.randint(2, 20), rng.randint(2, 8)
    edits = ["\x1b[@", "\x1b[3@", "\x1b[P", "\x1b[4P", "\x1b[X", "\x1b[5X", "\x1b[L", "\x1b[2M"]
    edits += ["\x1b[K", "\x1b[1K", "\x1b[2K", "\x1b[J", "\x1b[1J", "\x1b[2J"]
    edits += ["\x1b[?5h", "\x1b[?5l", "\x1b[9999@", "\x1b[9999P", "\x1bM", "\r\n"]
    # Not here: SU (stock pyte has none) and erasing with attributes set (stock pyte paints
    # only the cells it had; xterm and tmux paint the whole area, as we do).
    parts = []
    for _ in range(150):
        if rng.random() < 0.4:
            parts.append(rng.choice(("abc", "hello world", "─" * 5, "x" * 25)))
        elif rng.random() < 0.3:
            parts.append(f"\x1b[{rng.randint(1, lines)};{rng.randint(1, columns + 1)}H")
        else:
            parts.append(rng.choice(edits))
    data = "".join(parts).encode()
    ours = TerminalEmulator(columns, lines, scrollback=0)
    ours.feed(data)
    stock = pyte.Screen(columns, lines)
    pyte.ByteStream(stock).feed(data)
    assert cells(ours) == cells(stock)
    assert len(ours.buffer) == lines and all(len(line) == columns for line in ours.buffer)


def test_scrollback_lines_keep_their_width_and_read_at_the_screen_s() -> None:
    emulator = TerminalEmulator(4, 2, scrollback=10)
    emulator.feed(b"abcd\r\nefgh\r\n")
    emulator.resize(2, 6)
    emulator.feed(b"\x1b[2;1Hijklmn\r\n\r\n")
    assert emulator.scrollback_display == ["abcd  ", "efgh  ", "ijklmn"]
    # A line still on the screen grew with it; the one above had left.
    assert [len(line) for line in emulator.scrollback] == [4, 6, 6]
    emulator.resize(2, 3)
    assert emulator.scrollback_display == ["abc", "efg", "ijk"]
    assert all(len(emulator.buffer[y]) == 3 for y in range(2))
    # Drawn as the widget draws it: cut or padded to the screen's width, colours kept.
    styles = CellStyles()
    emulator.feed(b"\x1b[31mab")
    narrow, *_ = emulator.scrollback
    assert "".join(segment.text for segment in cell_segments(narrow, 6, -1, styles)) == "abcd  "
    segments = cell_segments(emulator.buffer[emulator.cursor.y], 3, -1, styles)
    assert [segment.text for segment in segments] == ["ab", " "]


def test_flag_modes_act_on_the_current_mode_set() -> None:
    """Modes that are only flags (synchronized output, bracketed paste...) skip set_mode; the
    cached action still acts on the mode set a reset put in place."""
    replies: list[bytes] = []
    emulator = TerminalEmulator(10, 2, on_reply=replies.append)
    emulator.feed(b"\x1b[?2026h\x1b[?2004h\x1b[?1h")
    assert emulator.synchronized and emulator.bracketed_paste and emulator.cursor_keys_application
    emulator.feed(b"\x1bc")
    assert not (emulator.synchronized or emulator.bracketed_paste)
    emulator.feed(b"\x1b[?2026h\x1b[?2026$p")
    assert emulator.synchronized and replies == [b"\x1b[?2026;1$y"]
    emulator.feed(b"\x1b[?2026l\x1b[?1l")
    assert not (emulator.synchronized or emulator.cursor_keys_application)
