"""`TerminalWidget`: a program's live terminal inside a Textual app.

Output path: a `ChannelPump` reader thread hands batches to `_receive` (any thread), which
appends them to an inbox and posts one coalescing `_OutputReady`; the handler feeds the
inbox to the `TerminalEmulator` on the event loop and schedules a frame. A frame refreshes
only the lines pyte marked dirty (plus the cursor's), at most ~60 a second, and is held while
the program is inside synchronized output (mode 2026) so whole frames are drawn, never halves
(with a timeout, as terminals do, in case the end marker never comes). Lines are rendered
through the line API and cached per (line, version).

Leaving the terminal: Ctrl-] (`LEAVE_KEY`). Every other key goes to the program, so the key
that moves focus out must be one no agent or tool needs: Claude Code uses Esc, Esc Esc,
Ctrl-C, Ctrl-R, Ctrl-O and Shift-Tab; Codex uses Esc, Ctrl-C, Ctrl-J/Enter; tmux's prefix is
Ctrl-B; shells use most Ctrl letters. Ctrl-] is telnet's well-known escape key, is one plain
control byte (0x1D) so it survives SSH and tmux with any TERM (unlike F-keys, whose bytes
depend on terminfo), and tmux binds it only after the prefix. The cost: vim's "jump to tag"
(Ctrl-]) is not available inside the embedded terminal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ClassVar

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from widgets.terminal.channel import ChannelPump, TerminalChannel
from widgets.terminal.emulator import Line, TerminalEmulator
from widgets.terminal.history import HistoryLines, HistorySource, HistoryView
from widgets.terminal.keys import (
    MOUSE_LEFT,
    MOUSE_MIDDLE,
    MOUSE_RELEASE,
    MOUSE_RIGHT,
    WHEEL_DOWN,
    WHEEL_UP,
    encode_key,
    encode_mouse,
    encode_paste,
)

LEAVE_KEY = "ctrl+right_square_bracket"
LEAVE_KEY_DISPLAY = "^]"
FRAME_SECONDS = 1 / 60
SYNC_TIMEOUT = 0.25  # a frame held longer than this by mode 2026 is drawn anyway
MAX_INBOX = 4 * 1024 * 1024  # the reader waits when the UI is this far behind
WHEEL_LINES = 3

_NAMED = {
    "black": 0,
    "red": 1,
    "green": 2,
    "brown": 3,
    "blue": 4,
    "magenta": 5,
    "cyan": 6,
    "white": 7,
}
_NAMED.update({"bright" + name: n + 8 for name, n in list(_NAMED.items())})
_NAMED["bfightmagenta"] = 13  # stock pyte's spelling of SGR 105


def _colour(name: str) -> Color | None:
    if name == "default":
        return None
    number = _NAMED.get(name)
    if number is not None:
        return Color.from_ansi(number)
    try:
        return Color.from_rgb(int(name[0:2], 16), int(name[2:4], 16), int(name[4:6], 16))
    except ValueError:
        return None


ChannelFactory = Callable[[], TerminalChannel]


class TerminalWidget(Widget, can_focus=True):
    """The live terminal of one program.

    Args:
        channel_factory: makes the channel to run; called again to restart or reattach after
            the program ended (Enter or r).
        scrollback: lines kept above the main screen.
        cursor_blink: blink the cursor (turn off for stable snapshots).
        starting_text: shown on the last line from each start until the program's first
            output (a channel that waits before attaching: the session is still starting).
        history: reads the program's whole history (for a session, its tmux's): wheel up and
            Shift+PgUp then open the History view instead of this screen's own scrollback.
    """

    DEFAULT_CSS = """
    TerminalWidget {
        width: 1fr;
        height: 1fr;
        background: $background;
        color: $foreground;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            LEAVE_KEY,
            "leave_terminal",
            "Leave terminal",
            key_display=LEAVE_KEY_DISPLAY,
            id="leave_terminal",
        ),
        # The session's whole history (the agent's tmux keeps it; this screen does not).
        Binding("shift+pageup", "history", "History", id="history"),
    ]

    cursor_blink: reactive[bool] = reactive(True)

    class _FromTerminal(Message):
        """A message that says which terminal it came from (`control`)."""

        def __init__(self, terminal: TerminalWidget | None = None) -> None:
            super().__init__()
            self.terminal = terminal

        @property
        def control(self) -> TerminalWidget | None:
            return self.terminal

    class Started(_FromTerminal):
        """The channel was (re)started."""

    class Exited(Message):
        """The program ended (or could not be started)."""

        def __init__(
            self,
            exit_code: int | None,
            error: str | None,
            terminal: TerminalWidget | None = None,
        ) -> None:
            super().__init__()
            self.exit_code = exit_code
            self.error = error
            self.terminal = terminal

        @property
        def control(self) -> TerminalWidget | None:
            return self.terminal

    class TitleChanged(Message):
        """The program set the window title (OSC 0/2)."""

        def __init__(self, title: str) -> None:
            super().__init__()
            self.title = title

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TerminalWidget.TitleChanged)

    class Bell(_FromTerminal):
        """The program rang the bell."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TerminalWidget.Bell)

    class Notified(_FromTerminal):
        """The program asked for a desktop notification (OSC 9 / OSC 777)."""

        def __init__(self, terminal: TerminalWidget, text: str) -> None:
            super().__init__(terminal)
            self.text = text

    class Activity(_FromTerminal):
        """The program wrote output (at most about one a second; bursts collapse)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TerminalWidget.Activity)

    class _OutputReady(Message):
        """Output waits in the inbox; many collapse into one."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TerminalWidget._OutputReady)

    class _Ended(Message):
        def __init__(self, exit_code: int | None, error: str | None) -> None:
            super().__init__()
            self.exit_code = exit_code
            self.error = error

    def __init__(
        self,
        channel_factory: ChannelFactory,
        *,
        scrollback: int = 10_000,
        cursor_blink: bool = True,
        starting_text: str | None = None,
        history: HistorySource | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.channel_factory = channel_factory
        self.history_source = history
        self.history_view: HistoryView | None = None
        self.emulator = TerminalEmulator(
            80,
            24,
            scrollback=scrollback,
            on_reply=self._reply,
            on_bell=self._bell,
            on_title=self._title,
            on_notify=self._notify,
        )
        self._last_activity = 0.0
        self.set_reactive(TerminalWidget.cursor_blink, cursor_blink)
        self.pump: ChannelPump | None = None
        self.starting_text = starting_text
        self.starting = False  # started, no output yet
        self.end_reason: str | None = None  # why it ended, when the owner found out
        self.exited = False
        self.exit_code: int | None = None
        self.exit_error: str | None = None
        self.history_offset = 0  # lines scrolled back into the scrollback; 0 = live
        self._inbox: list[bytes] = []
        self._inbox_size = 0
        self._inbox_lock = threading.Condition()
        self._notified = False
        self._versions: list[int] = [0] * self.emulator.lines
        self._frame_rows: list[Line] = [Line(self.emulator.default_char)] * self.emulator.lines
        self._lines_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._styles: dict[tuple[object, ...], Style] = {}
        self._base_style: Style | None = None
        self._frame_timer: Timer | None = None
        self._sync_started: float | None = None
        self._last_frame = 0.0
        self._cursor_row = 0
        self._frame_cursor = (0, 0, True)
        self._blink_on = True
        self._blink_timer: Timer | None = None
        self._mouse_buttons = 0  # buttons held, for 1002 drag reports

    # -- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._blink_timer = self.set_interval(0.5, self._toggle_blink, pause=not self.cursor_blink)

    def on_resize(self, event: events.Resize) -> None:
        width, height = self.size
        if width <= 0 or height <= 0:
            return
        if (height, width) != (self.emulator.lines, self.emulator.columns):
            self.emulator.resize(height, width)
            self._snapshot_all()
            if self.pump is not None:
                self.pump.resize(height, width)
        if self.pump is None and not self.exited:
            self.start()
        self.refresh()

    def on_unmount(self) -> None:
        self._stop_pump()

    def start(self) -> None:
        """Start the channel (done automatically once the widget has a size)."""
        self._stop_pump()
        self.exited = False
        self.exit_code = self.exit_error = self.end_reason = None
        self.starting = True
        with self._inbox_lock:
            self._inbox.clear()
            self._inbox_size = 0
        pump = ChannelPump(self.channel_factory(), self._receive, self._ended)
        self.pump = pump
        pump.start(self.emulator.lines, self.emulator.columns)
        self.post_message(self.Started(self))

    def restart(self) -> None:
        """Start again on a clean screen (for a tmux session: reattach and redraw)."""
        self.emulator.reset()
        self.history_offset = 0
        self._snapshot_all()
        self.start()
        self.refresh()

    def _stop_pump(self) -> None:
        if self.pump is not None:
            self.pump.close()
            self.pump = None
        with self._inbox_lock:
            self._inbox_lock.notify_all()

    # -- output, from the reader thread ----------------------------------------------------

    def _receive(self, data: bytes) -> None:
        with self._inbox_lock:
            # Back-pressure: a program flooding output waits for the UI instead of filling
            # memory.
            while self._inbox_size > MAX_INBOX and self.pump is not None and not self.pump.closed:
                self._inbox_lock.wait(0.1)
            self._inbox.append(data)
            self._inbox_size += len(data)
            notify = not self._notified
            self._notified = True
        if notify:
            self.post_message(self._OutputReady())

    def _ended(self, exit_code: int | None, error: str | None) -> None:
        self.post_message(self._Ended(exit_code, error))

    def _drain(self) -> None:
        with self._inbox_lock:
            data = b"".join(self._inbox)
            self._inbox.clear()
            self._inbox_size = 0
            self._notified = False
            self._inbox_lock.notify_all()
        if data:
            pushed = self.emulator.scrollback_pushed
            self.emulator.feed(data)
            if self.history_offset:  # keep the view still while reading back
                grown = self.emulator.scrollback_pushed - pushed
                self.history_offset = min(
                    self.history_offset + grown, len(self.emulator.scrollback)
                )

    def on_terminal_widget__output_ready(self, message: _OutputReady) -> None:
        message.stop()
        if self.starting:
            self.starting = False
            self.refresh()
        self._drain()
        self._schedule_frame()
        now = time.monotonic()
        if now - self._last_activity >= 1.0:
            self._last_activity = now
            self.post_message(self.Activity(self))

    def on_terminal_widget__ended(self, message: _Ended) -> None:
        message.stop()
        self._drain()
        self.exited = True
        self.starting = False
        self.exit_code, self.exit_error = message.exit_code, message.error
        self.pump = None
        self._flush_frame(force=True)
        self.refresh()
        self.post_message(self.Exited(message.exit_code, message.error, self))

    def show_end_reason(self, reason: str) -> None:
        """Say why the program ended (found by the owner, e.g. "the session stopped")."""
        if self.exited:
            self.end_reason = reason
            self.refresh()

    # -- frames ----------------------------------------------------------------------------

    def _schedule_frame(self) -> None:
        if self._frame_timer is not None:
            return
        now = time.monotonic()
        if self.emulator.synchronized:
            if self._sync_started is None:
                self._sync_started = now
            delay = max(0.0, self._sync_started + SYNC_TIMEOUT - now)
        else:
            delay = max(0.0, self._last_frame + FRAME_SECONDS - now)
        if delay <= 0:
            self._flush_frame()
        else:
            self._frame_timer = self.set_timer(delay, self._frame_due)

    def _frame_due(self) -> None:
        self._frame_timer = None
        self._flush_frame()

    def _flush_frame(self, force: bool = False) -> None:
        emulator = self.emulator
        now = time.monotonic()
        if emulator.synchronized and not force:
            started = self._sync_started if self._sync_started is not None else now
            self._sync_started = started
            if now - started < SYNC_TIMEOUT:
                return  # the end of the frame will come with more output
        self._sync_started = None
        self._last_frame = now
        dirty = set(emulator.dirty)
        emulator.dirty.clear()
        versions = self._versions
        for y in dirty:
            if 0 <= y < len(versions):
                versions[y] += 1
                self._snapshot_row(y)
        # Rendering reads the cursor as of the last frame, so a held frame stays whole.
        cursor_x, cursor_y = emulator.cursor_xy
        self._frame_cursor = (cursor_x, cursor_y, emulator.cursor_visible)
        dirty.update((self._cursor_row, cursor_y))
        self._cursor_row = cursor_y
        if self.history_offset:
            self.refresh()
            return
        width = self.size.width
        self.refresh(*(Region(0, y, width, 1) for y in sorted(dirty) if 0 <= y < len(versions)))

    # -- rendering -------------------------------------------------------------------------

    def _snapshot_row(self, y: int) -> None:
        """Copy a screen row as it is at this frame; rendering reads only these copies, so
        output that arrives between frames (or inside a held frame) is never half shown."""
        source = self.emulator.buffer[y]
        row = Line(source.default)
        row.update(source)
        self._frame_rows[y] = row

    def _snapshot_all(self) -> None:
        self._frame_rows = [Line(self.emulator.default_char)] * self.emulator.lines
        for y in range(self.emulator.lines):
            self._snapshot_row(y)
        self._versions = [v + 1 for v in self._versions[: self.emulator.lines]]
        self._versions += [0] * (self.emulator.lines - len(self._versions))
        self._lines_cache.clear()

    def render_line(self, y: int) -> Strip:
        emulator = self.emulator
        width = self.size.width
        base = self.rich_style
        if base != self._base_style:
            self._base_style = base
            self._styles.clear()
            self._lines_cache.clear()
        if self.exited and y == self.size.height - 1:
            return self._exit_banner(width)
        if self.starting and self.starting_text and y == self.size.height - 1:
            style = base + Style(reverse=True)
            text = f" {self.starting_text} "
            return Strip([Segment(text[:width], style)]).adjust_cell_length(width, base)
        history = emulator.scrollback
        index = len(history) - self.history_offset + y
        if index < len(history):
            if index < 0:
                return Strip.blank(width, base)
            key: tuple[object, ...] = (
                "h",
                emulator.scrollback_pushed - len(history) + index,
                width,
            )
            line = history[index]
            cursor_x = -1
        else:
            row = index - len(history)
            if row >= emulator.lines:
                return Strip.blank(width, base)
            line = self._frame_rows[row]
            cursor_x = self._cursor_column(row)
            key = ("s", row, self._versions[row], cursor_x, width)
        strip = self._lines_cache.get(key)
        if strip is None:
            strip = self._render_cells(line, width, cursor_x)
            self._lines_cache[key] = strip
        return strip

    def _cursor_column(self, row: int) -> int:
        emulator = self.emulator
        x, y = emulator.cursor_xy
        if (
            y != row
            or self.history_offset
            or self.exited
            or not emulator.cursor_visible
            or not self.has_focus
            or not (self._blink_on or not self.cursor_blink)
        ):
            return -1
        return x

    def _render_cells(self, line: Line, width: int, cursor_x: int) -> Strip:
        columns = min(width, self.emulator.columns)
        segments: list[Segment] = []
        run: list[str] = []
        run_key: tuple[object, ...] | None = None
        for x in range(columns):
            cell = line[x]
            key = tuple(cell[1:])
            if x == cursor_x:
                key = (*key[:6], not key[6], *key[7:])  # the cursor is a reversed cell
            if key != run_key:
                if run:
                    segments.append(Segment("".join(run), self._style(run_key)))
                    run = []
                run_key = key
            run.append(cell.data or "")
        if run:
            segments.append(Segment("".join(run), self._style(run_key)))
        return Strip(segments).adjust_cell_length(width, self.rich_style)

    def _style(self, key: tuple[object, ...] | None) -> Style:
        style = self._styles.get(key or ())
        if style is None:
            fg, bg, bold, italics, underscore, strikethrough, reverse, blink = key or (
                "default",
                "default",
                False,
                False,
                False,
                False,
                False,
                False,
            )
            cell = Style(
                color=_colour(str(fg)),
                bgcolor=_colour(str(bg)),
                bold=bool(bold),
                italic=bool(italics),
                underline=bool(underscore),
                strike=bool(strikethrough),
                reverse=bool(reverse),
                blink=bool(blink),
            )
            style = self._styles[key or ()] = self.rich_style + cell
        return style

    def _exit_banner(self, width: int) -> Strip:
        if self.end_reason:
            text = f" {self.end_reason} — Enter or r: restart / reattach "
        elif self.exit_error:
            text = f" could not run: {self.exit_error} — Enter or r: try again "
        elif self.exit_code is None:
            text = " program ended — Enter or r: restart / reattach "
        else:
            text = f" program exited ({self.exit_code}) — Enter or r: restart / reattach "
        text = " ".join(text.splitlines())  # a multi-line reason on the one banner line
        style = self.rich_style + Style(reverse=True, bold=True)
        return Strip([Segment(text[:width], style)]).adjust_cell_length(width, self.rich_style)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    # -- cursor ----------------------------------------------------------------------------

    def _toggle_blink(self) -> None:
        self._blink_on = not self._blink_on
        self._refresh_cursor_row()

    def watch_cursor_blink(self, blink: bool) -> None:
        self._blink_on = True
        if self._blink_timer is not None:
            if blink:
                self._blink_timer.resume()
            else:
                self._blink_timer.pause()
        self._refresh_cursor_row()

    def _refresh_cursor_row(self) -> None:
        if self.is_mounted:
            self.refresh(Region(0, self._frame_cursor[1], self.size.width, 1))

    def on_focus(self, event: events.Focus) -> None:
        if self.history_view is not None:  # the History view is open over it: it reads keys
            self.call_after_refresh(self._focus_history)
            return
        if self.emulator.focus_events:
            self._send(b"\x1b[I")
        self._refresh_cursor_row()

    def on_blur(self, event: events.Blur) -> None:
        if self.emulator.focus_events:
            self._send(b"\x1b[O")
        self._refresh_cursor_row()

    # -- input -----------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self.pump is not None and data:
            self.pump.write(data)

    def _reply(self, data: bytes) -> None:
        self._send(data)

    def _bell(self) -> None:
        self.post_message(self.Bell(self))

    def _title(self, title: str) -> None:
        self.post_message(self.TitleChanged(title))

    def _notify(self, text: str) -> None:
        self.post_message(self.Notified(self, text))

    def action_leave_terminal(self) -> None:
        """Move focus out of the terminal (the only key the program never sees)."""
        screen = self.screen
        screen.focus_next()
        if screen.focused is self:
            screen.set_focus(None)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Every key goes to the program except this widget's own bindings and the app's
        priority ones (they act before the terminal sees a key): the footer and help then
        show only keys that work here."""
        return not any(
            binding.priority
            for node in self.ancestors
            for binding in node._bindings.key_to_bindings.get(key, ())
        )

    async def on_key(self, event: events.Key) -> None:
        if self.history_view is not None:
            if self.screen.focused is not self:
                return  # from the History view's search line: its keys, never the program's
            self.close_history()  # typed at the terminal itself: live again, the key goes on
        event.stop()
        event.prevent_default()
        key = event.key
        # This widget's bindings as the user's keymap ([keys] in the config) has them: the
        # key event stops here, so Textual would never run them itself.
        active = self.screen.active_bindings.get(key)
        if active is not None and active.node is self:
            await self.run_action(active.binding.action)
            return
        if self.exited:
            if key in ("enter", "r"):
                self.restart()
            return
        if key == "shift+pageup" and self.history_source is not None:
            self.action_history()
            return
        if key in ("shift+pageup", "shift+pagedown") and not self.emulator.in_alternate_screen:
            page = max(1, self.size.height - 1)
            self.scroll_history(page if key == "shift+pageup" else -page)
            return
        data = encode_key(
            key, event.character, cursor_keys_application=self.emulator.cursor_keys_application
        )
        if data:
            self.scroll_history(-self.history_offset)  # typing returns to the live screen
            self._blink_on = True
            self._send(data)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        if not self.exited:
            self.scroll_history(-self.history_offset)
            self._send(encode_paste(event.text, bracketed=self.emulator.bracketed_paste))

    def scroll_history(self, lines: int) -> None:
        """Scroll the view back (positive) or forward (negative) through the scrollback."""
        offset = max(0, min(self.history_offset + lines, len(self.emulator.scrollback)))
        if offset != self.history_offset:
            self.history_offset = offset
            self.refresh()

    # -- mouse -----------------------------------------------------------------------------

    def _mouse_report(
        self, event: events.MouseEvent, button: int, *, release: bool = False, motion: bool = False
    ) -> bool:
        """Send the event if the program asked for the mouse; True if it was sent."""
        tracking = self.emulator.mouse_tracking
        if not tracking or self.exited:
            return False
        if tracking == 9 and (release or motion or button >= WHEEL_UP):
            return True  # X10 reports presses only, but the program still owns the mouse
        data = encode_mouse(
            button,
            event.x,
            event.y,
            encoding=self.emulator.mouse_encoding,
            release=release,
            motion=motion,
            shift=event.shift,
            meta=event.meta,
            ctrl=event.ctrl,
        )
        if data:
            self._send(data)
        return True

    @staticmethod
    def _button(event: events.MouseEvent) -> int:
        return {1: MOUSE_LEFT, 2: MOUSE_MIDDLE, 3: MOUSE_RIGHT}.get(event.button, MOUSE_LEFT)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._mouse_buttons += 1
        if self._mouse_report(event, self._button(event)):
            event.stop()
            self.capture_mouse()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._mouse_buttons = max(0, self._mouse_buttons - 1)
        if self._mouse_report(event, self._button(event), release=True):
            event.stop()
            self.capture_mouse(False)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        tracking = self.emulator.mouse_tracking
        if tracking == 1003 or (tracking == 1002 and event.button):
            button = self._button(event) if event.button else MOUSE_RELEASE
            self._mouse_report(event, button, motion=True)
            event.stop()

    def _wheel(self, event: events.MouseEvent, up: bool) -> None:
        event.stop()
        if self._mouse_report(event, WHEEL_UP if up else WHEEL_DOWN):
            return
        if self.history_source is not None:
            if up:
                self.open_history(back=WHEEL_LINES)
            return
        if self.emulator.in_alternate_screen:
            # Full-screen programs without mouse support (less, man) scroll with arrows.
            arrow = encode_key(
                "up" if up else "down",
                None,
                cursor_keys_application=self.emulator.cursor_keys_application,
            )
            self._send((arrow or b"") * WHEEL_LINES)
        else:
            self.scroll_history(WHEEL_LINES if up else -WHEEL_LINES)

    # -- the History view ------------------------------------------------------------------

    def action_history(self) -> None:
        """Open the History view a page back (or, with no history source, scroll back this
        screen's own scrollback)."""
        page = max(1, self.size.height - 1)
        if self.history_source is not None:
            self.open_history(back=page)
        elif not self.emulator.in_alternate_screen:
            self.scroll_history(page)
        else:
            self._send(encode_key("shift+pageup", None) or b"")

    def open_history(self, back: int = 0) -> None:
        """Show the whole history in this pane, `back` rows above its end."""
        if self.history_source is None or self.history_view is not None:
            return
        self.history_view = HistoryView(self.history_source, back=back)
        self.mount(self.history_view)

    def _focus_history(self) -> None:
        view = self.history_view
        if view is not None:
            for lines in view.query(HistoryLines):
                lines.focus()

    def close_history(self) -> None:
        view, self.history_view = self.history_view, None
        if view is not None:
            view.remove()
            self.focus()

    def on_history_view_closed(self, message: HistoryView.Closed) -> None:
        message.stop()
        self.close_history()
        if message.key is not None:  # typing goes back to the live terminal, key included
            self.post_message(events.Key(message.key, message.character))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, up=True)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, up=False)

    # -- text views for tests and tools ----------------------------------------------------

    @property
    def display_lines(self) -> list[str]:
        """The screen as text, one string per line (right-stripped)."""
        return [line.rstrip() for line in self.emulator.display]

    @property
    def screen_text(self) -> str:
        return "\n".join(self.display_lines)
