"""The Files tab: the host's directory tree beside the session's, copy either way.

Pick files on one side (mark with space, or press the mouse on one) and drop them on the
other (`c`/F5 copies into the other pane's current folder, or release the mouse on one of its
folders). Existing names ask overwrite / skip / rename. Transfers run in background threads,
each with a progress row and a cancel button, while the user keeps working.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState

from container.labels import SessionInfo
from container.sizes import human_bytes
from widgets.files.conflict_screen import ConflictScreen
from widgets.files.model import (
    ContainerFiles,
    Entry,
    Job,
    Outcome,
    ServiceFactory,
    cut_left,
    free_name,
    short_names,
)
from widgets.files.transfer_row import TransferRow
from widgets.files.trees import (
    ContainerTree,
    HostTree,
    Pane,
    RemoteNode,
    current_folder,
    folder_of,
    host_node,
)


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

    @dataclass
    class TransferFinished(Message):
        """Posted when a transfer ends (done, failed or cancelled)."""

        job: Job
        outcome: Outcome | None
        error: str | None

    @dataclass
    class _Listed(Message):
        node: TreeNode[RemoteNode]
        entries: list[Entry] | None
        error: str | None
        generation: int

    @dataclass
    class _Conflicts(Message):
        job: Job
        taken: set[str]
        existing: list[int]
        row: TransferRow

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
                    total.add(out)
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
                    total.add(out)
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
            node = host_node(self.host, job.directory)
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
        indicator.update(f"⇢ {short_names(paths)}")
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
        folder = folder_of(target, node)
        if folder is None and isinstance(target, HostTree):
            folder = str(target.path)
        if isinstance(source, HostTree) and source.marks and paths[0] in source.marks:
            source.marks.clear()
        self._copy(source, paths, folder)
