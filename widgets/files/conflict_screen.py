"""Asked when a copied name exists in the destination: overwrite, skip or rename."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


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
