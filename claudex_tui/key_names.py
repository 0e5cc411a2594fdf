"""Key names as Textual delivers them: the check the config's `[keys]` values pass (kept apart
from claudex_tui/keymap.py, which reads every dashboard class, so the config loads no app)."""

from __future__ import annotations

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


def key_problem(key: str) -> str | None:
    """Why `key` names no key Textual can deliver (None when it does)."""
    from textual.keys import Keys, _character_to_key, key_to_character

    *modifiers, base = key.split("+")
    if not all(part and part == part.strip() for part in (*modifiers, base)):
        return f"{key!r} is not a key (modifiers joined by '+'; the + key is 'plus')"
    for modifier in modifiers:
        if modifier not in MODIFIERS:
            return f"{key!r}: {modifier!r} is not a modifier ({', '.join(MODIFIERS)})"
    names = {k.value.rsplit("+", 1)[-1] for k in Keys if not k.value.startswith("<")}
    if len(base) == 1 and base.isprintable():
        return None
    if base in names or key_to_character(base) is not None or _character_to_key(base) != base:
        return None
    return f"{key!r}: {base!r} is not a key name (e.g. a, ?, f5, up, pageup, escape)"
