"""What the terminal widget tells its owner: `TerminalWidget.Started`, `.Exited` and the rest.

Each is in the `terminal_widget` namespace, so handlers keep their names
(`on_terminal_widget_exited`) and `@on(TerminalWidget.Exited)` works as for nested messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from widgets.terminal.widget import TerminalWidget


class FromTerminal(Message, namespace="terminal_widget"):
    """A message that says which terminal it came from (`control`)."""

    def __init__(self, terminal: TerminalWidget | None = None) -> None:
        super().__init__()
        self.terminal = terminal

    @property
    def control(self) -> TerminalWidget | None:
        return self.terminal


class Started(FromTerminal, namespace="terminal_widget"):
    """The channel was (re)started."""


class Exited(FromTerminal, namespace="terminal_widget"):
    """The program ended (or could not be started)."""

    def __init__(
        self,
        exit_code: int | None,
        error: str | None,
        terminal: TerminalWidget | None = None,
    ) -> None:
        super().__init__(terminal)
        self.exit_code = exit_code
        self.error = error


class TitleChanged(Message, namespace="terminal_widget"):
    """The program set the window title (OSC 0/2)."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TitleChanged)


class Bell(FromTerminal, namespace="terminal_widget"):
    """The program rang the bell."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Bell)


class Notified(FromTerminal, namespace="terminal_widget"):
    """The program asked for a desktop notification (OSC 9 / OSC 777)."""

    def __init__(self, terminal: TerminalWidget, text: str) -> None:
        super().__init__(terminal)
        self.text = text


class Activity(FromTerminal, namespace="terminal_widget"):
    """The program wrote output (at most about one a second; bursts collapse)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Activity)
