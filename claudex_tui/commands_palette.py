"""Command palette: "switch to session" with fuzzy matching, session actions, tabs."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from widgets.changes_panel import ChangesPanel

if TYPE_CHECKING:
    from claudex_tui.app import ClaudexApp

TAB_KEYS = (
    ("terminal", "t"),
    ("changes", "g"),
    ("firewall", "w"),
    ("files", "f"),
    ("details", "i"),
)


class SessionCommands(Provider):
    """Every session by name (and mounted paths), plus the actions on the selected one."""

    def _app(self) -> ClaudexApp:
        return self.app  # type: ignore[return-value]

    def _commands(self) -> list[tuple[str, str, object]]:
        app = self._app()
        items: list[tuple[str, str, object]] = []
        for name, session in sorted(app.sessions.items()):
            where = ", ".join(session.mounts)
            items.append(
                (
                    f"Switch to {name}",
                    f"{session.state} · {where}",
                    partial(app.select_and_open, name),
                )
            )
        for label, action in (
            ("Start selected session", app.action_start_session),
            ("Stop selected session", app.action_stop_session),
            ("Restart selected session", app.action_restart_session),
            ("Destroy selected session", app.action_destroy_session),
        ):
            items.append((label, "", action))
        items.append(
            (
                "History",
                "The selected session's whole terminal history: search, select, copy",
                app.action_history,
            )
        )
        items.append(
            (
                "Checkpoint selected session",
                "Record its files as they are now (a commit in its history)",
                lambda: app.post_message(ChangesPanel.CheckpointRequested()),
            )
        )
        for tab, key in TAB_KEYS:
            # The key as the user's [keys] has it (a remapped tab key shows its new key).
            keys = app.config.keys.get(f"tab_{tab}") or [key]
            hint = "key " + " or ".join(app.get_key_display(Binding(k, "")) for k in keys)
            items.append((f"{tab.title()} tab", hint, partial(app.action_tab, tab)))
        return items

    async def discover(self) -> Hits:
        for text, help_text, callback in self._commands():
            yield DiscoveryHit(escape(text), callback, help=escape(help_text) or None)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, callback in self._commands():
            score = matcher.match(f"{text} {help_text}")
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(escape(text)),  # names and paths: never markup
                    callback,  # type: ignore[arg-type]
                    help=escape(help_text) or None,  # paths: the palette reads markup
                )
