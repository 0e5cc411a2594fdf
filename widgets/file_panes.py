"""The Files tab: the host's directory tree beside the session's, copy either way.

Pick files on one side (mark with space, or press the mouse on one) and drop them on the
other (`c`/F5 copies into the other pane's current folder, or release the mouse on one of its
folders). Existing names ask overwrite / skip / rename. Transfers run in background threads,
each with a progress row and a cancel button, while the user keeps working.

The widget does no container I/O itself: it talks to a `ContainerFiles` (the app passes a
factory making one per session), so it can be driven by the real engine or a test double.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar, Protocol

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Label, ProgressBar, Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState

from container.labels import SessionInfo
from container.mount_targets import WORKSPACE
from container.sizes import human_bytes

Progress = Callable[[int, int], None]


# -- what the widget needs from the container side ------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One entry of a container directory."""

    name: str
    is_dir: bool
    size: int = 0
    is_link: bool = False


@dataclass
class Outcome:
    """What one transfer did."""

    written: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class ContainerFiles(Protocol):
    """A session's files, as the Files tab uses them. Every method blocks (it is called from
    worker threads) and raises an exception whose `str()` is a message for the user.
    `cancel` is set from the UI thread; the transfer then stops and leaves no partial file."""

    def list_dir(self, path: str) -> list[Entry]: ...

    def existing(self, directory: str, names: list[str]) -> set[str]:
        """Which of `names` exist in `directory`."""
        ...

    def push(
        self,
        sources: list[str],
        directory: str,
        *,
        names: list[str],
        force: bool,
        progress: Progress,
        cancel: threading.Event,
    ) -> Outcome: ...

    def pull(
        self,
        source: str,
        directory: str,
        *,
        name: str,
        force: bool,
        progress: Progress,
        cancel: threading.Event,
    ) -> Outcome: ...


ServiceFactory = Callable[[SessionInfo], ContainerFiles]


@dataclass
class Job:
    """One copy the user asked for: sources on one side, a folder on the other."""

    direction: str  # "push" (host -> session) or "pull"
    sources: list[str]
    directory: str
    names: list[str] = field(default_factory=list)
    force: list[bool] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.what()} → {self.where()}"

    def what(self) -> str:
        first = PurePosixPath(self.sources[0]).name
        more = f" +{len(self.sources) - 1}" if len(self.sources) > 1 else ""
        return f"{first}{more}"

    def side(self) -> str:
        return "session" if self.direction == "push" else "host"

    def where(self) -> str:
        """The destination, named before anything lands there."""
        return f"{self.side()}:{self.directory}"


def free_name(name: str, taken: Iterable[str]) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext`... whichever is not taken."""
    used = set(taken)
    if name not in used:
        return name
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    n = 2
    while f"{stem} ({n}){dot}{ext}" in used:
        n += 1
    return f"{stem} ({n}){dot}{ext}"


# -- the two trees ---------------------------------------------------------------------------


MARK = Text("● ", style="bold yellow")
UNMARKED = Text("  ")


class _Marks:
    """Marked paths of a pane, drawn as a dot before their labels."""

    marks: set[str]

    def _with_mark(self, path: str | None, label: Text) -> Text:
        return Text.assemble(MARK if path in self.marks else UNMARKED, label)


class HostTree(_Marks, DirectoryTree):
    """The host side: Textual's lazy DirectoryTree plus marks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark", show=True),
    ]

    def __init__(self, path: Path, *, id: str | None = None) -> None:
        super().__init__(path, id=id)
        self.marks = set()

    def node_path(self, node: TreeNode | None) -> str | None:
        return str(node.data.path) if node is not None and node.data is not None else None

    def node_is_dir(self, node: TreeNode) -> bool:
        return bool(node.allow_expand)

    def render_label(self, node: TreeNode, base_style: Style, style: Style) -> Text:
        return self._with_mark(self.node_path(node), super().render_label(node, base_style, style))

    def action_toggle_mark(self) -> None:
        _toggle(self, self.node_path(self.cursor_node))


@dataclass(frozen=True)
class RemoteNode:
    path: str
    is_dir: bool
    loaded: bool = False


class ContainerTree(_Marks, Tree[RemoteNode]):
    """The session side, listed folder by folder as folders open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark", show=True),
    ]

    class ListRequested(Message):
        def __init__(self, node: TreeNode[RemoteNode]) -> None:
            super().__init__()
            self.node = node

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("session", None, id=id)  # hidden root: never listed itself
        self.marks = set()
        self.show_root = False
        self.guide_depth = 2

    def show_roots(self, note: str | None = None) -> None:
        """Back to `/workspace` first, then `/`, both listed on demand."""
        self.clear()
        self.marks.clear()
        if note:
            self.root.add_leaf(Text(note, style="dim italic"), None)
            return
        for path in (WORKSPACE, "/"):
            self.root.add(path, RemoteNode(path, True))
        self.root.expand()
        self.root.children[0].expand()

    def node_path(self, node: TreeNode | None) -> str | None:
        return node.data.path if node is not None and node.data is not None else None

    def node_is_dir(self, node: TreeNode) -> bool:
        return node.data is not None and node.data.is_dir

    def render_label(self, node: TreeNode[RemoteNode], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        if node.data is None or node.parent is self.root:
            return label
        return self._with_mark(node.data.path, label)

    def action_toggle_mark(self) -> None:
        node = self.cursor_node
        if node is not None and node.parent is not self.root:
            _toggle(self, self.node_path(node))

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[RemoteNode]) -> None:
        data = event.node.data
        if data is not None and data.is_dir and not data.loaded:
            self.post_message(self.ListRequested(event.node))

    def fill(self, node: TreeNode[RemoteNode], entries: list[Entry]) -> None:
        assert node.data is not None
        node.remove_children()
        node.data = RemoteNode(node.data.path, True, loaded=True)
        for e in entries:
            path = str(PurePosixPath(node.data.path) / e.name)
            label = Text(e.name + ("/" if e.is_dir else ""))
            if e.is_link:
                label.stylize("italic")
            if e.is_dir:
                node.add(label, RemoteNode(path, True))
            else:
                label.append(f"  {human_bytes(e.size)}", style="dim")
                node.add_leaf(label, RemoteNode(path, False))

    def fail(self, node: TreeNode[RemoteNode], message: str) -> None:
        node.remove_children()
        node.add_leaf(Text(message, style="red"), None)

    def find(self, path: str) -> list[TreeNode[RemoteNode]]:
        """Every node showing `path` (it can be shown under `/workspace` and under `/`)."""
        found = []
        stack = list(self.root.children)
        while stack:
            node = stack.pop()
            if node.data is not None and node.data.path == path:
                found.append(node)
            stack.extend(node.children)
        return found


def _toggle(tree: HostTree | ContainerTree, path: str | None) -> None:
    if path is None:
        return
    if path in tree.marks:
        tree.marks.discard(path)
    else:
        tree.marks.add(path)
    tree.refresh()
    tree.action_cursor_down()


Pane = HostTree | ContainerTree


def current_folder(tree: Pane) -> str | None:
    """The folder a copy lands in: the cursor's folder, or the folder holding the cursor."""
    node = tree.cursor_node
    while node is not None and node.data is not None:
        if tree.node_is_dir(node):
            return tree.node_path(node)
        node = node.parent
    if isinstance(tree, HostTree):
        return str(tree.path)
    shown = tree.root.children
    if shown and shown[0].data is not None:
        return shown[0].data.path  # no cursor yet: /workspace
    return None


# -- conflicts and progress ------------------------------------------------------------------


class ConflictScreen(ModalScreen[str]):
    """`name` exists in the destination: overwrite, skip or rename (Esc stops the copy)."""

    DEFAULT_CSS = """
    ConflictScreen { align: center middle; }
    ConflictScreen > Vertical { width: 64; height: auto; border: thick $warning;
                                background: $surface; padding: 1 2; }
    ConflictScreen Horizontal { height: auto; margin-top: 1; }
    ConflictScreen Button { margin-right: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "choose('overwrite')", "Overwrite"),
        Binding("s", "choose('skip')", "Skip"),
        Binding("r", "choose('rename')", "Rename"),
        Binding("escape", "choose('cancel')", "Stop"),
    ]

    def __init__(self, name: str, where: str, rename_to: str) -> None:
        super().__init__()
        self.conflict = name
        self.where = where
        self.rename_to = rename_to

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble((self.conflict, "bold"), f" already exists in {self.where}."))
            yield Label(f"Overwrite it, skip it, or copy it as {self.rename_to!r}?", markup=False)
            with Horizontal():
                yield Button("Overwrite (o)", id="overwrite", variant="warning")
                yield Button("Skip (s)", id="skip")
                yield Button("Rename (r)", id="rename", variant="primary")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "skip")


def cut_left(text: str, width: int) -> str:
    """`text` cut from the left to `width` cells (a path keeps its last folders)."""
    return text if len(text) <= width or width < 2 else "…" + text[len(text) - width + 1 :]


class _Description(Static):
    """What goes where, on a line of its own: the destination's end stays when cut."""

    def __init__(self, job: Job) -> None:
        super().__init__(classes="what")
        self.job = job

    def render(self) -> Text:
        what = f"{self.job.what()} → {self.job.side()}:"
        room = max(self.content_size.width - len(what), 8)
        return Text.assemble((what, "bold"), cut_left(self.job.directory, room), no_wrap=True)


class TransferRow(Vertical):
    """One transfer on two lines: what goes where; how far, and a button to cancel it.
    (On one line, at 80 columns the bar's percentage ran into the status: "1001 copied".)"""

    DEFAULT_CSS = """
    TransferRow { height: 2; }
    TransferRow .what { width: 1fr; height: 1; }
    TransferRow .progress { height: 1; }
    TransferRow ProgressBar { width: auto; margin-right: 1; }
    TransferRow ProgressBar Bar { width: 20; }
    TransferRow .status { width: 1fr; color: $text-muted; text-wrap: nowrap; }
    TransferRow Button { min-width: 8; width: 8; height: 1; border: none; }
    TransferRow.done .status { color: $success; }
    TransferRow.failed .status { color: $error; }
    """

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.cancel = threading.Event()
        self.started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield _Description(self.job)
        with Horizontal(classes="progress"):
            yield ProgressBar(total=None, show_eta=False, show_percentage=True)
            yield Label("starting", classes="status", markup=False)  # errors quote names
            yield Button("cancel", classes="cancel", compact=True)

    def advance(self, done: int, total: int) -> None:
        bar = self.query_one(ProgressBar)
        if total:
            bar.update(total=total, progress=done)
        rate = done / max(time.monotonic() - self.started, 1e-3)
        left = f", {(total - done) / rate:.0f}s left" if total and rate else ""
        self.query_one(".status", Label).update(f"{human_bytes(done)} {human_bytes(rate)}/s{left}")

    def finish(self, text: str, ok: bool) -> None:
        self.add_class("done" if ok else "failed")
        self.query_one(".status", Label).update(text)
        self.query_one(Button).display = False
        if ok:
            bar = self.query_one(ProgressBar)
            bar.update(total=bar.total or 1, progress=bar.total or 1)

    @on(Button.Pressed, ".cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.cancel.set()
        self.query_one(".status", Label).update("cancelling…")


# -- the panel -------------------------------------------------------------------------------


class FilesPanel(Vertical):
    """Host tree | session tree, and the transfers below them.

    The app mounts `FilesPanel(service_factory)` and calls `set_session(info_or_None)` when
    the selected session changes."""

    DEFAULT_CSS = """
    FilesPanel #files-note { height: 1; padding: 0 1; color: $text-muted; }
    FilesPanel #files-dest { height: 1; padding: 0 1; }
    FilesPanel #files-split { height: 1fr; }
    FilesPanel HostTree, FilesPanel ContainerTree { width: 1fr; border: round $panel; }
    FilesPanel HostTree:focus, FilesPanel ContainerTree:focus { border: round $accent; }
    FilesPanel ContainerTree.drop-target, FilesPanel HostTree.drop-target {
        border: double $success;
    }
    FilesPanel #files-transfers { height: auto; max-height: 6; }
    FilesPanel #drag-indicator {
        layer: drag; display: none; width: auto; height: 1; padding: 0 1;
        background: $accent; color: $text; text-style: bold;
    }
    FilesPanel { layers: base drag; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c,f5", "copy", "Copy to other side"),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
    ]

    class TransferFinished(Message):
        """Posted when a transfer ends (done, failed or cancelled)."""

        def __init__(self, job: Job, outcome: Outcome | None, error: str | None) -> None:
            super().__init__()
            self.job = job
            self.outcome = outcome
            self.error = error

    class _Listed(Message):
        def __init__(
            self,
            node: TreeNode[RemoteNode],
            entries: list[Entry] | None,
            error: str | None,
            generation: int,
        ) -> None:
            super().__init__()
            self.node = node
            self.entries = entries
            self.error = error
            self.generation = generation

    class _Conflicts(Message):
        def __init__(
            self, job: Job, taken: set[str], existing: list[int], row: TransferRow
        ) -> None:
            super().__init__()
            self.job = job
            self.taken = taken
            self.existing = existing
            self.row = row

    def __init__(
        self,
        service_factory: ServiceFactory,
        *,
        host_root: Path | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.service_factory = service_factory
        self.host_root = host_root or Path.cwd()
        self.session: SessionInfo | None = None
        self.service: ContainerFiles | None = None
        self._generation = 0  # listings of a previous session are dropped
        self._drag: tuple[Pane, list[str]] | None = None
        self._drop_target: Pane | None = None

    def compose(self) -> ComposeResult:
        yield Static("Select a session.", id="files-note", markup=False)
        yield Static("", id="files-dest")
        with Horizontal(id="files-split"):
            yield HostTree(self.host_root, id="files-host")
            yield ContainerTree(id="files-container")
        yield VerticalScroll(id="files-transfers")
        yield Label("", id="drag-indicator", markup=False)  # a file name

    @property
    def host(self) -> HostTree:
        return self.query_one(HostTree)

    @property
    def remote(self) -> ContainerTree:
        return self.query_one(ContainerTree)

    def on_mount(self) -> None:
        self.host.border_title = "host"
        self.remote.border_title = "session"
        self.remote.show_roots("select a session")

    # -- session ---------------------------------------------------------------------------

    def set_session(self, session: SessionInfo | None) -> None:
        """Show `session`'s files (None: no session selected). Running transfers go on."""
        old = self.session
        if (
            session is not None
            and old is not None
            and (session.id, session.running)
            == (
                old.id,
                old.running,
            )
        ):
            self.session = session  # a state refresh of the shown session: keep its tree
            return
        self._generation += 1
        self.session = session
        self.service = self.service_factory(session) if session is not None else None
        tree = self.remote
        if session is None:
            tree.border_title = "session"
            tree.show_roots("select a session")
            self._note("Select a session.")
            return
        tree.border_title = Text(session.name)  # a str title is markup
        if not session.running:
            tree.show_roots(f"{session.name} is {session.state}: start it to browse its files")
            self._note("`claudex pull` also copies out of stopped sessions.")
            return
        self._note("space: mark   c/F5: copy to the other side   drag with the mouse")
        tree.show_roots()
        self._show_destination()

    def _note(self, text: str) -> None:
        self.query_one("#files-note", Static).update(text)
        self._show_destination()

    def _show_destination(self) -> None:
        """Where c/F5 would copy the focused pane's pick, before anything is copied."""
        line = self.query_one("#files-dest", Static)
        focused = self.screen.focused if self.is_attached else None
        running = self.session is not None and self.session.running
        if not running or not isinstance(focused, HostTree | ContainerTree):
            line.update("")
            return
        folder = current_folder(self._other(focused))
        if folder is None:
            line.update("")
            return
        side = "session" if isinstance(focused, HostTree) else "host"
        what = "marked" if focused.marks else "highlighted"
        head = f"c copies the {what} → {side}:"
        room = max(line.content_size.width - len(head), 8)
        line.update(Text.assemble(head, (cut_left(folder, room), "bold")))

    @on(Tree.NodeHighlighted)
    def _cursor_moved(self) -> None:
        self._show_destination()

    def on_descendant_focus(self) -> None:
        self._show_destination()

    def on_descendant_blur(self) -> None:
        self.call_after_refresh(self._show_destination)

    @on(ContainerTree.ListRequested)
    def _list_requested(self, event: ContainerTree.ListRequested) -> None:
        event.stop()
        assert event.node.data is not None
        self._list(event.node, event.node.data.path, self._generation)

    @work(thread=True, exit_on_error=False, group="files-list")
    def _list(self, node: TreeNode[RemoteNode], path: str, generation: int) -> None:
        service = self.service
        if service is None:
            return
        try:
            entries: list[Entry] | None = service.list_dir(path)
            error = None
        except Exception as exc:  # shown in the tree, where the folder is
            entries, error = None, str(exc) or type(exc).__name__
        self.post_message(self._Listed(node, entries, error, generation))

    @on(_Listed)
    def _listed(self, event: _Listed) -> None:
        if event.generation != self._generation:
            return
        if event.entries is None:
            self.remote.fail(event.node, event.error or "cannot list")
        else:
            self.remote.fill(event.node, event.entries)

    def action_refresh(self) -> None:
        self.host.reload()
        if self.session is not None and self.session.running:
            self._generation += 1
            self.remote.show_roots()

    # -- picking ---------------------------------------------------------------------------

    def _picked(self, tree: Pane) -> list[str]:
        """Marked paths, or the cursor's one when nothing is marked."""
        if tree.marks:
            return sorted(tree.marks)
        node = tree.cursor_node
        if node is None or (isinstance(tree, ContainerTree) and node.parent is tree.root):
            return []
        path = tree.node_path(node)
        return [path] if path else []

    def _other(self, tree: Pane) -> Pane:
        return self.remote if isinstance(tree, HostTree) else self.host

    def action_copy(self) -> None:
        focused = self.screen.focused
        source: Pane = self.remote if focused is self.remote else self.host
        target = self._other(source)
        folder = current_folder(target)
        self._copy(source, self._picked(source), folder)

    def _copy(self, source: Pane, paths: list[str], folder: str | None) -> None:
        if self.service is None or self.session is None or not self.session.running:
            self.notify("Select a running session first.", severity="warning")
            return
        if not paths:
            self.notify("Nothing to copy: mark files with space.", severity="warning")
            return
        if folder is None:
            self.notify("Open a folder on the other side first.", severity="warning")
            return
        direction = "push" if isinstance(source, HostTree) else "pull"
        names = [PurePosixPath(p).name for p in paths]
        job = Job(direction, paths, folder, names, [False] * len(paths))
        source.marks.clear()
        source.refresh()
        row = TransferRow(job)
        self.query_one("#files-transfers", VerticalScroll).mount(row)
        row.scroll_visible()
        self._check(job, row)

    # -- conflicts -------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="files-check")
    def _check(self, job: Job, row: TransferRow) -> None:
        service = self.service
        assert service is not None
        try:
            if job.direction == "push":
                existing_names = service.existing(job.directory, job.names)
                taken = (
                    {e.name for e in service.list_dir(job.directory)} if existing_names else set()
                )
            else:
                taken = set(os.listdir(job.directory))
                existing_names = {n for n in job.names if n in taken}
        except Exception as exc:
            self.app.call_from_thread(row.finish, f"failed: {exc}", False)
            return
        existing = [i for i, n in enumerate(job.names) if n in existing_names]
        self.post_message(self._Conflicts(job, taken, existing, row))

    @on(_Conflicts)
    def _conflicts(self, event: _Conflicts) -> None:
        job, row, taken = event.job, event.row, set(event.taken) | set(event.job.names)
        pending = list(event.existing)
        keep = [True] * len(job.sources)

        def ask_next(choice: str | None = None) -> None:
            if choice is not None:
                i = pending.pop(0)
                if choice == "cancel":
                    row.finish("stopped", False)
                    return
                if choice == "overwrite":
                    job.force[i] = True
                elif choice == "skip":
                    keep[i] = False
                else:
                    job.names[i] = free_name(job.names[i], taken)
                    taken.add(job.names[i])
            if pending:
                i = pending[0]
                where = "the session" if job.direction == "push" else "the host"
                screen = ConflictScreen(
                    job.names[i], f"{where}'s {job.directory}", free_name(job.names[i], taken)
                )
                self.app.push_screen(screen, ask_next)
                return
            chosen = [i for i in range(len(job.sources)) if keep[i]]
            if not chosen:
                row.finish("skipped", True)
                return
            job.sources = [job.sources[i] for i in chosen]
            job.names = [job.names[i] for i in chosen]
            job.force = [job.force[i] for i in chosen]
            self._transfer(job, row)

        ask_next()

    # -- transfers -------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="files-transfer")
    def _transfer(self, job: Job, row: TransferRow) -> None:
        service = self.service
        assert service is not None
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= 0.1:
                last = now
                self.app.call_from_thread(row.advance, done, total)

        total = Outcome()
        error = None
        try:
            if job.direction == "push":
                # one call per overwrite choice: force is per call
                for force in (False, True):
                    picked = [i for i, f in enumerate(job.force) if f is force]
                    if not picked:
                        continue
                    out = service.push(
                        [job.sources[i] for i in picked],
                        job.directory,
                        names=[job.names[i] for i in picked],
                        force=force,
                        progress=progress,
                        cancel=row.cancel,
                    )
                    _merge(total, out)
            else:
                for source, name, force in zip(job.sources, job.names, job.force, strict=True):
                    out = service.pull(
                        source,
                        job.directory,
                        name=name,
                        force=force,
                        progress=progress,
                        cancel=row.cancel,
                    )
                    _merge(total, out)
        except Exception as exc:
            error = "cancelled" if row.cancel.is_set() else (str(exc) or type(exc).__name__)
        self.post_message(self.TransferFinished(job, None if error else total, error))
        self.app.call_from_thread(self._finished, job, row, total, error)

    def _finished(self, job: Job, row: TransferRow, outcome: Outcome, error: str | None) -> None:
        if error:
            row.finish(error, False)
        else:
            parts = [f"{outcome.written} copied, {human_bytes(outcome.bytes)}"]
            if outcome.skipped:
                parts.append(f"{len(outcome.skipped)} skipped")
            if outcome.refused:
                parts.append(f"{len(outcome.refused)} refused")
            row.finish(", ".join(parts), not outcome.refused)
            if outcome.refused:
                self.notify("\n".join(outcome.refused[:8]), title="Refused", severity="error")
        self._reload_folder(job)

    def _reload_folder(self, job: Job) -> None:
        if job.direction == "pull":
            node = _host_node(self.host, job.directory)
            if node is not None:
                self.host.reload_node(node)
            return
        for remote_node in self.remote.find(job.directory):
            if remote_node.data is None:
                continue
            remote_node.data = RemoteNode(remote_node.data.path, True, loaded=False)
            if remote_node.is_expanded:
                self._list(remote_node, remote_node.data.path, self._generation)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # the workers catch what they expect; anything else is a bug, shown, never raised
        if event.state == WorkerState.ERROR and event.worker.group.startswith("files-"):
            self.notify(str(event.worker.error), title="Files", severity="error")

    # -- mouse drag ------------------------------------------------------------------------

    def _pane_at(self, x: int, y: int) -> tuple[Pane, TreeNode | None] | None:
        try:
            widget, _ = self.screen.get_widget_at(x, y)
        except Exception:
            return None
        if not isinstance(widget, HostTree | ContainerTree):
            return None
        region = widget.content_region
        line = y - region.y + int(widget.scroll_offset.y)
        return widget, widget.get_node_at_line(line)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if event.button != 1:
            return
        hit = self._pane_at(event.screen_x, event.screen_y)
        if hit is None:
            return
        tree, node = hit
        if node is None:
            return
        path = tree.node_path(node)
        if path is None or (isinstance(tree, ContainerTree) and node.parent is tree.root):
            return
        paths = sorted(tree.marks) if path in tree.marks else [path]
        self._drag = (tree, paths)
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag is None:
            return
        source, paths = self._drag
        indicator = self.query_one("#drag-indicator", Label)
        name = PurePosixPath(paths[0]).name + (f" +{len(paths) - 1}" if len(paths) > 1 else "")
        indicator.update(f"⇢ {name}")
        indicator.display = True
        offset = event.screen_offset - self.region.offset
        indicator.styles.offset = (offset.x + 2, offset.y)
        hit = self._pane_at(event.screen_x, event.screen_y)
        target = hit[0] if hit is not None and hit[0] is not source else None
        if target is not self._drop_target:
            if self._drop_target is not None:
                self._drop_target.remove_class("drop-target")
            if target is not None:
                target.add_class("drop-target")
            self._drop_target = target

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drag is None:
            return
        source, paths = self._drag
        self._drag = None
        self.release_mouse()
        self.query_one("#drag-indicator", Label).display = False
        if self._drop_target is not None:
            self._drop_target.remove_class("drop-target")
            self._drop_target = None
        hit = self._pane_at(event.screen_x, event.screen_y)
        if hit is None or hit[0] is source:
            return  # a plain click, or a drop back on its own side
        target, node = hit
        folder = None
        while node is not None and node.data is not None:
            if target.node_is_dir(node):
                folder = target.node_path(node)
                break
            node = node.parent
        if folder is None and isinstance(target, HostTree):
            folder = str(target.path)
        if isinstance(source, HostTree) and source.marks and paths[0] in source.marks:
            source.marks.clear()
        self._copy(source, paths, folder)


def _merge(total: Outcome, out: Outcome) -> None:
    total.written += out.written
    total.bytes += out.bytes
    total.skipped += out.skipped
    total.refused += out.refused


def _host_node(tree: HostTree, directory: str) -> TreeNode | None:
    stack = [tree.root]
    while stack:
        node = stack.pop()
        if node.data is not None and str(node.data.path) == directory:
            return node
        stack.extend(node.children)
    return None


__all__ = [
    "ConflictScreen",
    "ContainerFiles",
    "ContainerTree",
    "Entry",
    "FilesPanel",
    "HostTree",
    "Job",
    "Outcome",
    "ServiceFactory",
    "TransferRow",
    "free_name",
]
