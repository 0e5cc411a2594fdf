"""The embedded terminal: emulator, byte channels and the Textual widget.

Only `widget`, `messages` and `history` import Textual; the emulator, channels, keys,
cells, frames, the inbox and the history's rows stay usable without it. Import the widget from
`widgets.terminal.widget` (or from here) when Textual is wanted.
"""

from widgets.terminal.channel import ChannelPump, TerminalChannel
from widgets.terminal.emulator import TerminalEmulator
from widgets.terminal.local_pty import LocalPty

__all__ = [
    "LEAVE_KEY",
    "ChannelPump",
    "LocalPty",
    "TerminalChannel",
    "TerminalEmulator",
    "TerminalWidget",
]


def __getattr__(name: str) -> object:
    # The widget pulls in Textual; load it only when asked so the emulator stays light.
    if name in ("TerminalWidget", "LEAVE_KEY"):
        from widgets.terminal import widget

        return getattr(widget, name)
    raise AttributeError(name)
