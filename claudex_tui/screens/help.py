"""`?`: the keys that work where the focus is, read from the bindings (and the user's keymap),
so help says what the footer says; then what works inside a terminal."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from widgets.session_list import LEGEND

# Section titles by the class that holds the bindings (others: the class name).
TITLES = {
    "TerminalWidget": "Terminal",
    "SessionList": "Session list",
    "ChangesPanel": "Changes",
    "FirewallPanel": "Firewall",
    "FilesPanel": "Files",
    "HostTree": "Files (host)",
    "ContainerTree": "Files (session)",
}

Row = tuple[str, str, str]  # keys as shown, description, binding id ([keys] in the config)
Section = tuple[str, list[Row]]


def _ours(node: DOMNode) -> bool:
    return isinstance(node, App) or type(node).__module__.startswith(("claudex_tui.", "widgets."))


def _textuals(node: DOMNode, binding: Binding) -> bool:
    """A binding our class inherits from Textual's (a Screen's Tab, Shift+Tab, Ctrl+C)."""
    return any(
        isinstance(b, Binding)
        and (b.action, b.description) == (binding.action, binding.description)
        for cls in type(node).__mro__
        if cls.__module__.startswith("textual.") and not issubclass(cls, App)
        for b in cls.__dict__.get("BINDINGS", ())
    )


def _title(node: DOMNode, binding: Binding) -> str:
    if isinstance(node, (App, Screen)):  # the app's keys and the dashboard screen's
        return "Everywhere (also in a terminal)" if binding.priority else "Dashboard"
    return TITLES.get(type(node).__name__, type(node).__name__)


def _add(sections: dict[str, dict[str, list[Any]]], title: str, key: str, b: Binding) -> None:
    """One row per action; the keys the footer shows come first (help and footer agree)."""
    action = b.action.removeprefix("app.")  # the dashboard's q and the app's are one
    row = sections.setdefault(title, {}).setdefault(action, [[], [], b.description])
    shown, hidden, _ = row
    if key not in [k for k, _ in shown + hidden]:
        (shown if b.show else hidden).append((key, b.id or ""))


def _rows(rows: dict[str, list[Any]]) -> list[Row]:
    found = []
    for shown, hidden, text in rows.values():
        keys = [key for key, _ in shown + hidden]
        ids = list(dict.fromkeys(bid for _, bid in shown + hidden if bid))
        found.append((" ".join(keys), text, " ".join(ids)))
    return found


def key_sections(app: App[Any], screen: Screen[Any]) -> list[Section]:
    """What works where the focus is on `screen` (innermost first); the same bindings the
    footer shows, with those it has no room for."""
    sections: dict[str, dict[str, list[Any]]] = {}
    for active in screen.active_bindings.values():
        b = active.binding
        if b.description and not b.system and _ours(active.node) and not _textuals(active.node, b):
            _add(sections, _title(active.node, b), app.get_key_display(b), b)
    return [(title, _rows(rows)) for title, rows in sections.items()]


def terminal_section(
    app: App[Any], terminal_bindings: list[Any], screen_bindings: list[Any]
) -> Section:
    """Keys that work inside a session's terminal, wherever the focus is now: the terminal's
    own bindings and the screen's priority ones, as the keymap has them."""
    sections: dict[str, dict[str, list[Any]]] = {}
    title = "Inside a terminal (every other key goes to the agent)"
    maps = [BindingsMap(terminal_bindings), BindingsMap(screen_bindings)]
    for bindings in maps:
        bindings.apply_keymap(app._keymap)
        for found in bindings.key_to_bindings.values():
            for b in found:
                if b.description and (b.priority or bindings is maps[0]):
                    _add(sections, title, app.get_key_display(b), b)
    return title, _rows(sections.get(title, {}))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help_close")]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__()
        self.sections = sections
        self.bindings = [(keys, text) for _, rows in sections for keys, text, _ in rows]

    def compose(self) -> ComposeResult:
        rows_all = [row for _, rows in self.sections for row in rows]
        key_width = max((len(keys) for keys, _, _ in rows_all), default=4)
        text_width = max((len(text) for _, text, _ in rows_all), default=10)
        with VerticalScroll():
            yield Static(Text("claudex keys  (Esc closes)", style="bold"))
            for title, rows in self.sections:
                if not rows:
                    continue
                # One table per place, each column as wide in each: they line up.
                table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
                table.add_column(style="bold cyan", no_wrap=True, width=key_width)
                table.add_column(width=text_width)
                table.add_column(style="dim", no_wrap=True)
                for keys, text, binding_id in rows:
                    table.add_row(Text(keys), Text(text), Text(binding_id))
                yield Static(Text(f"\n{title}", style="bold"))
                yield Static(table)
            yield Static(
                Text(
                    "\nRight column: the id to change a key in config.toml, e.g. "
                    '[keys] tab_files = "F".',
                    style="dim",
                )
            )
            yield Static(Text("\nSession list", style="bold"))
            yield Static(Text(LEGEND), id="legend")  # what the marks and badges mean

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
