"""The Changes tab: files changed since the start (the baseline) or since the last checkpoint
(what a revert throws away), with +/- counts, and a file's diff."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from container.diff_text import display_path
from container.tracking_model import ChangedFile

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
    """Shows data the app loads; asks the app (messages) for diffs, checkpoints and reverts."""

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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.changes: list[ChangedFile] = []
        self.since = "start"  # or "checkpoint": what the list and diffs are against

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
