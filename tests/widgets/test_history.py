"""The History view inside a TerminalWidget: opening (wheel, Shift+PgUp), scrolling, search and
n/N, copy (keys and a mouse drag), and going back (Esc, q, typing).

The channel and the history source stand in for the session; the widgets are real. The real
capture from a session's tmux is tested in tests/integration/test_history_tmux.py.
"""

from __future__ import annotations

import threading

from rich.style import Style
from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import Input

from claudex_tui.messages import AgentWaiting
from tests.fakes import ScriptedChannel
from tests.waiting import until
from widgets.terminal.history import HistoryLines, HistoryView
from widgets.terminal.history_rows import parse_history
from widgets.terminal.widget import TerminalWidget

HISTORY = "".join(f"\x1b[3{i % 7 + 1}mline\x1b[0m {i}\n" for i in range(1, 1001)).encode()


class HistoryApp(App[None]):
    def __init__(self, history: bytes = HISTORY) -> None:
        super().__init__()
        self.channel = ScriptedChannel()
        self.history = history
        self.reads = 0
        self.copied: list[str] = []
        self.release = threading.Event()
        self.release.set()

    def read_history(self) -> bytes:
        self.reads += 1
        self.release.wait(10)
        return self.history

    def compose(self) -> ComposeResult:
        yield TerminalWidget(lambda: self.channel, cursor_blink=False, history=self.read_history)

    def on_mount(self) -> None:
        self.query_one(TerminalWidget).focus()

    def copy_to_clipboard(self, text: str) -> None:
        self.copied.append(text)
        super().copy_to_clipboard(text)


def _styled(strip: Strip, style: Style) -> str:
    """The text of a row drawn with `style`'s background."""
    return "".join(seg.text for seg in strip if seg.style and seg.style.bgcolor == style.bgcolor)


def _lines(app: App[None]) -> HistoryLines:
    return app.query_one(HistoryLines)


def _visible(app: App[None]) -> list[str]:
    lines = _lines(app)
    return [row.text for row in lines.rows[lines.view_top : lines.view_top + lines.size.height]]


async def _open(pilot: Pilot[None], key: str = "shift+pageup") -> HistoryLines:
    await pilot.press(key)
    view = await until(pilot, lambda: pilot.app.query(HistoryView), "the history view")
    await until(pilot, lambda: view.first().loaded, "the history read")
    return _lines(pilot.app)


async def test_shift_pageup_opens_a_page_back_and_keys_scroll() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await _open(pilot)
        assert app.focused is lines
        assert len(lines.rows) == 1000 and lines.rows[0].text == "line 1"
        height = lines.size.height
        assert lines.view_top == 1000 - height - (24 - 1)  # a page above the end
        assert (lines.rows[0].segments[0].style or Style()).color is not None  # colours kept
        await pilot.press("end")
        await until(pilot, lambda: _visible(app)[-1] == "line 1000", "the end")
        await pilot.press("home")
        await until(pilot, lambda: _visible(app)[0] == "line 1", "the top")
        await pilot.press("pagedown")
        await until(pilot, lambda: lines.view_top == height - 1, "one page down")
        before = lines.cursor
        await pilot.press("up", "up")
        assert lines.cursor == before - 2
        # Nothing went to the program while reading.
        assert b"".join(app.channel.written) == b""


async def test_wheel_opens_and_scrolls_and_wheel_down_at_the_end_goes_back() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = app.query_one(TerminalWidget)
        await pilot._post_mouse_events([events.MouseScrollUp], term, offset=(5, 5))
        await until(pilot, lambda: app.query(HistoryView), "the history view")
        await until(pilot, lambda: app.query_one(HistoryView).loaded, "the history read")
        lines = _lines(app)
        assert lines.view_top == lines.max_scroll_y - 3
        await pilot._post_mouse_events([events.MouseScrollDown], lines, offset=(5, 5))
        assert app.query(HistoryView)  # at the end now, still open
        await until(pilot, lambda: lines.view_top >= lines.max_scroll_y, "scrolled to the end")
        await pilot._post_mouse_events([events.MouseScrollDown], lines, offset=(5, 5))
        await until(pilot, lambda: not app.query(HistoryView), "back to the live terminal")
        assert app.focused is term


async def test_search_finds_upward_and_n_N_move_between_hits() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await _open(pilot)
        await pilot.press("slash")
        search = await until(pilot, lambda: app.query_one("#history-search", Input), "search")
        await until(pilot, lambda: app.focused is search, "the search line focused")
        await pilot.press(*"line 12", "enter")
        await until(pilot, lambda: app.focused is lines, "back on the lines")
        # Hits: line 12, line 120-129, line 12 in 1200? (no: 1000 lines) -> 11 hits.
        assert len(lines.hits) == 11
        assert lines.rows[lines.cursor].text == "line 129"  # nearest above the cursor
        assert lines.view_top <= lines.cursor < lines.view_top + lines.size.height
        await pilot.press("n")
        assert lines.rows[lines.cursor].text == "line 128"
        await pilot.press("N", "N")
        assert lines.rows[lines.cursor].text == "line 12"  # wraps round to the first
        # The current hit is drawn in its own style, other hits in the match style.
        strip = lines.render_line(lines.cursor - lines.view_top)
        current = lines.get_component_rich_style("history--current", partial=True)
        assert _styled(strip, current) == "line 12"
        other = lines.rows.index(next(r for r in lines.rows if r.text == "line 120"))
        lines.scroll_to(y=other, animate=False, immediate=True)
        strip = lines.render_line(0)
        match = lines.get_component_rich_style("history--match", partial=True)
        assert _styled(strip, match) == "line 12"


async def test_search_escape_cancels_and_nothing_reaches_the_program() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await _open(pilot)
        await pilot.press("slash", "q", "x", "backspace", "escape")
        await until(pilot, lambda: app.focused is lines, "the search closed")
        assert app.query(HistoryView) and lines.query_text == ""
        assert b"".join(app.channel.written) == b""


async def test_copy_with_keys_and_with_a_mouse_drag() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await _open(pilot)
        await pilot.press("slash", *"line 500", "enter")
        await until(pilot, lambda: lines.hits, "the hit")
        await pilot.press("y")  # no selection: the cursor's line
        assert app.copied[-1] == "line 500"
        await pilot.press("v", "down", "down", "y")
        assert app.copied[-1] == "line 500\nline 501\nline 502"
        # A drag from the 2nd character of one row to the 4th of the next.
        top = lines.view_top
        first = lines.rows[top].text
        second = lines.rows[top + 1].text
        await pilot.mouse_down(lines, offset=(1, 0))
        await pilot.hover(lines, offset=(4, 1))
        await pilot.mouse_up(lines, offset=(4, 1))
        await until(pilot, lambda: len(app.copied) == 3, "the drag copied")
        assert app.copied[-1] == first[1:] + "\n" + second[:4]
        assert app.query(HistoryView)  # copying stays in the view


async def test_copy_writes_osc52_to_the_terminal() -> None:
    app = HistoryApp()
    written: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        driver = app._driver
        assert driver is not None
        original = driver.write

        def write(data: str) -> None:
            written.append(data)
            original(data)

        driver.write = write  # type: ignore[method-assign]
        await _open(pilot)
        await pilot.press("end", "y")
        import base64

        assert f"\x1b]52;c;{base64.b64encode(b'line 1000').decode()}\a" in written


async def test_escape_and_q_go_back_and_typing_is_forwarded() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = app.query_one(TerminalWidget)
        for key in ("escape", "q"):
            await _open(pilot)
            await pilot.press(key)
            await until(pilot, lambda: not app.query(HistoryView), f"{key} closed the view")
            assert app.focused is term
        assert b"".join(app.channel.written) == b""
        await _open(pilot)
        await pilot.press("l", "s")
        await until(pilot, lambda: not app.query(HistoryView), "typing closed the view")
        await until(pilot, lambda: b"".join(app.channel.written) == b"ls", "ls typed")
        assert app.focused is term


async def test_a_failed_read_says_why_and_esc_still_goes_back() -> None:
    app = HistoryApp()

    def fail() -> bytes:
        raise RuntimeError("the agent's terminal is not running [b]x[/b]")

    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(TerminalWidget).history_source = fail
        await _open(pilot)
        status = app.query_one("#history-status")
        assert "not running [b]x[/b]" in str(status.render())  # as text, not markup
        await pilot.press("escape")
        await until(pilot, lambda: not app.query(HistoryView), "back")


async def test_keys_while_reading_do_not_reach_the_program() -> None:
    app = HistoryApp()
    app.release.clear()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("shift+pageup")
        await until(pilot, lambda: app.query(HistoryLines), "the view, still reading")
        await pilot.press("slash")
        app.release.set()
        await until(pilot, lambda: app.query_one(HistoryView).loaded, "read")
        assert b"".join(app.channel.written) == b""


async def test_closing_before_the_read_is_placed_is_quiet() -> None:
    # Keys typed right after h/Shift+PgUp can close the view between its read and the refresh
    # that places it (a benchmark hit NoMatches for HistoryLines there).
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        view = app.query_one(HistoryView)
        await pilot.press("escape")
        await until(pilot, lambda: not app.query(HistoryView), "back")
        view._placed()
        view._rewrapped(0)
        assert app.query_one(TerminalWidget).has_focus


def test_parse_keeps_colours_wraps_and_drops_controls() -> None:
    data = (
        b"\x1b[31mred\x1b[0m plain\n"
        + b"x" * 25
        + b"\n"
        + b"bell\x07 osc\x1b]52;c;aGk=\x07 title\x1b]0;t\x1b\\ csi\x1b[2J end\n"
        + "wide 中文字\n".encode()
    )
    rows = parse_history(data, 10)
    assert [r.text for r in rows] == [
        "red plain",
        "x" * 10,
        "x" * 10,
        "x" * 5,
        "bell osc t",
        "itle csi e",
        "nd",
        "wide 中文",
        "字",
    ]
    assert [r.wrapped for r in rows] == [False, True, True, False, True, True, False, True, False]
    red = rows[0].segments[0]
    assert red.text == "red" and (red.style or Style()).color is not None
    for row in rows:
        assert all(ch.isprintable() for ch in row.text)


async def test_h_on_the_session_list_opens_the_selected_sessions_history() -> None:
    from tests.widgets.demo_app import DemoApp

    app = DemoApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected, "the first session selected")
        selected = app.selected
        assert selected is not None
        await pilot.press("h")
        view = await until(pilot, lambda: app.query(HistoryView), "the history view")
        await until(pilot, lambda: view.first().loaded, "the history read")
        terminal = view.first().parent
        assert isinstance(terminal, TerminalWidget) and terminal.display
        assert app.focused is _lines(app)
        assert any("Why does the cart total" in row.text for row in _lines(app).rows)
        # Reading its history is being in that session's terminal: its waiting (a bell) does
        # not mark it nor ring.
        bells: list[int] = []
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        app.dashboard.post_message(AgentWaiting(selected.name, "bell"))
        await pilot.pause()
        row = app.session_list.rows[selected.name]
        assert not row.waiting and bells == []


async def test_a_new_width_wraps_the_lines_again() -> None:
    app = HistoryApp(HISTORY + b"z" * 200 + b"\nlast\n")
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await _open(pilot)
        assert [r.text for r in lines.rows[-4:]] == ["z" * 80, "z" * 80, "z" * 40, "last"]
        await pilot.resize_terminal(60, 24)
        await until(pilot, lambda: lines.rows[-2].text == "z" * 20, "the lines wrapped at 60")
        assert [r.text for r in lines.rows[-5:-1]] == ["z" * 60] * 3 + ["z" * 20]


async def test_focus_given_to_the_terminal_goes_to_its_open_history() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await _open(pilot)
        term = app.query_one(TerminalWidget)
        term.focus()  # as the dashboard does when it shows this session again
        await until(pilot, lambda: app.focused is lines, "the history focused again")
        await pilot.press("q")
        await until(pilot, lambda: not app.query(HistoryView), "q closed the view")
        assert b"".join(app.channel.written) == b""
