"""`TerminalWidget`: a program's live terminal inside a Textual app.

Output path: a `ChannelPump` reader thread hands batches to `_receive` (any thread), which
puts them in an `OutputInbox` and posts one coalescing `_OutputReady`; the handler feeds the
inbox to the `TerminalEmulator` on the event loop in slices of a few milliseconds (a key typed
meanwhile is sent between two slices: input first) and schedules a frame (`frames.py`: at most
~60 a second, whole synchronized frames). A frame refreshes only the lines that changed; lines
are rendered through the line API (`cells.py`) and cached per (line, version).

Hidden terminals cost nothing (`detach_hidden`): a terminal whose channel can be attached
again (the agent's tmux) closes it once it has been out of sight (another tab or terminal in
front, another screen over it) for a moment, keeping its last screen; shown again it draws
that screen at once and attaches again at its current size, and tmux's redraw catches up.

Leaving the terminal: Ctrl-] (`LEAVE_KEY`). Every other key goes to the program, so the key
that moves focus out must be one no agent or tool needs: Claude Code uses Esc, Esc Esc,
Ctrl-C, Ctrl-R, Ctrl-O and Shift-Tab; Codex uses Esc, Ctrl-C, Ctrl-J/Enter; tmux's prefix is
Ctrl-B; shells use most Ctrl letters. Ctrl-] is telnet's well-known escape key, is one plain
control byte (0x1D) so it survives SSH and tmux with any TERM (unlike F-keys, whose bytes
depend on terminfo), and tmux binds it only after the prefix. The cost: vim's "jump to tag"
(Ctrl-]) is not available inside the embedded terminal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import ClassVar, TypeAlias

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from widgets.terminal import messages
from widgets.terminal.cells import CellStyles, cell_segments
from widgets.terminal.channel import ChannelPump, TerminalChannel
from widgets.terminal.emulator import Line, TerminalEmulator
from widgets.terminal.frames import Frames
from widgets.terminal.history import HistoryLines, HistorySource, HistoryView
from widgets.terminal.inbox import OutputInbox
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
WHEEL_LINES = 3
DETACH_GRACE = 1.5  # seconds out of sight before a reattachable channel is closed
SLICE_BYTES = 16 * 1024  # output emulated at a time ...
SLICE_SECONDS = 0.008  # ... until this long has passed; then keys and frames go first
# After a reattach the old screen stays until tmux's redraw has arrived whole: the next frame
# waits for a pause in the output this long (at most REDRAW_HOLD after the first bytes).
REDRAW_QUIET = 0.02
REDRAW_HOLD = 0.25
# The cursor blinks while the terminal has the keyboard and, as in VTE (GNOME Terminal), stops
# (shown steady) after this long without a key or output: an idle dashboard redraws nothing.
BLINK_IDLE = 10.0


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
        detach_hidden: seconds out of sight after which the channel is closed (the screen
            stays) and attached again when shown; only for channels that can reattach (a
            tmux attach). None: it reads all the time.
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

    # What it tells its owner (widgets/terminal/messages.py).
    Started: TypeAlias = messages.Started
    Exited: TypeAlias = messages.Exited
    TitleChanged: TypeAlias = messages.TitleChanged
    Bell: TypeAlias = messages.Bell
    Notified: TypeAlias = messages.Notified
    Activity: TypeAlias = messages.Activity

    class _OutputReady(Message):
        """Output waits in the inbox; many collapse into one."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TerminalWidget._OutputReady)

    class _Ended(Message):
        def __init__(self, pump: ChannelPump, exit_code: int | None, error: str | None) -> None:
            super().__init__()
            self.pump = pump
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
        detach_hidden: float | None = None,
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
        self._inbox = OutputInbox()
        self.frames = Frames(self.emulator)
        self._lines_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._styles = CellStyles()
        self._frame_timer: Timer | None = None
        self._blink_on = True
        self._blink_timer: Timer | None = None
        self._blink_woken = 0.0  # the last key or output: the cursor blinks BLINK_IDLE after
        self._paint: tuple[Style, Size] | None = None  # style and size during a paint
        self._mouse_buttons = 0  # buttons held, for 1002 drag reports
        self.detach_hidden = detach_hidden
        self.detached = False  # closed on purpose while out of sight; the screen is kept
        self._shown = True  # laid out on its screen (Show/Hide)
        self._covered = False  # another screen is in front of its own
        self._detach_timer: Timer | None = None
        self._redrawing = False  # reattached: the old screen stays until the redraw is in
        self._redraw_deadline: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._blink_timer = self.set_interval(0.5, self._toggle_blink, pause=True)
        if self.detach_hidden is not None:
            self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_resize(self, event: events.Resize) -> None:
        width, height = self.size
        if width <= 0 or height <= 0:
            return
        if (height, width) != (self.emulator.lines, self.emulator.columns):
            self.emulator.resize(height, width)
            self._snapshot_all()
            if self.pump is not None:
                self.pump.resize(height, width)
        if self.pump is None and not self.exited and not self.detached:
            self.start()
        self.refresh()

    def on_unmount(self) -> None:
        self._stop_pump()

    # -- out of sight: detach, and attach again when shown ---------------------------------

    @property
    def in_sight(self) -> bool:
        """Laid out on the screen in front (another tab, terminal or screen hides it)."""
        return self._shown and not self._covered

    def on_show(self) -> None:
        self._shown = True
        self._sight_changed()

    def on_hide(self) -> None:
        self._shown = False
        self._sight_changed()

    def _screen_changed(self, screen: Screen[object]) -> None:
        self._covered = screen is not self.screen
        self._sight_changed()

    def _sight_changed(self) -> None:
        self._wake_blink()  # no blinking out of sight
        if self.detach_hidden is None:
            return
        if self.in_sight:
            if self._detach_timer is not None:  # back within the grace: nothing happened
                self._detach_timer.stop()
                self._detach_timer = None
            if self.detached:
                self.reattach()
        elif self.pump is not None and self._detach_timer is None:
            self._detach_timer = self.set_timer(self.detach_hidden, self._detach_out_of_sight)

    def _detach_out_of_sight(self) -> None:
        self._detach_timer = None
        if self.in_sight or self.pump is None or self.exited:
            return
        self._stop_pump()  # the exec ends; the agent's tmux keeps the state
        self._inbox.clear()  # the redraw after reattaching brings everything back
        self.detached = True

    def reattach(self) -> None:
        """Attach again after a detach: the last screen stays until the redraw replaces it."""
        self.detached = False
        self.emulator.new_stream()
        self._redrawing, self._redraw_deadline = True, None
        self.start(starting=self.starting)  # the starting line only if no output came yet

    def start(self, starting: bool = True) -> None:
        """Start the channel (done automatically once the widget has a size); `starting`:
        show the starting line until the first output."""
        self._stop_pump()
        self.exited = self.detached = False
        self.exit_code = self.exit_error = self.end_reason = None
        self.starting = starting
        self._inbox.clear()
        # What a closed pump's threads still deliver is not this channel's: it is dropped.
        pump = ChannelPump(
            self.channel_factory(),
            lambda data: self._receive(pump, data),
            lambda code, error: self._ended(pump, code, error),
        )
        self.pump = pump
        pump.start(self.emulator.lines, self.emulator.columns)
        self.post_message(self.Started(self))

    def restart(self) -> None:
        """Start again on a clean screen (for a tmux session: reattach and redraw)."""
        self.emulator.reset()
        self.history_offset = 0
        self._redrawing = False  # a clean screen: nothing old to hold
        self._snapshot_all()
        self.start()
        self.refresh()

    def _stop_pump(self) -> None:
        if self.pump is not None:
            self.pump.close()
            self.pump = None
        self._inbox.wake()

    # -- output, from the reader thread ----------------------------------------------------

    def _receive(self, pump: ChannelPump, data: bytes) -> None:
        if pump is not self.pump:
            return
        if self._inbox.put(data, reading=lambda: not pump.closed):
            self.post_message(self._OutputReady())

    def _ended(self, pump: ChannelPump, exit_code: int | None, error: str | None) -> None:
        self.post_message(self._Ended(pump, exit_code, error))

    def _drain(self, budget: float | None = None) -> bool:
        """Emulate waiting output, for at most `budget` seconds (None: all of it); True when
        some is left for later."""
        deadline = time.perf_counter() + (budget or 0.0)
        emulator = self.emulator
        pushed = emulator.scrollback_pushed
        more = False
        while True:
            data = self._inbox.take(SLICE_BYTES if budget is not None else None)
            if not data:
                break
            emulator.feed(data)
            more = self._inbox.pending
            if not more or (budget is not None and time.perf_counter() >= deadline):
                break
        if self.history_offset:  # keep the view still while reading back
            grown = emulator.scrollback_pushed - pushed
            self.history_offset = min(self.history_offset + grown, len(emulator.scrollback))
        return more

    async def on_terminal_widget__output_ready(self, message: _OutputReady) -> None:
        message.stop()
        if self.starting:
            self.starting = False
            self.refresh()
        more = self._drain(SLICE_SECONDS)
        self._schedule_frame()
        now = time.monotonic()
        self._wake_blink()
        if now - self._last_activity >= 1.0:
            self._last_activity = now
            self.post_message(self.Activity(self))
        if more:
            # The rest after what waits now: keys typed meanwhile reach the program first.
            await asyncio.sleep(0)
            self.post_message(self._OutputReady())

    def on_terminal_widget__ended(self, message: _Ended) -> None:
        message.stop()
        if message.pump is not self.pump:
            return  # a channel closed on purpose (detached, restarted) ended late
        self._drain()
        self.exited = True
        self.starting = False
        self.exit_code, self.exit_error = message.exit_code, message.error
        self.pump = None
        self._flush_frame(force=True)
        self.refresh()
        self.post_message(self.Exited(message.exit_code, message.error, self))
        self._wake_blink()

    def show_end_reason(self, reason: str) -> None:
        """Say why the program ended (found by the owner, e.g. "the session stopped")."""
        if self.exited:
            self.end_reason = reason
            self.refresh()

    # -- frames ----------------------------------------------------------------------------

    def _schedule_frame(self) -> None:
        if self._redrawing:
            now = time.monotonic()
            if self._redraw_deadline is None:
                self._redraw_deadline = now + REDRAW_HOLD
            if now < self._redraw_deadline:  # the redraw goes on: wait for its end
                if self._frame_timer is not None:
                    self._frame_timer.stop()
                wait = min(REDRAW_QUIET, self._redraw_deadline - now)
                self._frame_timer = self.set_timer(wait, self._redraw_done)
                return
            self._redrawing = False
        if self._frame_timer is not None:
            return
        delay = self.frames.delay(time.monotonic())
        if delay <= 0:
            self._flush_frame()
        else:
            self._frame_timer = self.set_timer(delay, self._frame_due)

    def _frame_due(self) -> None:
        self._frame_timer = None
        self._flush_frame()

    def _redraw_done(self) -> None:
        self._redrawing = False
        self._frame_due()

    def _flush_frame(self, force: bool = False) -> None:
        dirty = self.frames.take(time.monotonic(), force)
        if dirty is None:
            return
        if self.history_offset:
            self.refresh()
            return
        width = self.size.width
        self.refresh(*(Region(0, y, width, 1) for y in dirty))

    # -- rendering -------------------------------------------------------------------------

    def _snapshot_all(self) -> None:
        self.frames.copy_all()
        self._lines_cache.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual asks render_line for each line of a paint: the widget's style and size,
        each a walk up the DOM, are read once per paint (they were most of a switch's time)."""
        self._paint = (self.rich_style, self.size)
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        emulator = self.emulator
        base, size = self._paint or (self.rich_style, self.size)
        width = size.width
        if self._styles.rebase(base):
            self._lines_cache.clear()
        if self.exited and y == size.height - 1:
            return self._exit_banner(width)
        if self.starting and self.starting_text and y == size.height - 1:
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
            line = self.frames.rows[row]
            cursor_x = self._cursor_column(row)
            key = ("s", row, self.frames.versions[row], cursor_x, width)
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
        segments = cell_segments(line, columns, cursor_x, self._styles)
        base = self._paint[0] if self._paint else self.rich_style
        return Strip(segments).adjust_cell_length(width, base)

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

    def _blinks(self) -> bool:
        """The cursor is drawn (focused, live, in sight) and was lately busy."""
        return (
            self.cursor_blink
            and self.in_sight
            and self.is_mounted
            and self.screen.focused is self  # (has_focus lags behind in on_blur)
            and not self.exited
            and time.monotonic() - self._blink_woken < BLINK_IDLE
        )

    def _wake_blink(self) -> None:
        """A key or output (or focus, sight): blink again for BLINK_IDLE; out of focus or
        sight the timer stops, the cursor drawn steady when it is drawn again."""
        self._blink_woken = time.monotonic()
        timer = self._blink_timer
        if timer is None:
            return
        if self._blinks():
            timer.resume()
        else:
            timer.pause()
            if not self._blink_on:
                self._blink_on = True
                self._refresh_cursor_row()

    def _toggle_blink(self) -> None:
        if not self._blinks():  # idle: steady, and nothing more until a key or output
            if self._blink_timer is not None:
                self._blink_timer.pause()
            if self._blink_on:
                return
            self._blink_on = True
        else:
            self._blink_on = not self._blink_on
        self._refresh_cursor_row()

    def watch_cursor_blink(self, blink: bool) -> None:
        self._blink_on = True
        self._wake_blink()
        self._refresh_cursor_row()

    def _refresh_cursor_row(self) -> None:
        if self.is_mounted:
            self.refresh(Region(0, self.frames.cursor[1], self.size.width, 1))

    def on_focus(self, event: events.Focus) -> None:
        if self.history_view is not None:  # the History view is open over it: it reads keys
            self.call_after_refresh(self._focus_history)
            return
        if self.emulator.focus_events:
            self._send(b"\x1b[I")
        self._wake_blink()
        self._refresh_cursor_row()

    def on_blur(self, event: events.Blur) -> None:
        if self.emulator.focus_events:
            self._send(b"\x1b[O")
        self._wake_blink()
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
        if self.history_view is None and self.screen.focused is not self:
            # Given to us before the keyboard left (Ctrl-] and a key typed at once are both
            # queued here): it is the new focus's, never the program's. Pressed again.
            self.app.post_message(events.Key(event.key, event.character))
            return
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
            self._wake_blink()
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
