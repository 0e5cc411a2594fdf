"""The config's `[keys]` table: dashboard keys by binding id, checked before the dashboard runs.

Every binding of the dashboard has an `id`; Textual's keymap (`App.set_keymap`) replaces the
keys of a binding by id. Key names are Textual's ("ctrl+x", "f5", "alt+up", "?", "question_mark").
"""

from __future__ import annotations

from typing import Any

from claudex_tui.config import ConfigError
from claudex_tui.config_path import config_path


def binding_ids() -> dict[str, str]:
    """Every binding id of the dashboard, with its description: read from the classes at run
    time, so bindings added anywhere in the dashboard are known without a list kept by hand."""
    found: dict[str, str] = {}
    for _, bindings in _binding_classes():
        for binding in bindings:
            if binding.id:
                found.setdefault(binding.id, binding.description)
    return found


def _binding_classes() -> list[tuple[type, list[Any]]]:
    """(class, its own bindings) for every dashboard class that declares some."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    # The app's own module is loaded by whoever asks (it or its command): importing it from
    # here would close a loop between the two.
    import claudex_tui.screens.confirm
    import claudex_tui.screens.dashboard
    import claudex_tui.screens.help
    import claudex_tui.screens.new_session
    import claudex_tui.screens.prompt  # noqa: F401  (their bindings count too)

    found: list[tuple[type, list[Any]]] = []
    todo: list[type] = [DOMNode]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith(("claudex_tui.", "widgets.")):
            own = [b for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding)]
            if own:
                found.append((cls, own))
    return found


def _places() -> list[list[Any]]:
    """Bindings that work together: each class's own; the app's with the dashboard screen's
    (its global keys and the dashboard's are one place for the user)."""
    from textual.app import App

    from claudex_tui.screens.dashboard import DashboardScreen

    classes = _binding_classes()
    screen = [b for cls, own in classes if issubclass(cls, DashboardScreen) for b in own]
    return [[*own, *screen] if issubclass(cls, App) else own for cls, own in classes]


def _clash(keys: dict[str, list[str]]) -> str | None:
    """Two bindings of one place on one key after the remap (Textual would silently keep one)."""
    from textual.keys import _normalize_key_list

    for bindings in _places():
        taken: dict[str, set[str]] = {}
        for b in bindings:
            name = b.id or b.action
            wanted = keys[b.id] if b.id in keys else b.key.split(",")
            for key in _normalize_key_list(",".join(k.strip() for k in wanted)).split(","):
                taken.setdefault(key, set()).add(name)
        for key, names in taken.items():
            if len(names) > 1 and names & set(keys):
                return f"{key!r} would be the key of {' and '.join(sorted(names))}"
    return None


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
    clash = _clash(keys)
    if clash:
        raise ConfigError(f"{config_path()}: keys: {clash}", "give each a key of its own")
    return {binding_id: ",".join(values) for binding_id, values in keys.items()}
