"""The config's `[keys]` table: dashboard keys by binding id, checked before the dashboard runs.

Every binding of the dashboard has an `id`; Textual's keymap (`App.set_keymap`) replaces the
keys of a binding by id. Key names are Textual's ("ctrl+x", "f5", "alt+up", "?", "question_mark").
"""

from __future__ import annotations

from claudex_tui.config import ConfigError
from claudex_tui.config_path import config_path

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


def binding_ids() -> dict[str, str]:
    """Every binding id of the dashboard, with its description: read from the classes at run
    time, so bindings added anywhere in the dashboard are known without a list kept by hand."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    import claudex_tui.app
    import claudex_tui.screens.confirm
    import claudex_tui.screens.help
    import claudex_tui.screens.new_session
    import claudex_tui.screens.prompt  # noqa: F401  (their bindings count too)

    found: dict[str, str] = {}
    todo: list[type] = [DOMNode]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if not cls.__module__.startswith(("claudex_tui.", "widgets.")):
            continue
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                found.setdefault(binding.id, binding.description)
    return found


def keymap(keys: dict[str, list[str]]) -> dict[str, str]:
    """The config's `[keys]` as a Textual keymap; an unknown id is one clear error."""
    if not keys:
        return {}
    known = binding_ids()
    for binding_id in keys:
        if binding_id not in known:
            raise ConfigError(
                f"{config_path()}: keys.{binding_id}: no dashboard key has this id",
                "ids: " + ", ".join(sorted(known)),
            )
    return {binding_id: ",".join(values) for binding_id, values in keys.items()}
