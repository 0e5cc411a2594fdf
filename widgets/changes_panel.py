"""The Changes tab: files changed since the start (the baseline) or since the last checkpoint
(what a revert throws away), with +/- counts, and a file's diff. The panel reads them itself,
off the event loop, from its `ChangesSource` (the dashboard's backend, or a fake one).

For an isolated session (`--isolated`) it lists the files of the session's copy that differ
from the user's directory as it is now, each file's hunks (`[` `]` move between them), and
applies what the user picks: `a` the file (from the list) or the hunk (from the diff), `A`
everything; a conflict is shown three-way and nothing is written."""

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

from container.diff_text import display_path, printable
from container.errors import ClaudexError
from container.isolated_model import FileReview
from container.labels import ISOLATED, SessionInfo
from container.tracking_model import ChangedFile, Since
from widgets.session_list import row_key
from widgets.tab_source import ChangesSource, IsolatedSource

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


def review_text(review: FileReview, hunk: int) -> Text:
    """An isolated session's file as the tab shows it: the hunks (`hunk` marked) or the
    conflict three-way. The text is the agent's: nothing in it acts on the terminal."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if review.state == "conflict":
        text.append(f"Conflict: {printable(review.reason)}. Nothing is applied; ", style="bold red")
        text.append("bring it in by hand, or undo your change.\n\n", style="bold red")
        text.append(printable(review.text, keep="\n\t"))
    elif not review.hunks:
        text.append(printable(review.text, keep="\n\t"), style="dim")
    for i, found in enumerate(review.hunks):
        here = i == hunk
        for n, line in enumerate(found.text.splitlines()):
            line = printable(line, keep="\t")
            if n == 0:
                style = "bold reverse cyan" if here else "cyan"
                text.append(("▶ " if here else "  ") + line + "\n", style=style)
                continue
            colour = {"+": "green", "-": "red"}.get(line[:1], "")
            text.append("  " + line + "\n", style=f"bold {colour}" if here else colour)
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
        Binding("a", "apply", "Apply file/hunk", id="changes_apply"),
        Binding("A", "apply_all", "Apply all", id="changes_apply_all"),
        Binding("right_square_bracket", "hunk(1)", "Next hunk", show=False, id="changes_next_hunk"),
        Binding(
            "left_square_bracket", "hunk(-1)", "Previous hunk", show=False, id="changes_prev_hunk"
        ),
    ]
    TRACKING_ACTIONS = {"checkpoint", "revert", "toggle_since"}
    ISOLATED_ACTIONS = {"apply", "apply_all", "hunk"}

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

    class _ReviewLoaded(Message, bubble=False):
        def __init__(self, name: str, review: FileReview) -> None:
            super().__init__()
            self.name = name
            self.review = review

    class _Applied(Message, bubble=False):
        """An apply finished: what it did, or why it wrote nothing (`shown`: the conflict)."""

        def __init__(self, name: str, text: str, failed: bool, shown: str | None) -> None:
            super().__init__()
            self.name = name
            self.text = text
            self.failed = failed
            self.shown = shown

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
        self.review: FileReview | None = None  # an isolated session's file shown
        self.hunk = 0  # its hunk under the cursor
        # A file's diff asked for while another is read: (session, path, old path).
        self._next_diff: tuple[SessionInfo, str, str | None] | None = None

    @property
    def isolated(self) -> bool:
        """The shown session works on its own copy: review and apply, no checkpoints."""
        return self.session is not None and ISOLATED in self.session.labels

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.TRACKING_ACTIONS and self.isolated:
            return False
        return not (action in self.ISOLATED_ACTIONS and not self.isolated)

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
        if ISOLATED in session.labels:  # read on the host: the session may be stopped
            if not isinstance(source, IsolatedSource):
                self.post_message(self.Loaded(name, None, "Isolated sessions are not shown here."))
                return
            try:
                changes = source.isolated_changes(session)
            except ClaudexError as exc:
                self.post_message(self.Loaded(name, None, exc.message, since=since))
                return
            self.post_message(self.Loaded(name, changes, since=since, reload=reload))
            return
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
        if self.session is None:
            return
        ask = (self.session, message.change.path, message.change.old_path)
        if any(w.group == "diff" and not w.is_finished for w in self.workers):
            # One read at a time (a thread is not stopped by a newer one: on a remote engine
            # each is a helper container); the last file asked is read when it ends.
            self._next_diff = ask
            return
        self._read_diff(*ask)

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _read_diff(self, session: SessionInfo, path: str, old_path: str | None) -> None:
        source = self.source
        if source is None or not source.reachable(session):
            return
        since = self._since
        if ISOLATED in session.labels:
            if not isinstance(source, IsolatedSource):
                return
            try:
                review = source.isolated_file(session, path)
            except ClaudexError as exc:
                review = FileReview(path, "error", exc.message, [], f"(cannot show it: {exc})")
            self.post_message(self._ReviewLoaded(row_key(session), review))
            return
        try:
            diff = source.file_diff(session, path, old_path, since)
        except ClaudexError as exc:
            diff = f"(cannot show the diff: {exc.message})"
        self.post_message(self._DiffLoaded(row_key(session), path, diff, since))

    @on(_DiffLoaded)
    def _diff_loaded(self, message: _DiffLoaded) -> None:
        if self._shows(message.name) and message.since == self.since:
            self.show_diff(message.path, message.diff)

    @on(_ReviewLoaded)
    def _review_loaded(self, message: _ReviewLoaded) -> None:
        current = self.current
        if not self._shows(message.name) or current is None:
            return
        if current.path != message.review.path:
            return
        same = self.review is not None and self.review.path == message.review.path
        self.review = message.review
        self.hunk = min(self.hunk, max(len(message.review.hunks) - 1, 0)) if same else 0
        self.show_review()

    def show_review(self) -> None:
        """The file's hunks (the one under the cursor marked), or its conflict three-way."""
        if self.review is not None:
            body = self.query_one("#changes-diff-body", Static)
            body.update(review_text(self.review, self.hunk))

    def action_hunk(self, step: int) -> None:
        review = self.review
        if review is None or not review.hunks:
            return
        self.hunk = max(0, min(self.hunk + step, len(review.hunks) - 1))
        self.show_review()
        line = sum(h.text.count("\n") for h in review.hunks[: self.hunk])
        self.query_one("#changes-diff", VerticalScroll).scroll_to(y=line, animate=False)

    def action_apply(self) -> None:
        """The hunk under the cursor when the diff has the focus, else the file."""
        change, session = self.current, self.session
        if change is None or session is None:
            return
        review = self.review
        in_diff = self.query_one("#changes-diff", VerticalScroll).has_focus_within
        if in_diff and review is not None and review.path == change.path and review.hunks:
            hunk = review.hunks[self.hunk]
            self._apply(session, change.path, self.hunk, hunk.text)
        else:
            self._apply(session, change.path, None, "")

    def action_apply_all(self) -> None:
        if self.session is not None:
            self._apply(self.session, None, None, "")

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def _apply(self, session: SessionInfo, path: str | None, hunk: int | None, shown: str) -> None:
        source = self.source
        if not isinstance(source, IsolatedSource):
            return
        name = row_key(session)
        try:
            done = source.isolated_apply(session, path, hunk, shown)
        except ClaudexError as exc:
            self.post_message(self._Applied(name, exc.message, True, exc.hint))
            return
        self.post_message(self._Applied(name, done, False, None))

    @on(_Applied)
    def _applied(self, message: _Applied) -> None:
        if not self._shows(message.name) or self.session is None:
            return
        text = printable(message.text)
        if message.failed:
            self.notify(text, severity="error", markup=False)
        else:
            self.notify(text, markup=False)
        if message.failed and message.shown:
            self.review = FileReview("", "conflict", message.text, [], message.shown)
            self.show_review()
            return
        self.load(self.session, reload=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A read that failed unexpectedly is a notice, as the screen's own workers' are; a
        diff read that ends starts the one asked for meanwhile."""
        done = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
        if event.worker.group == "diff" and event.state in done and self._next_diff:
            ask, self._next_diff = self._next_diff, None
            self._read_diff(*ask)
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
        if self.isolated:
            if changes:
                summary.append(f"{len(changes)} file(s) of the session's copy differ from your ")
                summary.append(f"directory, +{added} -{removed}   ")
                summary.append("a: apply the file (or hunk, in the diff)  A: all", style="dim")
            else:
                summary.append("The session's copy holds nothing your directory does not.")
        elif changes:
            summary.append(f"{len(changes)} file(s) changed {since}, +{added} -{removed}   ")
        else:
            summary.append(f"No changes {since}.   ")
        if not self.isolated:
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
