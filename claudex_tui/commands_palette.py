"""Command palette: "switch to session" with fuzzy matching, session actions, tabs."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from widgets.changes_panel import ChangesPanel
from widgets.session_groups import isolated_dirs

if TYPE_CHECKING:
    from claudex_tui.config import Config
    from container.labels import SessionInfo

TAB_KEYS = (
    ("terminal", "t"),
    ("changes", "g"),
    ("firewall", "w"),
    ("files", "f"),
    ("details", "i"),
)


@runtime_checkable
class SessionActions(Protocol):
    """What the palette needs of the dashboard screen (it imports neither app nor screen)."""

    sessions: dict[str, SessionInfo]
    config: Config

    def select_and_open(self, name: str) -> None: ...

    def action_start_session(self) -> None: ...

    def action_stop_session(self) -> None: ...

    def action_restart_session(self) -> None: ...

    def action_destroy_session(self) -> None: ...

    def action_history(self) -> None: ...

    def action_tab(self, tab: str) -> None: ...

    def post_message(self, message: Any) -> bool: ...


MAX_PAIRS = 30


def _compare_items(app: Any, sessions: Iterable[SessionInfo]) -> list[tuple[str, str, object]]:
    """An entry "Compare A with B" for each two isolated sessions of the same directories."""
    groups: dict[tuple[str, ...], list[SessionInfo]] = {}
    for session in sorted(sessions, key=lambda s: s.name):
        dirs = isolated_dirs(session)
        if dirs is not None:
            groups.setdefault(dirs, []).append(session)
    items: list[tuple[str, str, object]] = []
    for members in groups.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if len(items) < MAX_PAIRS:
                    help_text = "How their results differ (isolated copies of the same directories)"
                    items.append((f"Compare {a.name} with {b.name}", help_text,
                                  partial(_open_compare, app, a, b)))  # fmt: skip
    return items


def _open_compare(app: Any, a: SessionInfo, b: SessionInfo) -> None:
    from claudex_tui.screens.compare import CompareScreen

    app.push_screen(CompareScreen(a, b))


class SessionCommands(Provider):
    """Every session by name (and mounted paths), plus the actions on the selected one."""

    def _commands(self) -> list[tuple[str, str, object]]:
        """The dashboard's (the bottom screen), whatever screen the palette opened over."""
        stack = self.app.screen_stack
        home = stack[0] if stack else None
        if not isinstance(home, SessionActions):
            return []
        items: list[tuple[str, str, object]] = []
        for name, session in sorted(home.sessions.items()):
            where = ", ".join(session.mounts)
            items.append(
                (
                    f"Switch to {name}",
                    f"{session.state} · {where}",
                    partial(home.select_and_open, name),
                )
            )
        for label, action in (
            ("Start selected session", home.action_start_session),
            ("Stop selected session", home.action_stop_session),
            ("Restart selected session", home.action_restart_session),
            ("Destroy selected session", home.action_destroy_session),
        ):
            items.append((label, "", action))
        items.append(
            (
                "History",
                "The selected session's whole terminal history: search, select, copy",
                home.action_history,
            )
        )
        items.append(
            (
                "Checkpoint selected session",
                "Record its files as they are now (a commit in its history)",
                lambda: home.post_message(ChangesPanel.CheckpointRequested()),
            )
        )
        items += _compare_items(self.app, home.sessions.values())
        for tab, key in TAB_KEYS:
            # The key as the user's [keys] has it (a remapped tab key shows its new key).
            keys = home.config.keys.get(f"tab_{tab}") or [key]
            hint = "key " + " or ".join(self.app.get_key_display(Binding(k, "")) for k in keys)
            items.append((f"{tab.title()} tab", hint, partial(home.action_tab, tab)))
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
