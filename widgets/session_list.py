"""The session list: every session at a glance, filterable, keyboard-driven.

Pure presentation: rows are built from `container.labels.SessionInfo` (data only) plus what
the app learned about each session (changed files, activity, waiting for the user).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from container.labels import HOST_NETWORK, SessionInfo
from widgets.session_groups import group_id, grouped, isolated_dirs, render_group_header

STATE_MARKS = {
    "running": ("●", "green"),
    "exited": ("○", "bright_black"),
    "created": ("○", "bright_black"),
    "paused": ("‖", "yellow"),
    "restarting": ("↻", "yellow"),
    "dead": ("✖", "red"),
    "removing": ("✖", "bright_black"),
    "failed": ("✖", "red"),
    "unreachable": ("?", "red"),
}


def row_key(session: SessionInfo) -> str:
    """The list's key of a session: its name, prefixed by its engine's unless that is the
    default one (two engines may each run a session of the same name)."""
    if session.engine in ("", "default"):
        return session.name
    return f"{session.engine}/{session.name}"  # '/' never appears in a container name


@dataclass
class SessionRow:
    """One line of the list: the session and what the dashboard knows about it."""

    session: SessionInfo
    changed: int | None = None
    waiting: bool = False
    last_output: float | None = None
    failed: str | None = None
    unreachable: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return row_key(self.session)

    @property
    def state(self) -> str:
        if self.unreachable:
            return "unreachable"
        return "failed" if self.failed else self.session.state


@dataclass
class EngineHeader:
    """What the list shows above one engine's sessions (when there is more than one engine)."""

    name: str
    reachable: bool | None = None  # None: not asked yet
    version: str = ""
    count: int = 0
    reason: str = ""


def render_header(header: EngineHeader, width: int = 0) -> Text:
    text = Text()
    text.append("▾ ", style="dim")
    text.append(header.name, style="bold")
    if header.reachable is None:
        text.append(" · connecting…", style="dim")
    elif header.reachable:
        text.append(" · ").append("reachable", style="green")
        if header.version:
            text.append(f" · {header.version}", style="dim")
        text.append(f" · {header.count} session{'s' if header.count != 1 else ''}", style="dim")
    else:
        text.append(" · ").append("unreachable", style="bold red")
        if header.reason:
            text.append(f" · {header.reason}", style="dim")
    if width > 0:
        text.truncate(width, overflow="ellipsis")
    return text


def _ago(stamp: float | None, now: float) -> str:
    if stamp is None:
        return ""
    seconds = max(0, now - stamp)
    if seconds < 10:  # a busy agent's row stays as it is (its activity comes every 2 s)
        return "now"
    if seconds < 60:
        return f"{int(seconds) // 10 * 10}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds // 3600)}h"


LEGEND = (
    "1-9: the session's number key (kept while the dashboard runs)\n"
    "● running  ○ stopped  ‖ paused  ◆ waiting for you\n"
    "fw: firewalled  host net: no firewall\n"
    "Δ3: 3 files changed since the session started\n"
    "now / 20s / 5m / 2h: time since the agent's last output"
)


def render_row(index: int, row: SessionRow, now: float | None = None, width: int = 0) -> Text:
    """Two lines: number, state and name (and the waiting mark); then what the session is."""
    now = time.time() if now is None else now
    s = row.session
    mark, colour = STATE_MARKS.get(row.state, ("?", "yellow"))
    head = Text()
    head.append(f"{index} " if 1 <= index <= 9 else "  ", style="dim")
    head.append(mark + " ", style=colour)
    if row.waiting:
        head.append("◆ ", style="bold magenta")
    head.append(s.name, style="bold")
    text = Text()
    text.append("    ", style="dim")  # its own span, so the list keeps it as the indent
    if row.state != "running":
        text.append(f"{row.state} · ", style=colour)
    text.append(s.agent if s.managed else "go-tool")
    text.append(f" · {len(s.mounts)} dir{'s' if len(s.mounts) != 1 else ''}")
    # Separators stay unstyled: a styled span's leading space can get lost in rendering.
    if s.network_mode == HOST_NETWORK:
        text.append(" · ").append("host net", style="bold red")
    else:
        text.append(" · ").append("fw", style="green")
    if row.changed is not None:
        text.append(" · ").append(f"Δ{row.changed}", style="cyan" if row.changed else "dim")
    activity = _ago(row.last_output, now)
    if activity:
        text.append(" · ").append(activity, style="dim")
    if width > 0:  # cut long names rather than wrapping them over several lines
        head.truncate(width, overflow="ellipsis")
        text.truncate(width, overflow="ellipsis")
    return Text("\n").join([head, text])


class SessionList(Vertical):
    """Filterable list of sessions; posts `Selected` when the highlighted session changes."""

    DEFAULT_CSS = """
    SessionList { width: 1fr; }
    SessionList > #session-filter { display: none; border: tall $accent; height: 3; }
    SessionList.filtering > #session-filter { display: block; }
    SessionList > OptionList { height: 1fr; border: none; padding: 0; }
    SessionList > #session-empty { color: $text-muted; padding: 1 1; display: none; }
    SessionList.empty > #session-empty { display: block; }
    SessionList.empty > OptionList { display: none; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", show=False, id="list_filter"),
        Binding("j", "cursor_down", "Next in the list", show=False, id="list_down"),
        Binding("k", "cursor_up", "Previous in the list", show=False, id="list_up"),
        *(Binding(str(n), f"pick({n})", show=False, id=f"pick_{n}") for n in range(1, 10)),
    ]

    class Selected(Message):
        """The highlighted session changed (None: nothing is selected)."""

        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    class Activated(Message):
        """Enter on a session: open its terminal."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[str, SessionRow] = {}
        self.shown: list[str] = []
        self.engines: list[EngineHeader] = []
        self.filter_text = ""
        self._selected: str | None = None
        # Each session keeps its place and number while the dashboard runs: one that appears
        # later (made elsewhere, on another engine) goes last, never renumbers the others.
        self._seen: dict[str, int] = {}  # key -> order of first sight
        self.numbers: dict[str, int] = {}  # key -> its number key (1-9), while listed

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter sessions…", id="session-filter")
        options = OptionList(id="session-options")
        options.tooltip = LEGEND
        yield options
        yield Static("No sessions yet.\nPress n to create one.", id="session-empty")

    @property
    def options(self) -> OptionList:
        return self.query_one("#session-options", OptionList)

    @property
    def selected(self) -> str | None:
        return self._selected

    def set_rows(
        self, rows: Iterable[SessionRow], engines: Iterable[EngineHeader] | None = None
    ) -> None:
        """The sessions; with `engines` (more than one), grouped under a header per engine."""
        self.rows = {r.key: r for r in rows}
        if engines is not None:
            self.engines = list(engines)
        self._redraw()

    def set_engines(self, engines: Iterable[EngineHeader]) -> None:
        self.engines = list(engines)
        self._redraw()

    def update_row(self, name: str, **changes: object) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        if all(getattr(row, key) == value for key, value in changes.items()):
            return  # e.g. waiting=False on a session that was not waiting
        for key, value in changes.items():
            setattr(row, key, value)
        self._redraw_row(name)

    def _redraw_row(self, key: str) -> None:
        """That row's text alone (a row's own fields never move it, group it or filter it
        out): an agent's activity notice re-rendered every row, several times a second."""
        options = self.options
        try:
            index = options.get_option_index(key)
        except OptionDoesNotExist:
            return  # filtered out: drawn when shown again
        width = max(options.size.width - 2, 0)
        prompt = self._row_text(key, time.time(), width)
        if options.get_option_at_index(index).prompt != prompt:
            _replace_prompt(options, index, prompt, fits=width > 0)

    def refresh_ages(self) -> None:
        """The rows' "time since the last output" move on by themselves (the dashboard asks
        now and then; only rows whose text changed are drawn again)."""
        if any(row.last_output is not None for row in self.rows.values()):
            self._redraw()

    def _number(self) -> None:
        """First sight gives a session its place and the lowest free number; a session that
        went away gives its number back."""
        for key in sorted(set(self.rows) - set(self._seen)):
            self._seen[key] = len(self._seen)
        for key in set(self.numbers) - set(self.rows):
            del self.numbers[key]
        free = sorted(set(range(1, 10)) - set(self.numbers.values()))
        for key in sorted(self.rows, key=self._seen.__getitem__):
            if key not in self.numbers and free:
                self.numbers[key] = free.pop(0)

    def _redraw(self) -> None:
        self._number()
        needle = self.filter_text.lower()
        before = self.shown
        self.shown = [
            name
            for name in sorted(self.rows, key=self._seen.__getitem__)
            if not needle or _matches(needle, _haystack(self.rows[name].session))
        ]
        self.shown = [k for run in grouped(self.shown, self._session_of) for k in run]
        options = self.options
        now = time.time()
        width = max(self.options.size.width - 2, 0)
        entries: list[tuple[str, Text, bool]] = []  # (option id, prompt, is a header)
        if len(self.engines) > 1:
            # Grouped: each engine's header, then its sessions.
            by_engine: dict[str, list[str]] = {}
            for key in self.shown:
                by_engine.setdefault(self.rows[key].session.engine or "default", []).append(key)
            self.shown = [k for h in self.engines for k in by_engine.get(h.name, [])]
            for header in self.engines:
                entries.append((f"engine:{header.name}", render_header(header, width), True))
                entries += self._entries(by_engine.get(header.name, []), now, width)
        else:
            entries = self._entries(self.shown, now, width)
        was_empty = self.has_class("empty")
        self.set_class(not self.rows and len(self.engines) <= 1, "empty")
        if was_empty and not self.has_class("empty"):
            # The list inside was hidden, so it has no width yet: cut the rows again once it
            # has (the first sessions come after the first layout).
            self.call_after_refresh(self._redraw)
        ids = [e[0] for e in entries]
        if [options.get_option_at_index(i).id for i in range(options.option_count)] == ids:
            # Same entries in the same order: update the text in place, keep the highlight.
            # Only the rows whose text changed: each replacement makes the option list drop
            # its caches and render every row again (an agent's activity every 2 s did that).
            for index, (_, prompt, _header) in enumerate(entries):
                if options.get_option_at_index(index).prompt != prompt:
                    _replace_prompt(options, index, prompt, fits=width > 0)
            return
        options.clear_options()
        options.add_options([Option(p, id=i, disabled=h) for i, p, h in entries])
        keep = self._selected if self._selected in self.shown else None
        self._choose(keep or self._neighbour(before))

    def _session_of(self, key: str) -> SessionInfo:
        return self.rows[key].session

    def _entries(self, keys: list[str], now: float, width: int) -> list[tuple[str, Text, bool]]:
        """Rows of `keys`; isolated sessions of the same directories under a header."""
        entries: list[tuple[str, Text, bool]] = []
        for run in grouped(keys, self._session_of):
            dirs = isolated_dirs(self._session_of(run[0]))
            if len(run) > 1 and dirs is not None:
                entries.append((group_id(dirs), render_group_header(dirs, len(run), width), True))
            entries += [(k, self._row_text(k, now, width), False) for k in run]
        return entries

    def _row_text(self, key: str, now: float, width: int) -> Text:
        return render_row(self.numbers.get(key, 0), self.rows[key], now, width)

    def _neighbour(self, before: list[str]) -> str | None:
        """The selected session went (destroyed, filtered out): the one after it in the list
        as it was, else the one before it, else the first."""
        if self._selected in before:
            at = before.index(self._selected)
            for key in before[at + 1 :] + before[:at][::-1]:
                if key in self.shown:
                    return key
        return self.shown[0] if self.shown else None

    def on_resize(self) -> None:
        if self.rows:
            self._redraw()

    def _choose(self, name: str | None) -> None:
        """The selection is ours (the option list's highlight only shows it)."""
        if name is not None:
            self.options.highlighted = self.options.get_option_index(name)
        if name != self._selected:
            self._selected = name
            self.post_message(self.Selected(name))

    def select(self, name: str) -> None:
        if name in self.shown:
            self._choose(name)

    def move(self, delta: int) -> None:
        if not self.shown:
            return
        index = self.shown.index(self._selected) if self._selected in self.shown else -delta
        self._choose(self.shown[(index + delta) % len(self.shown)])

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # The user moved the highlight (arrows, mouse); rebuilds choose explicitly.
        event.stop()
        option_id = event.option.id
        if option_id in self.shown and event.option_index == self.options.highlighted:
            self._choose(option_id)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Activated(event.option.id))

    def action_cursor_down(self) -> None:
        self.move(1)

    def action_cursor_up(self) -> None:
        self.move(-1)

    def action_pick(self, n: int) -> None:
        for key, number in self.numbers.items():
            if number == n:
                self.select(key)

    def action_filter(self) -> None:
        self.add_class("filtering")
        self.query_one("#session-filter", Input).focus()

    @on(Input.Changed, "#session-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value
        self._redraw()

    @on(Input.Submitted, "#session-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.options.focus()
        if not event.value:
            self.remove_class("filtering")

    def key_escape(self) -> None:
        box = self.query_one("#session-filter", Input)
        if self.has_class("filtering"):
            box.value = ""
            self.remove_class("filtering")
            self.options.focus()


def _replace_prompt(options: OptionList, index: int, prompt: Text, fits: bool) -> None:
    """Replace one option's text, re-rendering that option alone when it keeps its height
    (`fits`: its lines are cut to the list's width, so none wraps): OptionList's own
    replacement drops every option's rendered lines and renders all the visible ones again,
    which was most of the dashboard's time while switching sessions with agents busy."""
    option = options.get_option_at_index(index)
    cache = getattr(options, "_option_render_cache", None)
    heights = getattr(getattr(options, "_line_cache", None), "heights", {})
    same_height = fits and heights.get(index) == prompt.plain.count("\n") + 1
    if cache is None or not hasattr(option, "_set_prompt") or not same_height:
        options.replace_option_prompt_at_index(index, prompt)
        return
    option._set_prompt(prompt)
    for key in [k for k in cache.keys() if k[0] is option]:  # noqa: SIM118 (no __iter__)
        cache.discard(key)
    start = getattr(getattr(options, "_line_cache", None), "index_to_line", {}).get(index)
    if start is None:
        options.refresh()  # the other options' rendered lines come from the cache
    else:  # only its lines are painted again (the whole list was, for an age that moved)
        options.refresh_lines(start, heights[index])


def _haystack(session: SessionInfo) -> str:
    return " ".join([session.name, *session.mounts]).lower()


def _matches(needle: str, haystack: str) -> bool:
    """Every word of the filter appears in the name or a mounted path (the palette is fuzzy)."""
    return all(word in haystack for word in needle.split())
