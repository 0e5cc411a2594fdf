"""The mount picker: mark host directories in a tree, each read-only or read-write, at a target.

The tree lists the directories of the engine's host through a `HostFS`: this machine's own,
or a remote host's through a helper container. Listing happens in DirectoryTree's own worker
threads (`filter_paths` runs there too), and so does looking at a typed path or completing it
(`host_paths.py`); the marks (`mount_marks.py`) look at path strings only.

Above the tree: a path to type (Tab completes, Enter goes there) and the recent directories.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import Button, DirectoryTree, Input, OptionList, Static
from textual.widgets.directory_tree import DirEntry
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode
from textual.worker import Worker

from container.errors import ClaudexError
from container.host_entries import HostFS
from container.local_fs import LOCAL
from widgets.host_paths import Completion, complete_path, host_path_type, short_path, typed_path
from widgets.mount_marks import Mark, MarkSet


class HostTree(DirectoryTree):
    """Host directories only (files are never mounted), with each mark shown before its name."""

    BINDINGS = [
        Binding("space", "mark", "Mark"),
        Binding("r", "read_only", "ro/rw"),
        Binding("t", "target", "Target"),
        Binding("backspace", "up", "Up a folder"),
        Binding("slash", "type_path('/')", "Type a path"),
        Binding("tilde", "type_path('~/')", "Home", show=False),
        Binding("ctrl+l", "type_path", "Edit the path", show=False),
        Binding("full_stop", "hidden", "Hidden dirs", show=False),
    ]

    show_hidden: var[bool] = var(False)

    @dataclass
    class Command(Message):
        """A key pressed on the highlighted directory: `mark`, `read_only`, `target`, or
        `type:TEXT` (type a path, starting with TEXT)."""

        tree: HostTree
        path: str
        command: str

    def __init__(self, path: str | Path, *, fs: HostFS = LOCAL, id: str | None = None) -> None:
        self.fs = fs
        self.PATH = host_path_type(fs)  # type: ignore[assignment]
        super().__init__(path, id=id)
        self.badges: dict[str, Text] = {}
        self._came_from: str | None = None  # after Backspace: the folder to put the cursor on

    def _directory_content(self, location: Path, worker: Worker[Any]) -> Iterator[Path]:
        try:
            entries = self.fs.list_dir(str(location))
        except ClaudexError as exc:
            text = f"{exc.message}\n{exc.hint}" if exc.hint else exc.message
            self.app.call_from_thread(self.app.notify, text, severity="error", timeout=10)
            return
        except OSError:
            return
        for entry in entries:
            if worker.is_cancelled:
                break
            child = location / entry.name
            child.listed_dir = entry.kind == "dir" or entry.target_is_dir  # type: ignore[attr-defined]
            yield child

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        hidden = self.show_hidden
        return [p for p in paths if (hidden or not p.name.startswith(".")) and self._safe_is_dir(p)]

    def render_label(self, node: TreeNode[DirEntry], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        badge = self.badges.get(str(node.data.path)) if node.data else None
        return Text.assemble(badge, label) if badge else label

    def nodes(self) -> Iterator[TreeNode[DirEntry]]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))  # pre-order, as shown

    def set_badges(self, badges: dict[str, Text]) -> None:
        changed = set(badges) ^ set(self.badges)
        changed |= {p for p in badges if p in self.badges and badges[p] != self.badges[p]}
        self.badges = badges
        for node in self.nodes():
            if node.data and str(node.data.path) in changed:
                node.refresh()

    def _command(self, command: str) -> None:
        node = self.cursor_node
        if node is not None and node.data is not None:
            self.post_message(self.Command(self, str(node.data.path), command))

    def action_mark(self) -> None:
        self._command("mark")

    def action_read_only(self) -> None:
        self._command("read_only")

    def action_target(self) -> None:
        self._command("target")

    def action_up(self) -> None:
        here = self.PATH(self.path)
        if here.parent != here:
            self._came_from = str(here)
            self.path = here.parent

    async def watch_path(self) -> None:
        await super().watch_path()  # the new folder is listed when this returns
        came_from, self._came_from = self._came_from, None
        for node in self.nodes():
            if came_from and node.data is not None and str(node.data.path) == came_from:
                self.move_cursor(node, animate=False)
                break

    def action_type_path(self, start: str = "") -> None:
        """Type a path from `start` (none: edit the shown folder's, from its end)."""
        start = start or str(self.path).rstrip("/") + "/"
        self.post_message(self.Command(self, str(self.path), f"type:{start}"))

    def action_hidden(self) -> None:
        self.show_hidden = not self.show_hidden
        self.reload()


class PathLabel(Static):
    """A path cut from the left to the width it gets, so the directory's own name stays."""

    def __init__(self, path: str, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.path = path
        self.tooltip = Text(path)  # a tooltip string is markup; a directory name is not

    def render(self) -> Text:
        return Text(short_path(self.path, self.content_size.width), no_wrap=True)


class PathInput(Input):
    """The folder the tree shows, as text to edit: Enter goes there, Tab completes, Esc or
    Down gives the keyboard back to the tree."""

    BINDINGS = [
        Binding("tab", "complete", "Complete", show=True),
        Binding("escape,down", "back", "Back to the tree", show=True),
    ]

    def action_complete(self) -> None:
        self.query_ancestor(MountPicker).complete_typed()

    def action_back(self) -> None:
        self.query_ancestor(MountPicker).back_to_tree()


class RecentList(OptionList):
    """Directories picked lately, newest first: Enter shows one in the tree, space marks it."""

    BINDINGS = [
        Binding("space", "mark", "Mark"),
        Binding("r", "read_only", "Mark ro"),
    ]

    def __init__(self, paths: Sequence[str], home: str | None, *, id: str | None = None) -> None:
        super().__init__(*(Option(p, id=p) for p in paths), id=id)
        self.home = home
        self.badges: dict[str, Text] = {}

    def show(self, badges: dict[str, Text] | None = None) -> None:
        """Each path cut from the left to fit, after its mark (or "recent")."""
        if badges is not None:
            self.badges = badges
        for index in range(self.option_count):
            path = self.get_option_at_index(index).id or ""
            badge = self.badges.get(path, Text("recent  ", style="dim"))
            room = self.scrollable_content_region.width - badge.cell_len - 1
            label = short_path(path, max(room, 8), self.home or "")
            self.replace_option_prompt_at_index(index, Text.assemble(badge, label))

    def on_resize(self) -> None:
        self.show()

    def _highlighted_path(self) -> str | None:
        if self.highlighted is None:
            return None
        return self.get_option_at_index(self.highlighted).id

    def action_mark(self) -> None:
        path = self._highlighted_path()
        if path:
            self.post_message(
                HostTree.Command(self.query_ancestor(MountPicker).host_tree, path, "mark")
            )

    def action_read_only(self) -> None:
        path = self._highlighted_path()
        if path:
            tree = self.query_ancestor(MountPicker).host_tree
            self.post_message(HostTree.Command(tree, path, "read_only"))


class MarkRow(Vertical):
    """One marked directory: mode (click toggles), source, editable target, its problem."""

    def __init__(self, source: str) -> None:
        super().__init__(classes="mark-row")
        self.source = source
        self.mark: Mark | None = None
        self._ready = False  # children exist: a mark given earlier is shown on mount

    def compose(self) -> ComposeResult:
        with Horizontal(classes="mark-line"):
            yield Button("", classes="mode", compact=True)
            yield PathLabel(self.source, classes="source")
            yield Input(compact=True, classes="target", select_on_focus=False)
            yield Button("✕", classes="unmark", compact=True, tooltip="Unmark")
        yield Static("", classes="problem", markup=False)

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False  # keys do this from the tree; Tab goes to the targets
        self.query_one(".mode", Button).tooltip = "Toggle read-only / read-write (r)"
        self.query_one(Input).tooltip = "Where the agent sees this directory"
        self._ready = True
        self._apply()

    def show(self, mark: Mark) -> None:
        self.mark = mark
        if self._ready:
            self._apply()

    def _apply(self) -> None:
        mark = self.mark
        if mark is None:
            return
        mode = self.query_one(".mode", Button)
        mode.label = "RO" if mark.read_only else "RW"
        mode.set_class(mark.read_only, "-ro")
        target = self.query_one(Input)
        if target.value != mark.target and not target.has_focus:
            target.value = mark.target
        problem = self.query_one(".problem", Static)
        problem.update(mark.problem or "")
        problem.display = bool(mark.problem)
        self.set_class(bool(mark.problem), "-problem")


class MountPicker(Widget):
    """Mark directories (space), make them read-only (r), name their targets (t, then type)."""

    # The part with the keyboard has a heavy accent border (the others a faint round one);
    # read-write is green, read-only yellow, each with its word, never colour alone.
    DEFAULT_CSS = """
    MountPicker { layout: vertical; height: 1fr; }
    MountPicker #path-line { height: 1; }
    MountPicker #path-label { width: 6; padding: 0 1; color: $text-muted; }
    MountPicker #path { width: 1fr; }
    MountPicker #path:focus { background: $accent 30%; text-style: bold; }
    MountPicker #path-note { height: auto; color: $error; padding: 0 1; display: none; }
    MountPicker #path-note.-hint { color: $text-muted; }
    MountPicker #recent {
        height: auto; max-height: 4; border: none; padding: 0; background: $surface;
    }
    MountPicker #recent:focus { background: $accent 20%; }
    MountPicker HostTree {
        height: 1fr; min-height: 4; border: round $primary 40%; background: $surface;
    }
    MountPicker HostTree:focus { border: heavy $accent; border-title-style: bold; }
    MountPicker #marks {
        height: auto; max-height: 40%; min-height: 3; border: round $primary 40%;
    }
    MountPicker #marks:focus-within { border: heavy $accent; }
    MountPicker #empty { color: $text-muted; padding: 0 1; }
    MountPicker .mark-row { height: auto; }
    MountPicker .mark-line { height: 1; }
    MountPicker .mode {
        min-width: 4; width: 4; text-style: bold; color: $text; background: $success-darken-1;
    }
    MountPicker .mode.-ro { background: $warning-darken-2; }
    MountPicker .source { width: 1fr; height: 1; padding: 0 1 0 0; }
    MountPicker .target { width: 1fr; max-width: 36; }
    MountPicker .unmark { min-width: 3; width: 3; color: $text-muted; }
    MountPicker .problem { color: $error; padding: 0 0 0 4; height: auto; }
    MountPicker .-problem .target { color: $error; }
    """

    @dataclass
    class Changed(Message):
        """The marked set, a mode or a target changed."""

        picker: MountPicker
        marks: list[Mark]

        @property
        def control(self) -> MountPicker:
            return self.picker

    def __init__(
        self,
        start_dir: str | Path,
        *,
        fs: HostFS = LOCAL,
        recent: Sequence[str] = (),
        home: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.start_dir = start_dir
        self.fs = fs
        self.recent = list(recent)
        # `~` in a typed path (a remote host's is known once asked: set_home)
        self.home = home if home is not None else (None if fs.remote else str(Path.home()))
        self._marks = MarkSet()
        self._rows: dict[str, MarkRow] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="path-line"):
            yield Static("path", id="path-label")
            yield PathInput(str(self.start_dir), id="path", compact=True, select_on_focus=False)
        yield Static("", id="path-note", markup=False)
        recent = RecentList(self.recent, self.home, id="recent")
        recent.display = bool(self.recent)
        yield recent
        yield HostTree(self.start_dir, fs=self.fs, id="host-tree")
        with VerticalScroll(id="marks"):
            yield Static("Mark directories with space (r: read-only)", id="empty")

    def on_mount(self) -> None:
        self.host_tree.border_title = Text(  # an engine's address may hold brackets ([::1])
            f"Directories on {self.fs.label}" if self.fs.remote else "Host directories"
        )
        self.query_one("#marks").border_title = "Mounts"
        self.query_one("#marks").can_focus = False
        self.query_one(PathInput).tooltip = "Type a path: Tab completes, Enter goes there"
        self.watch(self.host_tree, "path", self._tree_moved, init=False)

    def set_home(self, home: str) -> None:
        self.home = self.query_one(RecentList).home = home

    # -- the typed path ------------------------------------------------------------------------

    def _tree_moved(self, path: object) -> None:
        box = self.query_one(PathInput)
        if not box.has_focus:
            box.value = str(path)
            self._path_note(None)

    def _path_note(self, text: str | None, hint: bool = False) -> None:
        note = self.query_one("#path-note", Static)
        note.update(text or "")
        note.display = bool(text)
        note.set_class(hint, "-hint")

    def type_path(self, start: str = "") -> None:
        """Give the keyboard to the path line (starting it with `start`, if given)."""
        box = self.query_one(PathInput)
        if start:
            box.value = start
        box.focus()
        box.cursor_position = len(box.value)

    def back_to_tree(self) -> None:
        self.query_one(PathInput).value = str(self.host_tree.path)
        self._path_note(None)
        self.host_tree.focus()

    def complete_typed(self) -> None:
        box = self.query_one(PathInput)
        self._complete(box.value, str(self.host_tree.path))

    @work(thread=True, exclusive=True, group="path", exit_on_error=False)
    def _complete(self, text: str, base: str) -> None:
        done = complete_path(text, base, self.home, self.fs)
        self.app.call_from_thread(self._completed, text, done)

    def _completed(self, typed: str, done: Completion) -> None:
        box = self.query_one(PathInput)
        if box.value != typed:
            return  # typed on meanwhile
        box.value = done.text
        box.cursor_position = len(box.value)
        if done.problem:
            self._path_note(done.problem)
        elif done.candidates:
            shown = "  ".join(done.candidates[:12])
            more = f"  (+{len(done.candidates) - 12})" if len(done.candidates) > 12 else ""
            self._path_note(shown + more, hint=True)
        else:
            self._path_note(None)

    @work(thread=True, exclusive=True, group="path", exit_on_error=False)
    def _go(self, text: str, base: str) -> None:
        full = typed_path(text, base, self.home)
        if full is None:
            problem: str | None = "type a path (absolute, or from the folder shown)"
        else:
            try:
                found = self.fs.stat(full)
            except ClaudexError as exc:
                found, problem = None, exc.message
            else:
                problem = None
                if found is None:
                    problem = f"no such directory: {full}"
                elif found.kind != "dir":
                    problem = f"not a directory: {full}"
        self.app.call_from_thread(self._gone, text, full, problem)

    def _gone(self, typed: str, full: str | None, problem: str | None) -> None:
        if problem or full is None:
            self._path_note(problem)
            return
        self._path_note(None)
        if str(self.host_tree.path) != full:
            self.host_tree.path = full
        self.query_one(PathInput).value = full
        self.host_tree.focus()

    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter here must not create the session
        self._go(event.value, str(self.host_tree.path))

    @on(Input.Changed, "#path")
    def _path_typed(self, event: Input.Changed) -> None:
        event.stop()
        note = self.query_one("#path-note", Static)
        if note.display and not note.has_class("-hint"):
            self._path_note(None)  # the problem was with what was there before

    @on(OptionList.OptionSelected, "#recent")
    def _recent_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._go(event.option.id, "/")

    @property
    def host_tree(self) -> HostTree:
        return self.query_one(HostTree)

    # -- the model -----------------------------------------------------------------------------

    @property
    def marks(self) -> list[Mark]:
        """The marked directories in the order they were marked, with their problems."""
        return self._marks.marks()

    @property
    def conflicts(self) -> dict[str, str]:
        return {m.source: m.problem for m in self.marks if m.problem}

    def mark(self, path: str | Path, read_only: bool = False, target: str | None = None) -> None:
        """Mark `path` (or change how it is marked)."""
        source = str(path)
        self._marks.mark(source, read_only, target)
        if source not in self._rows:
            row = MarkRow(source)
            self._rows[source] = row
            self.query_one("#empty").display = False
            self.query_one("#marks").mount(row)
        self._changed()

    def unmark(self, path: str | Path) -> None:
        source = str(path)
        if not self._marks.unmark(source):
            return
        row = self._rows.pop(source)
        row.remove()
        self.query_one("#empty").display = not self._marks
        self._changed()

    def toggle_read_only(self, path: str | Path) -> None:
        if self._marks.toggle_read_only(str(path)):
            self._changed()

    def set_target(self, path: str | Path, target: str | None) -> None:
        if self._marks.set_target(str(path), target):
            self._changed()

    def edit_target(self, path: str | Path) -> None:
        """Focus the target field of a marked directory (marking it first)."""
        if str(path) not in self._marks:
            self.mark(path)
        row = self._rows[str(path)]
        self.call_after_refresh(lambda: row.query_one(Input).focus())

    def _changed(self) -> None:
        marks = self.marks
        self.call_after_refresh(self._show, marks)
        self.post_message(self.Changed(self, marks))

    def _show(self, marks: list[Mark]) -> None:
        badges: dict[str, Text] = {}
        for mark in marks:
            row = self._rows.get(mark.source)
            if row is not None:
                row.show(mark)
            colour = "red" if mark.problem else ("yellow" if mark.read_only else "green")
            word = " RO " if mark.read_only else " RW "
            badges[mark.source] = Text.assemble((word, f"bold black on {colour}"), " ")
        self.host_tree.set_badges(badges)
        self.query_one(RecentList).show(badges)
        count = len(marks)
        self.query_one("#marks").border_title = f"Mounts ({count})" if count else "Mounts"

    # -- events --------------------------------------------------------------------------------

    @on(HostTree.Command)
    def _tree_command(self, event: HostTree.Command) -> None:
        event.stop()
        if event.command.startswith("type:"):
            self.type_path(event.command[len("type:") :])
        elif event.command == "mark":
            if event.path in self._marks:
                self.unmark(event.path)
            else:
                self.mark(event.path)
        elif event.command == "read_only":
            if event.path not in self._marks:
                self.mark(event.path, read_only=True)
            else:
                self.toggle_read_only(event.path)
        elif event.command == "target":
            self.edit_target(event.path)

    @on(DirectoryTree.DirectorySelected)
    def _selected(self, event: DirectoryTree.DirectorySelected) -> None:
        event.stop()

    @on(Input.Changed, ".target")
    def _target_typed(self, event: Input.Changed) -> None:
        event.stop()
        row = event.input.query_ancestor(MarkRow)
        value = event.value.strip()
        if row.mark is not None and value == row.mark.target:
            return  # set by show(), or no change
        default = self._marks.default_target(row.source)
        self.set_target(row.source, None if value == default else value)

    @on(Input.Submitted, ".target")
    def _target_done(self, event: Input.Submitted) -> None:
        # Enter ends the edit; it must not reach the screen (where Enter creates the session).
        event.stop()
        self.host_tree.focus()

    @on(Button.Pressed, ".mode")
    def _mode_clicked(self, event: Button.Pressed) -> None:
        event.stop()
        row = event.button.query_ancestor(MarkRow)
        self.toggle_read_only(row.source)

    @on(Button.Pressed, ".unmark")
    def _unmark_clicked(self, event: Button.Pressed) -> None:
        event.stop()
        self.unmark(event.button.query_ancestor(MarkRow).source)
