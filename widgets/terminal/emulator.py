"""A VT/xterm emulator on top of pyte, for embedding agent terminals.

`TerminalEmulator` is a `pyte.Screen` subclass with its own byte parser. Stock pyte parses
escape sequences one character at a time through a generator and builds every cell with
`namedtuple._replace`; that is the bottleneck for agent output (lots of SGR changes and
full-screen redraws). Here, with the same `buffer[y][x]` of `Char`s:

- one regular expression takes a row of common controls and sequences and the text after it
  in one match; each row is parsed once and cached as a tuple of ready calls (agents send the
  same rows again and again), anything rarer (OSC, DCS, C1, split sequences) goes through a
  slower path;
- cells are cached per attribute set, SGR results are links between those caches keyed by
  the parameter string, and short text runs drawn a second time are cached as lists of cells;
- a text run, wide characters included, is written into its line with one slice assignment
  (`cell_widths.expand` gives one character per cell); only runs with combining marks or
  other zero-width characters, insert mode and autowrap off go a character at a time;
- Ink's frame erase (`CSI 2K CSI 1A` per line) is one action for the whole row;
- the buffer is a list of lines, each a list of exactly `columns` cells (pyte: dicts of the
  cells written), so a scroll is one C-level memmove, not a renumbering of every row.

The resulting buffer is the same as stock pyte's for everything stock pyte handles correctly,
and the screen the same as tmux's on recordings of real programs. Combining characters are
kept as written (`e` + U+0301 stays two code points in the cell), as tmux and xterm keep them.

Beyond stock pyte it has the alternate screen (47/1047/1049), a bounded scrollback,
cursor-key/keypad/bracketed-paste/mouse/focus/synchronized-output modes, xterm's single-slot
DECSC/DECRC, DEC line drawing in UTF-8 mode, colon SGR sub-parameters, REP/SU/SD/CHT/CBT,
and replies to DA1/DA2/DSR/CPR/DECRQM/OSC colour queries. It never raises on any input.

This module must not import Textual.
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

import pyte
from pyte import modes as mo
from pyte.charsets import LAT1_MAP, MAPS
from pyte.screens import Char, Margins, Savepoint

from widgets.terminal.cell_widths import STUB, WIDTHS, expand

# One row of the screen: a list of exactly `columns` cells (stock pyte keeps a dict of the
# cells written so far). A text run goes into a list with one slice assignment, an order of
# magnitude cheaper than inserting its cells into a dict one key at a time. `buffer[y][x]` reads
# the same; rows kept in the scrollback keep the width they had when they left the screen.
Line = list[Char]

# Private (DEC) modes are stored shifted by 5 bits, as pyte does, so they never collide with
# ANSI modes in `Screen.mode`.
DECCKM = 1 << 5  # application cursor keys
DECCOLM = 3 << 5
DECNKM = 66 << 5  # application keypad (also ESC = / ESC >)
MOUSE_X10 = 9 << 5
MOUSE_NORMAL = 1000 << 5
MOUSE_BUTTON = 1002 << 5
MOUSE_ANY = 1003 << 5
FOCUS_EVENTS = 1004 << 5
MOUSE_UTF8 = 1005 << 5
MOUSE_SGR = 1006 << 5
ALTERNATE_SCROLL = 1007 << 5
MOUSE_URXVT = 1015 << 5
BRACKETED_PASTE = 2004 << 5
SYNCHRONIZED_OUTPUT = 2026 << 5

# Private modes that only set a flag here and in pyte, set without going through set_mode:
# agents send synchronized output on and off around every frame.
_FLAG_MODES = {
    f"?{mode >> 5}": mode
    for mode in (
        DECCKM,
        DECNKM,
        FOCUS_EVENTS,
        ALTERNATE_SCROLL,
        BRACKETED_PASTE,
        SYNCHRONIZED_OUTPUT,
    )
}
_MOUSE_TRACKING = (MOUSE_X10, MOUSE_NORMAL, MOUSE_BUTTON, MOUSE_ANY)
_MOUSE_ENCODINGS = (MOUSE_UTF8, MOUSE_SGR, MOUSE_URXVT)
_ALT_SCREEN_MODES = (47, 1047, 1049)
# Modes DECRQM reports as known; anything else is answered "not recognised".
_KNOWN_PRIVATE = {
    1,
    5,
    6,
    7,
    9,
    12,
    25,
    47,
    66,
    1000,
    1002,
    1003,
    1004,
    1005,
    1006,
    1007,
    1015,
    1047,
    1048,
    1049,
    2004,
    2026,
}

# Whole sequences. CSI follows ECMA-48 (parameter, intermediate, final bytes); OSC ends at
# BEL or ST; DCS/APC/PM/SOS end at ST; the rest are two- or three-byte escapes.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)(?P<cp>[\x30-\x3f]*)(?P<ci>[\x20-\x2f]*)(?P<cf>[\x40-\x7e])"
    r"|(?:\x1b\]|\x9d)(?P<osc>[^\x07\x1b\x9c]*)(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b(?P<sk>[P_^X])|[\x90\x98\x9e\x9f])(?P<str>[^\x1b\x9c]*)(?:\x1b\\|\x9c)"
    r"|\x1b(?P<ei>[\x20-\x2f]+)(?P<ef>[\x30-\x7e])"
    r"|\x1b(?P<e>[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e])"
)
# The longest prefix that could still grow into a sequence. If it runs to the end of the
# input the sequence was split across reads; otherwise the sequence is malformed and skipped.
_PREFIX = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x1b\Z)?"
    r"|(?:\x1b[P_^X]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\Z)?"
    r"|\x1b[\x20-\x2f]*"
)
# One control or sequence the fast path takes: CR LF, a C0 control, a CSI without embedded
# controls, a two- or three-byte escape.
_CONTROL = (
    r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    r"|\r\n|[\x00-\x1a\x1c-\x1f]"
    r"|\x1b[\x20-\x2f]+[\x30-\x7e]"
    r"|\x1b[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e]"
)
_ONE_CONTROL = re.compile(_CONTROL)
# How Ink (Claude Code, Codex, Gemini CLI) erases its previous frame: `CSI 2K CSI 1A` for each
# of its lines, twenty times a second. One action takes the lot.
_ERASE_UP = re.compile(r"(?:\x1b\[2K\x1b\[1?A)+")
# The common tokens, matched in one step: the controls and sequences in a row (group 1, maybe
# none) and the run of text after them (group 2, maybe empty). Agents repeat the same rows of
# sequences (erase and move up, thirteen times; reset colour, CR LF, set colour), so a whole
# row is looked up at once. An empty match means anything else (OSC, DCS, C1, split or
# malformed sequences), which goes the slow way through _SEQUENCE.
_TOKEN = re.compile(f"((?:{_CONTROL})+)?([^\x00-\x1f\x7f-\x9f]*)")
_IRM = mo.IRM
_DECAWM = mo.DECAWM
_INTERMEDIATES = frozenset(map(chr, range(0x20, 0x30)))
# Cache bounds. The program (an untrusted agent) chooses what is cached, so every cache is
# bounded in entries and in key length: a few tens of MB at worst, far less in use.
_MAX_CELL_CACHES = 256  # attribute sets whose cells are kept (see _CellCache)
_MAX_CELLS = 1024  # cells kept per attribute set
_MAX_SGR_LINKS = 256  # SGR results kept per attribute set
_MAX_RUN_LENGTH = 64  # text runs longer than this are not cached
_MAX_RUNS = 8192  # cached text runs, all attribute sets together
_MAX_ACTIONS = 4096  # cached sequence actions; cursor positions alone can be lines x columns
_MAX_ROWS = 1024  # cached rows of sequences
_MAX_KEY = 64  # longest sequence or SGR parameter string cached
_MAX_ROW_KEY = 1024  # longest row of sequences cached (Ink erasing a frame of 100 lines)
# A CSI with C0 controls embedded (VT100s execute them in place; vttest checks it).
_CSI_WITH_CONTROLS = re.compile(r"(?:\x1b\[|\x9b)[\x30-\x3f\x07-\x0d]*[\x20-\x2f]*[\x40-\x7e]")
# An unterminated string sequence (say an endless OSC 52) is dropped past this size.
_MAX_PENDING = 1 << 20

_FG_NAMES = {
    30: "black",
    31: "red",
    32: "green",
    33: "brown",
    34: "blue",
    35: "magenta",
    36: "cyan",
    37: "white",
    39: "default",
}
_FG_BRIGHT = {
    90 + i: "bright" + name
    for i, name in enumerate(["black", "red", "green", "brown", "blue", "magenta", "cyan", "white"])
}
_BG_NAMES = {k + 10: v for k, v in _FG_NAMES.items()}
_BG_BRIGHT = {k + 10: v for k, v in _FG_BRIGHT.items()}
_TEXT_ON = {1: "bold", 3: "italics", 4: "underscore", 5: "blink", 7: "reverse", 9: "strikethrough"}
_TEXT_OFF = {
    22: ("bold",),
    23: ("italics",),
    24: ("underscore",),
    25: ("blink",),
    27: ("reverse",),
    29: ("strikethrough",),
}
_FIELDS = Char._fields
_INDEX = {name: i for i, name in enumerate(_FIELDS)}


def _palette_256() -> list[str]:
    """The xterm 256-colour palette as pyte writes it (six hex digits)."""
    base = [
        (0x00, 0x00, 0x00),
        (0xCD, 0x00, 0x00),
        (0x00, 0xCD, 0x00),
        (0xCD, 0xCD, 0x00),
        (0x00, 0x00, 0xEE),
        (0xCD, 0x00, 0xCD),
        (0x00, 0xCD, 0xCD),
        (0xE5, 0xE5, 0xE5),
        (0x7F, 0x7F, 0x7F),
        (0xFF, 0x00, 0x00),
        (0x00, 0xFF, 0x00),
        (0xFF, 0xFF, 0x00),
        (0x5C, 0x5C, 0xFF),
        (0xFF, 0x00, 0xFF),
        (0x00, 0xFF, 0xFF),
        (0xFF, 0xFF, 0xFF),
    ]
    steps = (0x00, 0x5F, 0x87, 0xAF, 0xD7, 0xFF)
    cube = [(steps[i // 36], steps[i // 6 % 6], steps[i % 6]) for i in range(216)]
    grey = [(8 + 10 * i,) * 3 for i in range(24)]
    return ["{:02x}{:02x}{:02x}".format(*rgb) for rgb in base + cube + grey]


PALETTE_256 = _palette_256()


_new_tuple = tuple.__new__
_BLANK = Char(" ")
_BLANK_REVERSED = Char(" ", reverse=True)


class _CellCache(dict[str, Char]):
    """Cells of one attribute set, keyed by character, built on first use."""

    __slots__ = ("attrs", "rest", "runs", "sgr")

    def __init__(self, attrs: Char) -> None:
        super().__init__()
        self.attrs = attrs
        self.rest = tuple(attrs[1:])
        self[STUB] = _new_tuple(Char, ("", *self.rest))  # the right half of a wide char
        # SGR parameters -> the cells of the attributes they lead to from these: agents repeat
        # the same few colour changes, and a string key hashes faster than a Char.
        self.sgr: dict[str, _CellCache] = {}
        # Short text runs -> their cells: agents redraw the same labels, borders and prompts
        # in every frame.
        self.runs: dict[str, list[Char]] = {}

    def __missing__(self, data: str) -> Char:
        if len(self) >= _MAX_CELLS:
            stub = self[STUB]
            self.clear()
            self[STUB] = stub
        # tuple.__new__ builds the namedtuple without _replace's Python-level _make.
        cell = self[data] = _new_tuple(Char, (data, *self.rest))
        return cell


def _ignore() -> None:
    """The action of a control or sequence this terminal does not act on."""


class TerminalEmulator(pyte.Screen):
    """An xterm-compatible screen fed with raw bytes from a PTY.

    Args:
        columns: width in cells.
        lines: height in cells.
        scrollback: how many lines scrolled off the top of the main screen are kept.
        on_reply: called with bytes the terminal must send back to the program
            (answers to device-attribute, status and cursor-position queries).
        on_bell: called on BEL.
        on_title: called with the new window title (OSC 0/2).
        on_notify: called with the text of a desktop notification (OSC 9, OSC 777;notify).
    """

    # pyte's buffer is a dict of dict lines, a line missing until written. Here it is a list
    # of exactly `lines` lines (see `Line`): `buffer[y][x]` reads the same, and a scroll
    # moves the lines with one C-level memmove rather than renumbering every row.
    buffer: list[Line]  # type: ignore[assignment]

    def __init__(
        self,
        columns: int = 80,
        lines: int = 24,
        *,
        scrollback: int = 10_000,
        on_reply: Callable[[bytes], None] | None = None,
        on_bell: Callable[[], None] | None = None,
        on_title: Callable[[str], None] | None = None,
        on_notify: Callable[[str], None] | None = None,
    ) -> None:
        # Set before pyte's __init__, which calls our reset().
        self.on_reply = on_reply
        self.on_bell = on_bell
        self.on_title = on_title
        self.on_notify = on_notify
        self.scrollback: deque[Line] = deque(maxlen=max(0, scrollback))
        self.scrollback_pushed = 0  # lines ever pushed; gives each one a stable number
        self.bell_count = 0
        self.cursor_style = 0  # DECSCUSR value
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self._cells: dict[Char, _CellCache] = {}
        self._last_cells: _CellCache | None = None
        self._runs_cached = 0
        self._runs_seen: set[str] = set()  # runs drawn once (see _remember_run)
        self._last_text = " "  # the last text drawn, for REP
        self._alt_buffer: Any = None
        self._main_buffer: Any = None
        self._saved: list[Savepoint | None] = [None, None]  # main, alternate
        self._controls = self._control_handlers()
        self._actions: dict[str, Callable[[], None]] = {}
        self._rows: dict[str, tuple[Callable[[], None], ...]] = {}
        self._csi_handlers = self._csi_handler_table()
        super().__init__(columns, lines)

    # -- feeding ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Process bytes from the program; a UTF-8 character or an escape sequence may be
        split across calls. Never raises."""
        self.feed_text(self._decoder.decode(data))

    def new_stream(self) -> None:
        """The program's output starts again from another connection (a reattach): a sequence
        or character the old one left half-sent is dropped, never joined to the new bytes."""
        self._decoder.reset()
        self._pending = ""

    def feed_text(self, text: str) -> None:
        """Process already decoded output."""
        if self._pending:
            text = self._pending + text
            self._pending = ""
        try:
            self._parse(text)
        except Exception:  # pragma: no cover - a bug here must not kill the terminal
            self._pending = ""

    def _parse(self, s: str) -> None:
        draw = self.draw
        finditer = _TOKEN.finditer
        rows = self._rows
        n = len(s)
        pos = 0
        while pos < n:
            # The pattern can match empty anywhere, so finditer never skips a character; an
            # empty match is a token the pattern does not take (see _TOKEN), or the end.
            for m in finditer(s, pos):
                token, text = m.group(1, 2)
                if token is None and not text:
                    pos = m.start()
                    break
                if token is not None:
                    row = rows.get(token)
                    if row is None:
                        row = self._row_for(token)
                    for action in row:
                        try:  # noqa: SIM105
                            action()
                        except Exception:
                            pass  # a malformed or unexpected sequence is ignored, as terminals do
                if text:
                    try:  # noqa: SIM105 - a plain try is free on the hot path, suppress() is not
                        draw(text)
                    except Exception:
                        pass  # never let one odd character stop the stream
            else:
                return  # not reached: the last match is the empty one at the end
            if pos < n:
                pos = self._parse_rare(s, pos)

    def _row_for(self, token: str) -> tuple[Callable[[], None], ...]:
        """The actions of a row of controls and sequences, cached like each one."""
        actions = self._actions
        row: list[Callable[[], None]] = []
        start = 0
        for erase in _ERASE_UP.finditer(token):
            for one in _ONE_CONTROL.findall(token, start, erase.start()):
                row.append(actions.get(one) or self._action_for(one))
            row.append(partial(self._erase_lines_up, erase.group().count("K")))
            start = erase.end()
        for one in _ONE_CONTROL.findall(token, start):
            row.append(actions.get(one) or self._action_for(one))
        done = tuple(row)
        if len(token) <= _MAX_ROW_KEY:
            if len(self._rows) >= _MAX_ROWS:
                self._rows.clear()
            self._rows[token] = done
        return done

    def _action_for(self, token: str) -> Callable[[], None]:
        """What a control or sequence does, as a call without arguments, cached: agents send
        the same few sequences again and again, so each is parsed once."""
        action: Callable[[], None]
        if token == "\r\n":
            action = self._carriage_return_linefeed
        elif len(token) == 1:
            action = self._controls.get(token, _ignore)
        elif token[1] == "[":
            params, inter, final = token[2:-1], "", token[-1]
            while params and params[-1] in _INTERMEDIATES:
                params, inter = params[:-1], params[-1] + inter
            if final == "m" and not inter and (not params or params[0] not in "<=>?"):
                action = partial(self._sgr, params)
            elif not inter and final in "hl" and params in _FLAG_MODES:
                action = partial(self._flag_mode, _FLAG_MODES[params], final == "h")
            elif inter or params[:1] in ("<", "=", ">", "?"):
                action = partial(self._csi, params, inter, final)
            else:
                handler = self._csi_handlers.get(final)
                action = _ignore if handler is None else partial(handler, *_parse_params(params))
        elif len(token) == 2:
            action = partial(self._escape, token[1])
        else:
            action = partial(self._escape_intermediate, token[1:-1], token[-1])
        if len(token) <= _MAX_KEY:
            if len(self._actions) >= _MAX_ACTIONS:
                self._actions.clear()
            self._actions[token] = action
        return action

    def _flag_mode(self, mode: int, on: bool) -> None:
        """Set or reset a private mode that is only a flag (see _FLAG_MODES)."""
        if on:
            self.mode.add(mode)
        else:
            self.mode.discard(mode)

    def _parse_rare(self, s: str, start: int) -> int:
        """One token the fast pattern does not take; returns where to continue."""
        c = s[start]
        if c == "\x1b" or c in "\x9b\x9d\x90\x98\x9e\x9f":
            seq = _SEQUENCE.match(s, start)
            if seq is None:
                return self._recover(s, start)
            try:  # noqa: SIM105 - a plain try is free on the hot path, suppress() is not
                self._dispatch(seq)
            except Exception:
                pass
            return seq.end()
        return start + 1  # other C1 controls do nothing

    def _recover(self, s: str, start: int) -> int:
        """Handle an escape that is not a whole sequence; returns where to continue."""
        prefix = _PREFIX.match(s, start)
        end = prefix.end() if prefix else start + 1
        if end >= len(s):
            # Split across reads: keep it for the next feed, unless it is absurdly long.
            if len(s) - start <= _MAX_PENDING:
                self._pending = s[start:]
            return len(s)
        embedded = _CSI_WITH_CONTROLS.match(s, start)
        if embedded is not None:
            seq = embedded.group()
            for ch in seq:
                if "\x07" <= ch <= "\x0d":
                    self._controls[ch]()
            self.feed_text("".join(ch for ch in seq if not "\x07" <= ch <= "\x0d"))
            return embedded.end()
        # Malformed: drop what was read of it and go on with the offending character.
        return max(end, start + 1)

    def _control_handlers(self) -> dict[str, Callable[[], None]]:
        return {
            "\x07": self.bell,
            "\x08": self.backspace,
            "\x09": self.tab,
            "\x0a": self.linefeed,
            "\x0b": self.linefeed,
            "\x0c": self.linefeed,
            "\x0d": self.carriage_return,
            "\x0e": self.shift_out,
            "\x0f": self.shift_in,
        }

    def _dispatch(self, seq: re.Match[str]) -> None:
        group = seq.lastgroup
        if group == "cf":
            params, inter, final = seq.group("cp", "ci", "cf")
            if final == "m" and not inter and (not params or params[0] not in "<=>?"):
                self._sgr(params)
            else:
                self._csi(params, inter, final)
        elif group == "osc":
            self._osc(seq.group("osc"))
        elif group == "str":
            kind = seq.group("sk") or seq.group()[0]
            if kind in "P\x90":
                self._dcs(seq.group("str"))
        elif group == "ef":
            self._escape_intermediate(seq.group("ei"), seq.group("ef"))
        elif group == "e":
            self._escape(seq.group("e"))

    # -- escape sequences ------------------------------------------------------------------

    def _escape(self, final: str) -> None:
        if final == "7":
            self.save_cursor()
        elif final == "8":
            self.restore_cursor()
        elif final == "D":
            self.index()
        elif final == "E":
            self.carriage_return()
            self.index()
        elif final == "M":
            self.reverse_index()
        elif final == "H":
            self.set_tab_stop()
        elif final == "c":
            self.reset()
        elif final == "=":
            self.mode.add(DECNKM)
        elif final == ">":
            self.mode.discard(DECNKM)

    def _escape_intermediate(self, inter: str, final: str) -> None:
        if inter == "#" and final == "8":
            self.alignment_display()
        elif inter in ("(", ")"):
            # xterm honours DEC line drawing in UTF-8 mode too; ncurses uses it for boxes.
            self.define_charset(final, inter)

    def _csi(self, params: str, inter: str, final: str) -> None:
        private = params[:1] if params[:1] in ("<", "=", ">", "?") else ""
        args = _parse_params(params[1:] if private else params)
        if inter:
            self._csi_intermediate(private, args, inter, final)
        elif private == "?":
            if final == "h":
                self.set_mode(*args, private=True)
            elif final == "l":
                self.reset_mode(*args, private=True)
            elif final == "n" and args[:1] == [6]:
                x, y = self._cursor_report()
                self.write_process_input(f"\x1b[?{y};{x}R")
        elif private == ">":
            if final == "c" and args[:1] in ([], [0]):
                # Secondary DA: "VT220, firmware 10". vim parses this; any answer stops it
                # waiting.
                self.write_process_input("\x1b[>1;10;0c")
        elif private:
            return
        else:
            handler = self._csi_handlers.get(final)
            if handler is not None:
                handler(*args)

    def _csi_intermediate(self, private: str, args: list[int], inter: str, final: str) -> None:
        if inter == " " and final == "q" and not private:
            self.cursor_style = args[0] if args else 0
        elif inter == "!" and final == "p":
            self.soft_reset()
        elif inter == "$" and final == "p":
            mode = args[0] if args else 0
            if private == "?":
                known = mode in _KNOWN_PRIVATE
                state = (mode << 5) in self.mode or (
                    mode in _ALT_SCREEN_MODES and self.in_alternate_screen
                )
                value = (1 if state else 2) if known else 0
                self.write_process_input(f"\x1b[?{mode};{value}$y")
            elif not private:
                value = (1 if mode in self.mode else 2) if mode in (4, 20) else 0
                self.write_process_input(f"\x1b[{mode};{value}$y")

    def _csi_handler_table(self) -> dict[str, Callable[..., None]]:
        return {
            "@": self.insert_characters,
            "A": self.cursor_up,
            "B": self.cursor_down,
            "C": self.cursor_forward,
            "D": self.cursor_back,
            "E": self.cursor_down1,
            "F": self.cursor_up1,
            "G": self.cursor_to_column,
            "H": self.cursor_position,
            "I": self._forward_tabs,
            "J": self.erase_in_display,
            "K": self.erase_in_line,
            "L": self.insert_lines,
            "M": self.delete_lines,
            "P": self.delete_characters,
            "S": self.scroll_up,
            "T": self.scroll_down,
            "X": self.erase_characters,
            "Z": self._backward_tabs,
            "`": self.cursor_to_column,
            "a": self.cursor_forward,
            "b": self._repeat_last,
            "c": self.report_device_attributes,
            "d": self.cursor_to_line,
            "e": self.cursor_down,
            "f": self.cursor_position,
            "g": self.clear_tab_stop,
            "h": self.set_mode,
            "l": self.reset_mode,
            "n": self.report_device_status,
            "r": self.set_margins,
            "s": self.save_cursor_ansi,
            "t": self._window_op,
            "u": self.restore_cursor_ansi,
        }

    def _osc(self, body: str) -> None:
        code, _, param = body.partition(";")
        if code in ("0", "1"):
            self.set_icon_name(param)
        if code in ("0", "2"):
            self.set_title(param)
        elif code in ("9", "777") and self.on_notify is not None:
            # Programs ask the terminal for a desktop notification when they want the user:
            # OSC 9 ; text (iTerm2) and OSC 777 ; notify ; title ; body (rxvt, Ghostty).
            if code == "777":
                kind, _, param = param.partition(";")
                if kind != "notify":
                    return
            self.on_notify(param.replace(";", ": ", 1))
        elif code in ("10", "11", "12") and param == "?":
            # Colour queries: Codex and others ask for the default colours to pick a theme.
            rgb = {"10": "cccc/cccc/cccc", "11": "0000/0000/0000", "12": "cccc/cccc/cccc"}
            self.write_process_input(f"\x1b]{code};rgb:{rgb[code]}\x1b\\")

    def _dcs(self, body: str) -> None:
        if body.startswith(("+q", "$q")):
            # XTGETTCAP / DECRQSS: answer "not supported" so the asker does not wait.
            self.write_process_input(f"\x1bP0{body[0]}r\x1b\\")

    # -- SGR -------------------------------------------------------------------------------

    def _sgr(self, params: str) -> None:
        cursor = self.cursor
        cells = self._last_cells
        if cells is None or cells.attrs is not cursor.attrs:
            cells = self._cell_cache(cursor.attrs)
        new = cells.sgr.get(params)
        if new is None:
            new = self._cell_cache(self._compute_sgr(cells.attrs, params))
            if len(params) <= _MAX_KEY:
                if len(cells.sgr) >= _MAX_SGR_LINKS:
                    cells.sgr.clear()
                cells.sgr[params] = new
        cursor.attrs = new.attrs
        self._last_cells = new

    def _compute_sgr(self, attrs: Char, params: str) -> Char:
        values: list[Any] = list(attrs)
        parts = params.split(";") if params else [""]
        i = 0
        while i < len(parts):
            part = parts[i]
            i += 1
            if ":" in part:
                sub = [int(v) if v.isdigit() else 0 for v in part.split(":")]
                head = sub[0]
                if head in (38, 48, 58):
                    colour = _extended_colour(sub[1:], colon=True)
                    if colour is not None and head != 58:
                        values[1 if head == 38 else 2] = colour
                elif head == 4:
                    values[_INDEX["underscore"]] = (sub[1] if len(sub) > 1 else 1) != 0
                continue
            code = int(part) if part.isdigit() else 0
            if code == 0:
                values = list(self.default_char)
            elif code in _FG_NAMES:
                values[1] = _FG_NAMES[code]
            elif code in _BG_NAMES:
                values[2] = _BG_NAMES[code]
            elif code in _TEXT_ON:
                values[_INDEX[_TEXT_ON[code]]] = True
            elif code in _TEXT_OFF:
                for name in _TEXT_OFF[code]:
                    values[_INDEX[name]] = False
            elif code in _FG_BRIGHT:
                values[1] = _FG_BRIGHT[code]
            elif code in _BG_BRIGHT:
                values[2] = _BG_BRIGHT[code]
            elif code in (38, 48, 58):
                rest = [int(v) if v.isdigit() else 0 for v in parts[i : i + 4]]
                colour = _extended_colour(rest, colon=False)
                i += 2 if rest[:1] == [5] else 4 if rest[:1] == [2] else 0
                if colour is not None and code != 58:
                    values[1 if code == 38 else 2] = colour
        return Char(*values)

    def select_graphic_rendition(self, *attrs: int) -> None:
        self._sgr(";".join(map(str, attrs)))

    # -- drawing ---------------------------------------------------------------------------

    def draw(self, data: str) -> None:
        if self.charset:
            data = data.translate(self.g1_charset)
        elif self.g0_charset is not LAT1_MAP:
            data = data.translate(self.g0_charset)
        if not data:
            return
        self._last_text = data
        mode = self.mode
        if _IRM in mode or _DECAWM not in mode or self.columns < 2:
            self._draw_rare(data)
            return
        cursor = self.cursor
        cells = self._last_cells
        if cells is None or cells.attrs is not cursor.attrs:
            cells = self._cell_cache(cursor.attrs)
        run = cells.runs.get(data)
        if run is None:
            if data.isascii():
                run = list(map(cells.__getitem__, data))
            else:
                expanded = expand(data)
                if expanded is None:
                    self._draw_unicode(data)
                    return
                run = list(map(cells.__getitem__, expanded))
            if len(data) <= _MAX_RUN_LENGTH:
                self._remember_run(cells, data, run)
        x = cursor.x
        end = x + len(run)
        if end > self.columns:
            self._write(run)
            return
        # The usual case: the run fits on the line.
        line = self.buffer[cursor.y]
        # Blank the halves of wide characters the run cuts in two (see _split_wide); only a
        # wide character's stub has no text.
        if x and not line[x].data:
            line[x - 1] = line[x - 1]._replace(data=" ")
        if end < len(line) and not line[end].data:
            line[end] = line[end]._replace(data=" ")
        line[x:end] = run
        cursor.x = end
        self.dirty.add(cursor.y)

    def _draw_rare(self, data: str) -> None:
        """Insert mode, autowrap off, or a screen one column wide."""
        if _IRM in self.mode:
            self._draw_unicode(data)
        elif data.isascii() or set(map(WIDTHS.__getitem__, data)) == {1}:
            self._draw_narrow(data)
        else:
            self._draw_unicode(data)

    def _remember_run(self, cells: _CellCache, data: str, run: list[Char]) -> None:
        """Keep a run's cells once it is drawn a second time (with any attributes): most runs
        of new output are never drawn again, and keeping those costs more than it saves."""
        seen = self._runs_seen
        if data not in seen:
            if len(seen) >= _MAX_RUNS:
                seen.clear()
            seen.add(data)
            return
        if self._runs_cached >= _MAX_RUNS:
            for other in self._cells.values():
                other.runs.clear()
            cells.runs.clear()
            self._runs_cached = 0
        cells.runs[data] = run
        self._runs_cached += 1

    def _write(self, cells: list[Char]) -> None:
        """Write cells at the cursor with autowrap on, a line's worth at a time. A wide
        character (a cell followed by its empty stub) that the right margin would cut goes
        whole to the next line and leaves the last column as it was, as tmux does."""
        cursor = self.cursor
        columns = self.columns
        buffer = self.buffer
        dirty = self.dirty
        split_wide = self._split_wide
        n = len(cells)
        i = 0
        x = cursor.x
        while True:
            if x >= columns:
                dirty.add(cursor.y)
                cursor.x = 0
                self.linefeed()
                x = cursor.x
            take = columns - x
            wraps = False
            if take >= n - i:
                take = n - i
            elif cells[i + take].data == "":  # the stub of a wide char that does not fit
                take -= 1
                wraps = True
            if take:
                line = buffer[cursor.y]
                split_wide(line, x, x + take)
                line[x : x + take] = cells[i : i + take] if i or take < n else cells
                i += take
            x = columns if wraps else x + take
            if i >= n:
                break
        cursor.x = x
        dirty.add(cursor.y)

    def _cell_cache(self, attrs: Char) -> _CellCache:
        cells = self._last_cells
        if cells is not None and cells.attrs is attrs:
            return cells
        cells = self._cells.get(attrs)
        if cells is None:
            if len(self._cells) >= _MAX_CELL_CACHES:
                for old in self._cells.values():
                    old.sgr.clear()  # so the caches dropped here are not kept alive by links
                    old.runs.clear()
                self._cells.clear()
                self._runs_cached = 0
            cells = self._cells[attrs] = _CellCache(attrs)
        self._last_cells = cells
        return cells

    def _draw_narrow(self, data: str) -> None:
        """Every character is one cell wide: write whole runs at once."""
        cursor = self.cursor
        columns = self.columns
        cells = self._cell_cache(cursor.attrs)
        autowrap = mo.DECAWM in self.mode
        buffer = self.buffer
        n = len(data)
        i = 0
        x = cursor.x
        while i < n:
            if x >= columns:
                if not autowrap:  # the rest overwrites the last column; the last one stays
                    line = buffer[cursor.y]
                    self._split_wide(line, columns - 1, columns)
                    line[columns - 1] = cells[data[-1]]
                    x = columns
                    break
                self.dirty.add(cursor.y)
                cursor.x = 0
                self.linefeed()
                x = cursor.x
            take = min(n - i, columns - x)
            line = buffer[cursor.y]
            self._split_wide(line, x, x + take)
            line[x : x + take] = map(cells.__getitem__, data[i : i + take])
            x += take
            i += take
        cursor.x = x
        self.dirty.add(cursor.y)

    @staticmethod
    def _split_wide(line: Line, start: int, end: int) -> None:
        """Blank the halves of wide characters that a write to [start, end) cuts in two."""
        if 0 < start < len(line) and not line[start].data:
            line[start - 1] = line[start - 1]._replace(data=" ")
        if 0 <= end < len(line) and not line[end].data:
            line[end] = line[end]._replace(data=" ")

    def _draw_unicode(self, data: str) -> None:
        cursor = self.cursor
        columns = self.columns
        cells = self._cell_cache(cursor.attrs)
        autowrap = mo.DECAWM in self.mode
        insert = mo.IRM in self.mode
        widths = WIDTHS
        for char in data:
            width = widths[char]
            if width < 0:
                continue  # unprintable: skip it (stock pyte drops the rest of the run)
            if width == 0:
                self._combine(char)
                continue
            if cursor.x + width > columns:
                if autowrap:
                    # A wide char that does not fit wraps; the last column stays as it was
                    # (tmux and xterm leave it, so does stock pyte).
                    self.dirty.add(cursor.y)
                    cursor.x = 0
                    self.linefeed()
                else:
                    cursor.x = max(0, columns - width)
            if insert:
                self.insert_characters(width)
            line = self.buffer[cursor.y]
            x = cursor.x
            if width == 2 or not line[x].data:
                self._split_wide(line, x, x + width)
            line[x] = cells[char]
            if width == 2:
                if x + 1 < columns:  # a screen one column wide has no room for the stub
                    line[x + 1] = cells[""]
            elif x + 1 < columns and not line[x + 1].data:
                line[x + 1] = line[x + 1]._replace(data=" ")
            cursor.x = min(x + width, columns)
        self.dirty.add(cursor.y)

    def _combine(self, char: str) -> None:
        """Attach a zero-width character (combining mark, ZWJ, variation selector) to the
        cell before the cursor."""
        cursor = self.cursor
        x, y = min(cursor.x, self.columns) - 1, cursor.y
        if x < 0:
            if y == 0:
                return
            x, y = self.columns - 1, y - 1
        line = self.buffer[y]
        last = line[x]
        if last.data == "" and x > 0:  # the stub of a wide char: attach to its owner
            x -= 1
            last = line[x]
        # Kept as written (e + U+0301 stays two code points), as tmux and xterm keep it.
        line[x] = last._replace(data=last.data + char)
        self.dirty.add(y)

    def _repeat_last(self, count: int = 0) -> None:
        """REP: ncurses uses it (xterm-256color has `rep`)."""
        count = min(max(count, 1), self.columns * self.lines)
        last = self._last_text[-1]
        if last.isprintable():
            self.draw(last * count)

    # -- cursor moves and erasing (pyte's results; without its per-call Margins tuples) ------

    def _carriage_return_linefeed(self) -> None:
        """CR LF, the commonest pair, in one call (index() inlined)."""
        cursor = self.cursor
        cursor.x = 0
        margins = self.margins
        top, bottom = (0, self.lines - 1) if margins is None else margins
        if cursor.y == bottom:
            self._scroll_region_up(top, bottom)
        else:
            cursor.y = min(cursor.y + 1, bottom)

    def cursor_up(self, count: int | None = None) -> None:
        margins = self.margins
        top = 0 if margins is None else margins.top
        self.cursor.y = max(self.cursor.y - (count or 1), top)

    def cursor_down(self, count: int | None = None) -> None:
        margins = self.margins
        bottom = self.lines - 1 if margins is None else margins.bottom
        self.cursor.y = min(self.cursor.y + (count or 1), bottom)

    def cursor_to_column(self, column: int | None = None) -> None:
        self.cursor.x = min(max(0, (column or 1) - 1), self.columns - 1)

    def insert_characters(self, count: int | None = None) -> None:
        """ICH: blanks at the cursor, the rest of the line moves right (what passes the
        margin is lost)."""
        self.dirty.add(self.cursor.y)
        x = min(self.cursor.x, self.columns)
        count = min(count or 1, self.columns - x)
        line = self.buffer[self.cursor.y]
        line[x:x] = [self.default_char] * count
        del line[self.columns :]

    def delete_characters(self, count: int | None = None) -> None:
        """DCH: the cells at the cursor go, the rest of the line moves left, blanks fill the
        end."""
        self.dirty.add(self.cursor.y)
        x = min(self.cursor.x, self.columns)
        count = min(count or 1, self.columns - x)
        line = self.buffer[self.cursor.y]
        del line[x : x + count]
        line.extend([self.default_char] * count)

    def _erase_lines_up(self, count: int) -> None:
        """`CSI 2K CSI 1A` `count` times: erase the line and move up, as those do."""
        cursor = self.cursor
        top = 0 if self.margins is None else self.margins.top
        blank = [cursor.attrs] * self.columns
        buffer = self.buffer
        dirty = self.dirty
        y = cursor.y
        for _ in range(count):
            buffer[y] = blank[:]
            dirty.add(y)
            y = max(y - 1, top)
        cursor.y = y

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        cursor = self.cursor
        self.dirty.add(cursor.y)
        if how == 0:
            start, end = cursor.x, self.columns
        elif how == 1:
            start, end = 0, cursor.x + 1
        elif how == 2:
            start, end = 0, self.columns
        else:
            return
        end = min(end, self.columns)  # the cursor can sit one past the last column
        self.buffer[cursor.y][start:end] = [cursor.attrs] * (end - start)

    # -- scrolling and the scrollback ------------------------------------------------------

    def index(self) -> None:
        cursor = self.cursor
        margins = self.margins
        top, bottom = (0, self.lines - 1) if margins is None else margins
        if cursor.y == bottom:
            self._scroll_region_up(top, bottom)
        else:
            cursor.y = min(cursor.y + 1, bottom)  # pyte's cursor_down(1)

    def _scroll_region_up(self, top: int, bottom: int) -> None:
        buffer = self.buffer
        if top == 0 and not self.in_alternate_screen and self.scrollback.maxlen:
            # The top line leaves the screen: it is not changed again, so keep the object.
            self.scrollback.append(buffer[0])
            self.scrollback_pushed += 1
        self.dirty.update(range(top, bottom + 1))
        del buffer[top]
        buffer.insert(bottom, self._blank_line())

    def scroll_up(self, count: int = 0) -> None:
        """SU: scroll the region up, the cursor stays."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        for _ in range(min(max(count, 1), bottom - top + 1)):
            self._scroll_region_up(top, bottom)

    def scroll_down(self, count: int = 0, *rest: int) -> None:
        """SD: scroll the region down, the cursor stays."""
        if rest:
            return  # CSI Ps;Ps;Ps;Ps;Ps T is mouse highlight tracking, not SD
        top, bottom = self.margins or Margins(0, self.lines - 1)
        buffer = self.buffer
        for _ in range(min(max(count, 1), bottom - top + 1)):
            del buffer[bottom]
            buffer.insert(top, self._blank_line())
        self.dirty.update(range(top, bottom + 1))

    def reverse_index(self) -> None:
        """RI: up one line, scrolling the region down at its top."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == top:
            self.dirty.update(range(self.lines))
            del self.buffer[bottom]
            self.buffer.insert(top, self._blank_line())
        else:
            self.cursor_up()

    def insert_lines(self, count: int | None = None) -> None:
        """IL: blank lines at the cursor's, those below move down inside the region."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        y = self.cursor.y
        if top <= y <= bottom:
            count = min(count or 1, bottom - y + 1)
            self.dirty.update(range(y, self.lines))
            del self.buffer[bottom - count + 1 : bottom + 1]
            self.buffer[y:y] = [self._blank_line() for _ in range(count)]
            self.carriage_return()

    def delete_lines(self, count: int | None = None) -> None:
        """DL: the cursor's line and those after it go, the rest of the region moves up."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        y = self.cursor.y
        if top <= y <= bottom:
            count = min(count or 1, bottom - y + 1)
            self.dirty.update(range(y, self.lines))
            del self.buffer[y : y + count]
            at = bottom - count + 1
            self.buffer[at:at] = [self._blank_line() for _ in range(count)]
            self.carriage_return()

    def clear_scrollback(self) -> None:
        self.scrollback.clear()

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        if how == 3:
            self.clear_scrollback()  # xterm's E3: scrollback only, the screen stays
            return
        if how == 0:
            rows = range(self.cursor.y + 1, self.lines)
        elif how == 1:
            rows = range(self.cursor.y)
        elif how == 2:
            rows = range(self.lines)
        else:
            return
        self.dirty.update(rows)
        attrs = self.cursor.attrs
        buffer = self.buffer
        for y in rows:
            buffer[y] = [attrs] * self.columns
        if how in (0, 1):
            self.erase_in_line(how)

    # -- tabs ------------------------------------------------------------------------------

    def _forward_tabs(self, count: int = 0) -> None:
        for _ in range(min(max(count, 1), self.columns)):
            self.tab()

    def _backward_tabs(self, count: int = 0) -> None:
        for _ in range(min(max(count, 1), self.columns)):
            stops = [s for s in self.tabstops if s < self.cursor.x]
            self.cursor.x = max(stops) if stops else 0

    # -- modes -----------------------------------------------------------------------------

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if not kwargs.get("private"):
            super().set_mode(*modes)
            return
        if 5 in modes:
            self._forget_sgr_links()
        rest = []
        for mode in modes:
            shifted = mode << 5
            if mode in _ALT_SCREEN_MODES:
                self._enter_alternate(save_cursor=mode == 1049, clear=mode == 1049)
            elif mode == 1048:
                self.save_cursor()
            elif shifted == DECCOLM:
                continue  # xterm ignores 80/132 switching by default; the PTY size rules
            elif shifted == mo.DECSCNM:
                self._reverse_screen(True)
            else:
                if shifted in _MOUSE_TRACKING:
                    self.mode.difference_update(_MOUSE_TRACKING)
                elif shifted in _MOUSE_ENCODINGS:
                    self.mode.difference_update(_MOUSE_ENCODINGS)
                rest.append(mode)
        if rest:
            super().set_mode(*rest, private=True)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if not kwargs.get("private"):
            super().reset_mode(*modes)
            return
        if 5 in modes:
            self._forget_sgr_links()
        rest = []
        for mode in modes:
            if mode in _ALT_SCREEN_MODES:
                self._leave_alternate(clear=mode != 47, restore_cursor=mode == 1049)
            elif mode == 1048:
                self.restore_cursor()
            elif (mode << 5) == mo.DECSCNM:
                self._reverse_screen(False)
            elif (mode << 5) != DECCOLM:
                rest.append(mode)
        if rest:
            super().reset_mode(*rest, private=True)

    def _forget_sgr_links(self) -> None:
        """DECSCNM changes what SGR 0 resets to (pyte's default cell is reversed on a
        reverse screen), so SGR results computed before no longer hold."""
        for cells in self._cells.values():
            cells.sgr.clear()

    def _reverse_screen(self, on: bool) -> None:
        """DECSCNM with stock pyte's results: every cell's `reverse` follows the mode (pyte
        flips the cells it holds and the lines' default cell; here every cell is held), and so
        do the current attributes (SGR 7 or 27)."""
        (self.mode.add if on else self.mode.discard)(mo.DECSCNM)
        self.dirty.update(range(self.lines))
        for line in self.buffer:
            line[:] = [cell._replace(reverse=on) for cell in line]
        self.select_graphic_rendition(7 if on else 27)

    @property
    def in_alternate_screen(self) -> bool:
        return self._main_buffer is not None

    def _enter_alternate(self, *, save_cursor: bool, clear: bool) -> None:
        if self.in_alternate_screen:
            return
        if save_cursor:
            self.save_cursor()
        self._main_buffer = self.buffer
        self.buffer = self._alt_buffer
        if clear:
            self.buffer[:] = self._blank_lines()
        self.dirty.update(range(self.lines))

    def _leave_alternate(self, *, clear: bool, restore_cursor: bool) -> None:
        if not self.in_alternate_screen:
            return
        if clear:
            self.buffer[:] = self._blank_lines()
        self.buffer = self._main_buffer
        self._main_buffer = None
        self.dirty.update(range(self.lines))
        if restore_cursor:
            self.restore_cursor()

    @property
    def cursor_keys_application(self) -> bool:
        """DECCKM: arrows send `ESC O A` rather than `ESC [ A`."""
        return DECCKM in self.mode

    @property
    def keypad_application(self) -> bool:
        return DECNKM in self.mode

    @property
    def bracketed_paste(self) -> bool:
        return BRACKETED_PASTE in self.mode

    @property
    def synchronized(self) -> bool:
        """True while the program is between `CSI ? 2026 h` and `CSI ? 2026 l`."""
        return SYNCHRONIZED_OUTPUT in self.mode

    @property
    def focus_events(self) -> bool:
        return FOCUS_EVENTS in self.mode

    @property
    def alternate_scroll(self) -> bool:
        return ALTERNATE_SCROLL in self.mode

    @property
    def mouse_tracking(self) -> int:
        """The mouse mode the program asked for: 0 (none), 9, 1000, 1002 or 1003."""
        for mode in _MOUSE_TRACKING:
            if mode in self.mode:
                return mode >> 5
        return 0

    @property
    def mouse_encoding(self) -> int:
        """0 (X10 bytes), 1005 (UTF-8), 1006 (SGR) or 1015 (urxvt)."""
        for mode in _MOUSE_ENCODINGS:
            if mode in self.mode:
                return mode >> 5
        return 0

    @property
    def cursor_visible(self) -> bool:
        return mo.DECTCEM in self.mode

    @property
    def cursor_xy(self) -> tuple[int, int]:
        """The cursor as (x, y), x clamped to the last column (it can sit one past it while
        a wrap is pending)."""
        return min(self.cursor.x, self.columns - 1), self.cursor.y

    # -- cursor save/restore (xterm: one slot per screen, restore does not consume it) -----

    def save_cursor(self) -> None:
        self._saved[self.in_alternate_screen] = Savepoint(
            pyte.screens.Cursor(self.cursor.x, self.cursor.y, self.cursor.attrs),
            self.g0_charset,
            self.g1_charset,
            self.charset,
            mo.DECOM in self.mode,
            mo.DECAWM in self.mode,
        )

    def restore_cursor(self) -> None:
        saved = self._saved[self.in_alternate_screen]
        if saved is None:
            self.reset_mode(mo.DECOM)
            self.cursor_position()
            return
        self.g0_charset, self.g1_charset, self.charset = (
            saved.g0_charset,
            saved.g1_charset,
            saved.charset,
        )
        (self.mode.add if saved.origin else self.mode.discard)(mo.DECOM)
        (self.mode.add if saved.wrap else self.mode.discard)(mo.DECAWM)
        hidden = self.cursor.hidden
        self.cursor = pyte.screens.Cursor(saved.cursor.x, saved.cursor.y, saved.cursor.attrs)
        self.cursor.hidden = hidden
        self.ensure_hbounds()
        self.ensure_vbounds(use_margins=True)

    def save_cursor_ansi(self, *args: int) -> None:
        if not args:
            self.save_cursor()

    def restore_cursor_ansi(self, *args: int) -> None:
        if not args:
            self.restore_cursor()

    # -- resets ----------------------------------------------------------------------------

    def reset(self) -> None:
        if self._main_buffer is not None:
            self.buffer = self._main_buffer
            self._main_buffer = None
        super().reset()
        self.buffer = self._blank_lines()
        self._alt_buffer = self._blank_lines()
        self._saved = [None, None]
        self._last_cells = None
        self.cursor_style = 0
        self.scrollback.clear()

    def _blank_line(self) -> Line:
        """A line nothing was written on."""
        return [self.default_char] * self.columns

    def _blank_lines(self) -> list[Line]:
        return [self._blank_line() for _ in range(self.lines)]

    @property
    def default_char(self) -> Char:
        """pyte's blank cell (reversed on a reverse screen), without building a new one each
        time: a new line is made of it at every scroll."""
        return _BLANK_REVERSED if mo.DECSCNM in self.mode else _BLANK

    def soft_reset(self) -> None:
        """DECSTR: modes and attributes back to defaults, the screen stays."""
        self.mode.difference_update({mo.IRM, mo.DECOM, DECCKM, DECNKM})
        self.mode.update({mo.DECAWM, mo.DECTCEM})
        self.cursor.hidden = False
        self.margins = None
        self.charset = 0
        self.g0_charset = LAT1_MAP
        self.g1_charset = MAPS["0"]
        self.cursor.attrs = self.default_char
        self._saved[self.in_alternate_screen] = None

    # -- geometry --------------------------------------------------------------------------

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Change the size. Shrinking keeps the cursor's line on screen: lines above it go to
        the scrollback (main screen), lines below it are dropped. Nothing is reflowed; the
        program redraws on SIGWINCH."""
        lines = max(1, lines or self.lines)
        columns = max(1, columns or self.columns)
        if lines == self.lines and columns == self.columns:
            return
        if lines < self.lines:
            shift = max(0, self.cursor.y - (lines - 1))
            for buffer, is_main in (
                (self.buffer, not self.in_alternate_screen),
                (self._other_buffer(), self.in_alternate_screen),
            ):
                if buffer is None:
                    continue
                if is_main and self.scrollback.maxlen:
                    self.scrollback.extend(buffer[:shift])
                    self.scrollback_pushed += shift
                del buffer[:shift]
                del buffer[lines:]
            self.cursor.y -= shift
        if columns != self.columns:  # every line on either screen is `columns` cells long
            blank = self.default_char
            for buffer in (self.buffer, self._other_buffer()):
                for line in buffer or ():
                    del line[columns:]
                    line.extend([blank] * (columns - len(line)))
        old_columns = self.columns
        self.lines, self.columns = lines, columns
        for buffer in (self.buffer, self._other_buffer()):
            if buffer is not None:  # every screen is `lines` lines long
                buffer.extend(self._blank_line() for _ in range(lines - len(buffer)))
        # Keep the program's stops; new columns get the default stop every 8.
        self.tabstops = {x for x in self.tabstops if x < columns}
        self.tabstops.update(range(max(8, (old_columns + 7) // 8 * 8), columns, 8))
        self.margins = None
        self.cursor.x = min(self.cursor.x, columns)
        self.cursor.y = min(self.cursor.y, lines - 1)
        self.dirty.update(range(lines))

    def _other_buffer(self) -> Any:
        return self._main_buffer if self.in_alternate_screen else self._alt_buffer

    # -- queries and notifications ---------------------------------------------------------

    def _cursor_report(self) -> tuple[int, int]:
        x, y = self.cursor_xy
        if mo.DECOM in self.mode and self.margins is not None:
            y -= self.margins.top
        return x + 1, y + 1

    def report_device_attributes(self, mode: int = 0, **kwargs: bool) -> None:
        if mode == 0 and not kwargs.get("private"):
            self.write_process_input("\x1b[?62;22c")  # VT220 with ANSI colour

    def report_device_status(self, mode: int = 0, *args: int) -> None:
        if mode == 5:
            self.write_process_input("\x1b[0n")
        elif mode == 6:
            x, y = self._cursor_report()
            self.write_process_input(f"\x1b[{y};{x}R")

    def _window_op(self, op: int = 0, *args: int) -> None:
        if op == 18:  # text area size in characters
            self.write_process_input(f"\x1b[8;{self.lines};{self.columns}t")

    def write_process_input(self, data: str) -> None:
        if self.on_reply is not None:
            self.on_reply(data.encode())

    def bell(self, *args: Any) -> None:
        self.bell_count += 1
        if self.on_bell is not None:
            self.on_bell()

    def set_title(self, param: str) -> None:
        self.title = param
        if self.on_title is not None:
            self.on_title(param)

    # -- text views ------------------------------------------------------------------------

    @property
    def display(self) -> list[str]:
        """One string per screen line; a wide character's second cell adds nothing."""
        return [self.render_text(self.buffer[y]) for y in range(self.lines)]

    def render_text(self, line: Line) -> str:
        """A line's text, cut or padded to the screen's width (a scrollback line keeps the
        width it had)."""
        text = "".join([cell.data for cell in line[: self.columns]])
        return text + " " * (self.columns - len(line)) if len(line) < self.columns else text

    @property
    def scrollback_display(self) -> list[str]:
        """The scrollback as text, oldest first."""
        return [self.render_text(line) for line in self.scrollback]


def _parse_params(params: str) -> list[int]:
    """CSI parameters as pyte passes them: empty means 0, capped at 9999, sub-parameters
    after ':' dropped."""
    if not params:
        return []
    out = []
    for part in params.split(";"):
        head = part.split(":", 1)[0]
        out.append(min(int(head), 9999) if head.isdigit() else 0)
    return out


def _extended_colour(rest: list[int], *, colon: bool) -> str | None:
    """38/48;5;n or 38/48;2;r;g;b (colon form may carry a colour-space id: 38:2::r:g:b)."""
    if not rest:
        return None
    if rest[0] == 5 and len(rest) >= 2:
        return PALETTE_256[rest[1]] if 0 <= rest[1] < 256 else None
    if rest[0] == 2:
        rgb = rest[1:]
        if colon and len(rgb) >= 4:
            rgb = rgb[1:]
        if len(rgb) >= 3:
            return "{:02x}{:02x}{:02x}".format(*(min(v, 255) for v in rgb[:3]))
    return None
