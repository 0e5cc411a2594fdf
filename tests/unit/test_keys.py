"""Keys, pastes and mouse events encoded as an xterm sends them."""

from __future__ import annotations

import pytest

from widgets.terminal.keys import encode_key, encode_mouse, encode_paste


@pytest.mark.parametrize(
    ("key", "character", "expected"),
    [
        ("a", "a", b"a"),
        ("A", "A", b"A"),
        ("enter", "\r", b"\r"),
        ("tab", "\t", b"\t"),
        ("shift+tab", None, b"\x1b[Z"),
        ("escape", "\x1b", b"\x1b"),
        ("backspace", "\x7f", b"\x7f"),
        ("ctrl+backspace", None, b"\x08"),
        ("ctrl+c", "\x03", b"\x03"),
        ("ctrl+r", None, b"\x12"),
        ("ctrl+o", "\x0f", b"\x0f"),
        ("ctrl+at", None, b"\x00"),
        ("ctrl+backslash", None, b"\x1c"),
        ("alt+x", "x", b"\x1bx"),
        ("alt+enter", None, b"\x1b\r"),
        ("up", None, b"\x1b[A"),
        ("shift+up", None, b"\x1b[1;2A"),
        ("ctrl+left", None, b"\x1b[1;5D"),
        ("alt+ctrl+shift+right", None, b"\x1b[1;8C"),
        ("home", None, b"\x1b[H"),
        ("end", None, b"\x1b[F"),
        ("pageup", None, b"\x1b[5~"),
        ("shift+pagedown", None, b"\x1b[6;2~"),
        ("delete", None, b"\x1b[3~"),
        ("insert", None, b"\x1b[2~"),
        ("f1", None, b"\x1bOP"),
        ("ctrl+f1", None, b"\x1b[1;5P"),
        ("f5", None, b"\x1b[15~"),
        ("f12", None, b"\x1b[24~"),
        ("ä", "ä", "ä".encode()),
        ("shift+f13", None, b"\x1b[25;2~"),
    ],
)
def test_encode_key(key: str, character: str | None, expected: bytes) -> None:
    assert encode_key(key, character) == expected


def test_cursor_key_application_mode() -> None:
    assert encode_key("up", None, cursor_keys_application=True) == b"\x1bOA"
    assert encode_key("home", None, cursor_keys_application=True) == b"\x1bOH"
    # Modifiers always use the CSI form; other keys are unaffected.
    assert encode_key("ctrl+up", None, cursor_keys_application=True) == b"\x1b[1;5A"
    assert encode_key("pageup", None, cursor_keys_application=True) == b"\x1b[5~"


def test_unknown_key_without_character_sends_nothing() -> None:
    assert encode_key("volume_up", None) is None


def test_paste_plain_and_bracketed() -> None:
    assert encode_paste("a\nb\r\nc", bracketed=False) == b"a\rb\rc"
    assert encode_paste("x", bracketed=True) == b"\x1b[200~x\x1b[201~"
    # A paste cannot end the bracket early and run the rest as typed commands.
    assert encode_paste("a\x1b[201~rm -rf", bracketed=True) == b"\x1b[200~arm -rf\x1b[201~"


def test_mouse_sgr_reports() -> None:
    assert encode_mouse(0, 4, 2, encoding=1006) == b"\x1b[<0;5;3M"
    assert encode_mouse(0, 4, 2, encoding=1006, release=True) == b"\x1b[<0;5;3m"
    assert encode_mouse(0, 4, 2, encoding=1006, motion=True, ctrl=True) == b"\x1b[<48;5;3M"
    assert encode_mouse(65, 0, 0, encoding=1006) == b"\x1b[<65;1;1M"


def test_mouse_legacy_reports() -> None:
    assert encode_mouse(2, 0, 0, encoding=0) == b"\x1b[M\x22\x21\x21"
    assert encode_mouse(2, 0, 0, encoding=0, release=True) == b"\x1b[M\x23\x21\x21"
    assert encode_mouse(0, 300, 0, encoding=0) is None  # beyond what X10 bytes can carry
    assert encode_mouse(0, 300, 0, encoding=1005) == b"\x1b[M " + "ō".encode() + b"!"
    assert encode_mouse(0, 300, 0, encoding=1015) == b"\x1b[32;301;1M"
