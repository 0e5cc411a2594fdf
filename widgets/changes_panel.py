"""The Changes tab: files changed since the start (the baseline) or since the last checkpoint
(what a revert throws away), with +/- counts, and a file's diff. The panel reads them itself,
off the event loop, from its `ChangesSource` (the dashboard's backend, or a fake one)."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from container.diff_text import display_path
from container.errors import ClaudexError
from container.labels import SessionInfo
from container.tracking_model import ChangedFile, Since
from widgets.session_list import row_key
from widgets.tab_source import ChangesSource

MAX_ROWS = 2000  # listed files: the agent decides how many change, the list's cost must not follow

STATUS_STYLE = {
    "added": ("A", "green"),
    "modified": ("M", "yellow"),
    "deleted": ("D", "red"),
    "renamed": ("R", "cyan"),
    "copied": ("C", "cyan"),
    "type-changed": ("T", "magenta"),
}


def change_row(change: ChangedFile, width: int = 0) -> Text:
    letter, colour = STATUS_STYLE.get(change.status, ("?", "white"))
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(letter, style=f"bold {colour}").append(" ")
    if change.binary:
        text.append("bin", style="dim").append(" ")
    else:
        text.append(f"+{change.added}", style="green").append(" ")
        text.append(f"-{change.removed}", style="red").append(" ")
    if change.old_path:  # names are the agent's: shown with nothing a terminal acts on
        text.append(f"{display_path(change.old_path)} → ", style="dim")
    path = display_path(change.path)
    room = width - len(text.plain)
    if width and len(path) > room > 1:
        path = "…" + path[-(room - 1) :]  # the file name matters more than the folders
    text.append(path)
    return text


class ChangesPanel(Vertical):
    """Reads the shown session's changes and diffs from its source (workers); asks the screen
    (messages) for checkpoints and reverts, which need the user's confirmation."""

    DEFAULT_CSS = """
    ChangesPanel #changes-summary { height: 1; padding: 0 1; color: $text-muted; }
    ChangesPanel #changes-split { height: 1fr; }
    ChangesPanel #changes-files { width: 45%; min-width: 24; border: none; }
    ChangesPanel #changes-diff { width: 1fr; border-left: tall $panel; padding: 0 1; }
    """
    BINDINGS = [
        Binding("c", "checkpoint", "Checkpoint", id="changes_checkpoint"),
        Binding("r", "revert", "Revert file", id="changes_revert"),
        Binding("b", "toggle_since", "Since start/checkpoint", id="changes_since"),
    ]

    class FileChosen(Message):
        def __init__(self, change: ChangedFile) -> None:
            super().__init__()
            self.change = change

    class CheckpointRequested(Message):
        pass

    class RevertRequested(Message):
        def __init__(self, path: str, change: ChangedFile | None = None) -> None:
            super().__init__()
            self.path = path
            self.change = change
            """The file's row as shown (its counts say what the revert throws away)."""

    class SinceChanged(Message):
        """The user switched between "since the start" and "since the last checkpoint"."""

        def __init__(self, since: str) -> None:
            super().__init__()
            self.since = since

    class Loaded(Message):
        """A session's changes were read (it bubbles: the screen keeps the list's counts);
        `changes` None: nothing to list, `note` says why."""

        def __init__(
            self,
            name: str,
            changes: list[ChangedFile] | None,
            note: str = "",
            since: str = "start",
            base: str = "",
            reload: bool = False,
        ) -> None:
            super().__init__()
            self.name = name
            self.changes = changes
            self.note = note
            self.since = since
            self.base = base  # the checkpoint the list is against, described
            self.reload = reload  # the shown file's diff is read again

    class _DiffLoaded(Message, bubble=False):
        def __init__(self, name: str, path: str, diff: str, since: str) -> None:
            super().__init__()
            self.name = name
            self.path = path
            self.diff = diff
            self.since = since

    def __init__(self, source: ChangesSource | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.session: SessionInfo | None = None  # the session shown (its data is kept)
        self.changes: list[ChangedFile] = []
        self.since = "start"  # or "checkpoint": what the list and diffs are against

    # -- loading (off the event loop) ----------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A read of the list is still running (a timer's refresh is not stacked on it)."""
        return any(w.group == "changes" and not w.is_finished for w in self.workers)

    @property
    def _since(self) -> Since:
        """What the list is against (read from the worker threads too)."""
        return "checkpoint" if self.since == "checkpoint" else "start"

    def _shows(self, name: str) -> bool:
        """Is `name` the session shown (and the panel still there: late workers report)?"""
        live = self.is_attached and self.app.is_running
        return live and self.session is not None and row_key(self.session) == name

    def load(self, session: SessionInfo, reload: bool = False) -> None:
        """Read `session`'s changes, since the start or the last checkpoint as the tab shows
        (`reload`: the shown file's diff is read again)."""
        self.session = session
        self._read(session, reload)

    @work(thread=True, exclusive=True, group="changes", exit_on_error=False)
    def _read(self, session: SessionInfo, reload: bool = False) -> None:
        source = self.source
        if source is None or not source.reachable(session):
            return
        since = self._since
        name = row_key(session)
        if not source.tracking_enabled(session):
            note = (
                "This session was made by the Go tool: it has no change tracking."
                if not session.managed
                else "Change tracking is off (--no-git)."
            )
            self.post_message(self.Loaded(name, None, note))
            return
        if not session.running:
            self.post_message(self.Loaded(name, None, f"Session is {session.state}: start it (s)."))
            return
        base = ""
        try:
            changes = source.changes(session, since=since)
            if since == "checkpoint":
                last = source.last_checkpoint(session)
                base = (
                    "none yet: the start"
                    if last.baseline
                    else f"{last.short} {last.message!r}, {last.time:%H:%M:%S}"
                )
        except ClaudexError as exc:
            self.post_message(self.Loaded(name, None, exc.message, since=since))
            return
        self.post_message(self.Loaded(name, changes, since=since, base=base, reload=reload))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if not self._shows(message.name) or message.since != self.since:
            return  # another session's, or read before the user switched what the tab shows
        if message.changes is None:
            self.show_note(message.note)
        else:
            self.show_changes(message.changes, message.base, reload_diff=message.reload)

    @on(FileChosen)
    def _file_chosen(self, message: FileChosen) -> None:
        if self.session is not None:
            self._read_diff(self.session, message.change.path, message.change.old_path)

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _read_diff(self, session: SessionInfo, path: str, old_path: str | None) -> None:
        source = self.source
        if source is None or not source.reachable(session):
            return
        since = self._since
        try:
            diff = source.file_diff(session, path, old_path, since)
        except ClaudexError as exc:
            diff = f"(cannot show the diff: {exc.message})"
        self.post_message(self._DiffLoaded(row_key(session), path, diff, since))

    @on(_DiffLoaded)
    def _diff_loaded(self, message: _DiffLoaded) -> None:
        if self._shows(message.name) and message.since == self.since:
            self.show_diff(message.path, message.diff)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A read that failed unexpectedly is a notice, as the screen's own workers' are."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            text = f"{event.worker.name or 'background task'} failed: {event.worker.error}"
            self.notify(text, severity="error", timeout=10)

    # -- display -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("Select a session.", id="changes-summary", markup=False)  # errors too
        with Horizontal(id="changes-split"):
            yield OptionList(id="changes-files")
            with VerticalScroll(id="changes-diff"):
                yield Static("", id="changes-diff-body")

    def show_note(self, note: str) -> None:
        """No data to list (tracking off, session stopped, not loaded yet...)."""
        self.changes = []
        self.query_one("#changes-summary", Static).update(note)
        self.query_one("#changes-files", OptionList).clear_options()
        self.query_one("#changes-diff-body", Static).update("")

    def since_text(self, base: str = "") -> str:
        """What the list is against, in words (`base`: the checkpoint, described)."""
        if self.since == "checkpoint":
            return f"since the last checkpoint ({base})" if base else "since the last checkpoint"
        return "since the start"

    def show_changes(
        self, changes: list[ChangedFile], base: str = "", reload_diff: bool = False
    ) -> None:
        """The list; the shown file's diff is asked for again when its row changed (or
        `reload_diff`: after a revert or checkpoint, whose diff differs with the same counts)."""
        files = self.query_one("#changes-files", OptionList)
        added = sum(c.added for c in changes)
        removed = sum(c.removed for c in changes)
        since = self.since_text(base)
        other = "start" if self.since == "checkpoint" else "last checkpoint"
        summary = Text(no_wrap=True, overflow="ellipsis")
        if changes:
            summary.append(f"{len(changes)} file(s) changed {since}, +{added} -{removed}   ")
        else:
            summary.append(f"No changes {since}.   ")
        summary.append(f"b: since the {other}", style="dim")
        if len(changes) > MAX_ROWS:
            summary.append(f"   (first {MAX_ROWS} listed: `claudex diff --stat` has all)")
            changes = changes[:MAX_ROWS]
        same = [c.path for c in changes] == [c.path for c in self.changes]
        shown = self.current
        previous = files.highlighted
        self.changes = changes
        self.query_one("#changes-summary", Static).update(summary)
        width = max(files.size.width - 2, 0)
        if same:
            for i, change in enumerate(changes):
                files.replace_option_prompt_at_index(i, change_row(change, width))
            current = self.current
            if current is not None and (reload_diff or current != shown):
                self.post_message(self.FileChosen(current))
            return
        files.clear_options()
        files.add_options([Option(change_row(c, width), id=c.path) for c in changes])
        if changes:
            # The same file stays highlighted when it is still listed (its diff is asked for
            # again: highlighting posts FileChosen).
            paths = [c.path for c in changes]
            keep = paths.index(shown.path) if shown and shown.path in paths else previous or 0
            files.highlighted = min(keep, len(changes) - 1)
        else:
            self.query_one("#changes-diff-body", Static).update("")

    def on_resize(self) -> None:
        if self.changes:
            self.show_changes(self.changes)

    def show_diff(self, path: str, diff: str) -> None:
        current = self.current
        if current is None or current.path != path:
            return
        body = self.query_one("#changes-diff-body", Static)
        if not diff.strip():
            body.update(Text("(no textual difference)", style="dim"))
        else:
            body.update(Syntax(diff, "diff", theme="ansi_dark", word_wrap=False))

    @property
    def current(self) -> ChangedFile | None:
        index = self.query_one("#changes-files", OptionList).highlighted
        return self.changes[index] if index is not None and index < len(self.changes) else None

    @on(OptionList.OptionHighlighted, "#changes-files")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        change = self.current
        if change is not None:
            self.post_message(self.FileChosen(change))

    def action_checkpoint(self) -> None:
        self.post_message(self.CheckpointRequested())

    def action_revert(self) -> None:
        change = self.current
        if change is not None:
            self.post_message(self.RevertRequested(change.path, change))

    def action_toggle_since(self) -> None:
        self.since = "checkpoint" if self.since == "start" else "start"
        self.show_note(f"Loading changes {self.since_text()}…")  # the other view's rows go
        self.post_message(self.SinceChanged(self.since))
        if self.session is not None:
            self.load(self.session)
