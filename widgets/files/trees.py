"""The Files tab's two trees: the host's folders and the session's, each with marks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DirectoryTree, Tree
from textual.widgets.tree import TreeNode

from container.mount_targets import WORKSPACE
from container.sizes import human_bytes
from widgets.files.model import Entry

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


def folder_of(tree: Pane, node: TreeNode | None) -> str | None:
    """The folder `node` shows, or the folder holding it (None: above the listed folders)."""
    while node is not None and node.data is not None:
        if tree.node_is_dir(node):
            return tree.node_path(node)
        node = node.parent
    return None


def current_folder(tree: Pane) -> str | None:
    """The folder a copy lands in: the cursor's folder, or the folder holding the cursor."""
    folder = folder_of(tree, tree.cursor_node)
    if folder is not None:
        return folder
    if isinstance(tree, HostTree):
        return str(tree.path)
    shown = tree.root.children
    if shown and shown[0].data is not None:
        return shown[0].data.path  # no cursor yet: /workspace
    return None


def host_node(tree: HostTree, directory: str) -> TreeNode | None:
    """The host tree's node showing `directory`, if it is loaded."""
    stack = [tree.root]
    while stack:
        node = stack.pop()
        if node.data is not None and str(node.data.path) == directory:
            return node
        stack.extend(node.children)
    return None
