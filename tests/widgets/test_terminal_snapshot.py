"""Snapshot of the terminal widget showing coloured output (cursor blink off)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer

from tests.fakes import ScriptedChannel
from tests.waiting import until
from widgets.terminal.widget import TerminalWidget

OUTPUT = (
    (
        b"\x1b[1;32m$\x1b[0m git log --oneline --color\r\n"
        b"\x1b[33me8b5208\x1b[m \x1b[36m(\x1b[1;36mHEAD\x1b[m\x1b[36m)\x1b[m exec channel\r\n"
        b"\x1b[33m02c3cbf\x1b[m widget and pump\r\n"
        b"\x1b[31mred \x1b[32mgreen \x1b[34mblue \x1b[91mbright-red \x1b[0m"
        b"\x1b[38;5;208m256-orange \x1b[38;2;120;80;255mtruecolor\x1b[0m\r\n"
        b"\x1b[1mbold\x1b[0m \x1b[3mitalic\x1b[0m \x1b[4munderline\x1b[0m \x1b[7mreverse\x1b[0m "
        b"\x1b[44;97m white on blue \x1b[0m\r\n"
    )
    + "wide: 中文 ✓ 🙂 → done\r\n".encode()
    + b"\x1b[1;32m$\x1b[0m "
)


class SnapshotApp(App[None]):
    ENABLE_COMMAND_PALETTE = False

    def compose(self) -> ComposeResult:
        yield TerminalWidget(self.channel, cursor_blink=False)
        yield Footer()

    def channel(self) -> ScriptedChannel:
        channel = ScriptedChannel()
        channel.emit(OUTPUT)
        return channel

    def on_mount(self) -> None:
        self.query_one(TerminalWidget).focus()


async def _wait_for_output(pilot: Pilot[None]) -> None:
    term = pilot.app.query_one(TerminalWidget)
    await until(
        pilot,
        lambda: "done" in term.screen_text and term.render_line(6).text.startswith("$"),
        "the output drawn",
    )
    await pilot.pause()


def test_terminal_snapshot_colours(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(SnapshotApp(), terminal_size=(80, 12), run_before=_wait_for_output)
