"""The embedded terminal: emulator, byte channels and the Textual widget.

Only `widget`, `messages` and `history` import Textual; the emulator, channels, keys,
cells, frames, the inbox and the history's rows stay usable without it. Import the widget from
`widgets.terminal.widget` when Textual is wanted.
"""

from widgets.terminal.channel import ChannelPump, TerminalChannel
from widgets.terminal.emulator import TerminalEmulator
from widgets.terminal.local_pty import LocalPty

__all__ = [
    "ChannelPump",
    "LocalPty",
    "TerminalChannel",
    "TerminalEmulator",
]
