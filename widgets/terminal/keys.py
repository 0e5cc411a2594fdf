"""Textual key events, pastes and mouse events as the bytes an xterm would send.

Textual names keys like "ctrl+shift+up" (modifiers sorted) and gives the character a key
produces, if any. Special keys follow xterm: modifiers as the parameter 1 + shift(1) + alt(2)
+ ctrl(4) + meta(8), arrows and Home/End in SS3 form when the program set cursor-key
application mode (DECCKM) and no modifier is held.

No Textual import: everything here works on plain strings and numbers.
"""

from __future__ import annotations

# Final byte of CSI/SS3 keys, and the number of CSI ~ keys.
_LETTER_KEYS = {
    "up": "A",
    "down": "B",
    "right": "C",
    "left": "D",
    "home": "H",
    "end": "F",
    "f1": "P",
    "f2": "Q",
    "f3": "R",
    "f4": "S",
}
_CURSOR_KEYS = {"up", "down", "right", "left", "home", "end"}
_TILDE_KEYS = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
    "f13": 25,
    "f14": 26,
    "f15": 28,
    "f16": 29,
    "f17": 31,
    "f18": 32,
    "f19": 33,
    "f20": 34,
}
_PLAIN = {"enter": b"\r", "tab": b"\t", "escape": b"\x1b", "backspace": b"\x7f", "space": b" "}
# Control characters Textual names rather than spells.
_CONTROL_NAMES = {
    "at": 0,
    "space": 0,
    "left_square_bracket": 0x1B,
    "backslash": 0x1C,
    "right_square_bracket": 0x1D,
    "circumflex_accent": 0x1E,
    "caret": 0x1E,
    "underscore": 0x1F,
    "minus": 0x1F,
    "question_mark": 0x7F,
}
_MODIFIER_BITS = {"shift": 1, "alt": 2, "meta": 2, "ctrl": 4, "super": 8}


def _split(key: str) -> tuple[set[str], str]:
    parts = key.split("+")
    # "ctrl++"/"plus" style names: the last part is the key itself.
    return set(parts[:-1]), parts[-1]


def encode_key(
    key: str, character: str | None, *, cursor_keys_application: bool = False
) -> bytes | None:
    """The bytes for one key press, or None if the key has no terminal encoding."""
    modifiers, name = _split(key)
    modifiers.discard("")
    param = 1 + sum(_MODIFIER_BITS.get(m, 0) for m in modifiers)

    if name in _LETTER_KEYS:
        final = _LETTER_KEYS[name]
        if param > 1:
            return f"\x1b[1;{param}{final}".encode()
        if name in _CURSOR_KEYS and not cursor_keys_application:
            return f"\x1b[{final}".encode()
        return f"\x1bO{final}".encode()
    if name in _TILDE_KEYS:
        number = _TILDE_KEYS[name]
        suffix = f";{param}" if param > 1 else ""
        return f"\x1b[{number}{suffix}~".encode()
    if name == "tab" and "shift" in modifiers:
        return b"\x1b[Z"
    alt = b"\x1b" if modifiers & {"alt", "meta"} else b""
    if name == "backspace" and "ctrl" in modifiers:
        return alt + b"\x08"
    if name in _PLAIN:
        return alt + _PLAIN[name]
    if "ctrl" in modifiers:
        if len(name) == 1 and name.isascii() and (name.isalpha() or name in "@[\\]^_"):
            return alt + bytes([ord(name.upper()) & 0x1F])
        if name in _CONTROL_NAMES:
            return alt + bytes([_CONTROL_NAMES[name]])
    if character:
        return alt + character.encode("utf-8", "surrogatepass")
    return None


PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"


def encode_paste(text: str, *, bracketed: bool) -> bytes:
    """A paste as a terminal sends it: newlines become CR (what Enter sends), and when the
    program asked for bracketed paste the text is wrapped in ESC[200~ ... ESC[201~ (with any
    end marker inside removed, so a paste cannot break out of the brackets)."""
    data = text.replace("\r\n", "\r").replace("\n", "\r").encode("utf-8", "surrogatepass")
    if not bracketed:
        return data
    return PASTE_START + data.replace(PASTE_END, b"") + PASTE_END


# Mouse buttons as xterm numbers them.
MOUSE_LEFT, MOUSE_MIDDLE, MOUSE_RIGHT, MOUSE_RELEASE = 0, 1, 2, 3
WHEEL_UP, WHEEL_DOWN = 64, 65


def encode_mouse(
    button: int,
    x: int,
    y: int,
    *,
    encoding: int,
    release: bool = False,
    motion: bool = False,
    shift: bool = False,
    meta: bool = False,
    ctrl: bool = False,
) -> bytes | None:
    """A mouse report. `x`, `y` are 0-based cells; `encoding` is the xterm mode number
    (0 legacy, 1005 UTF-8, 1006 SGR, 1015 urxvt). None when the position cannot be encoded
    (legacy reports stop at column 223)."""
    code = button | (4 if shift else 0) | (8 if meta else 0) | (16 if ctrl else 0)
    if motion:
        code |= 32
    col, row = x + 1, y + 1
    if encoding == 1006:
        return f"\x1b[<{code};{col};{row}{'m' if release else 'M'}".encode()
    if release:
        code = (code & ~3) | MOUSE_RELEASE  # legacy reports do not say which button
    if encoding == 1015:
        return f"\x1b[{code + 32};{col};{row}M".encode()
    if encoding == 1005:
        if max(col, row) > 2015:
            return None
        return b"\x1b[M" + "".join(chr(v + 32) for v in (code, col, row)).encode()
    if max(col, row) > 223:
        return None
    return b"\x1b[M" + bytes([code + 32, col + 32, row + 32])
