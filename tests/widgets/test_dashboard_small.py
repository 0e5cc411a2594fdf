"""The dashboard's smaller points: the Files progress on its own line and its destination shown
first, the selection after a destroy, the badges explained, stable number keys, the palette
(one Keys, tab and checkpoint actions), Maximize for the terminal, and the Firewall tab's
blocked list on screen at 80x24. The demo app's data (no engine): what is claimed here is the
widgets' behaviour."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.command import CommandList, CommandPalette
from textual.widgets import Footer, Label, Static, TabbedContent
from textual.widgets._tabbed_content import ContentTabs

from claudex_tui.commands_palette import SessionCommands
from claudex_tui.demo_backend import FIREWALL, SESSIONS, fix_clock
from claudex_tui.demo_backend import demo_session as _session
from claudex_tui.messages import SessionsLoaded
from claudex_tui.screens.help import HelpScreen
from claudex_tui.screens.prompt import PromptScreen
from container.firewall_model import AllowedName, FirewallStatus
from tests.fakes import FakeBackend, FakeFiles
from tests.waiting import settled, until
from tests.widgets.demo_app import DemoApp, show_tab
from tests.widgets.test_files_panel import Harness, _line_of, _ready
from widgets.files.transfer_row import TransferRow
from widgets.session_list import LEGEND
from widgets.terminal.widget import LEAVE_KEY, TerminalWidget

SIZES = [(80, 24), (120, 40)]


def screen_text(app: App[Any]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def _demo(pilot: Any) -> DemoApp:
    app = pilot.app
    await until(pilot, lambda: app.session_list.selected, "the demo's sessions listed")
    return app  # type: ignore[no-any-return]


# -- Files: progress and destination ------------------------------------------------------------


class HeldPull(FakeFiles):
    """A pull that waits until the test lets it land."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def pull(self, source, directory, *, name, force, progress, cancel):  # type: ignore[no-untyped-def]
        progress(1, 2)
        self.release.wait(30)
        return super().pull(
            source, directory, name=name, force=force, progress=progress, cancel=cancel
        )


@pytest.fixture
def host(tmp_path: Path) -> Path:
    root = tmp_path / "host"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    return root


@pytest.mark.parametrize("size", SIZES)
async def test_a_pulls_destination_is_shown_before_it_lands(
    size: tuple[int, int], host: Path
) -> None:
    files = HeldPull()
    async with Harness(files, host).run_test(size=size) as pilot:
        panel = await _ready(pilot)
        panel.remote.focus()
        panel.remote.cursor_line = _line_of(panel.remote, "/workspace/notes.md")
        dest = panel.query_one("#files-dest", Static)
        # Before c: where the highlighted file would go.
        await until(pilot, lambda: "host:" in str(dest.render()), "the destination line")
        assert str(dest.render()).endswith(f"host:{host}") or "…" in str(dest.render())
        assert "c copies the highlighted → host:" in str(dest.render())
        panel.host.focus()
        panel.host.cursor_line = _line_of(panel.host, str(host / "a.txt"))
        await until(pilot, lambda: "session:/workspace" in str(dest.render()), "the other way")
        # While it runs: the row names the destination on its own line.
        panel.remote.focus()
        panel.remote.cursor_line = _line_of(panel.remote, "/workspace/notes.md")
        await pilot.press("c")
        row = await until(pilot, lambda: panel.query(TransferRow).first(), "the transfer row")
        await until(pilot, lambda: files.pulls or "starting" not in _status(row), "it started")
        described = str(row.query_one(".what").render())
        assert described.startswith("notes.md → host:")
        assert described.endswith(host.name) and not (host / "notes.md").exists()
        files.release.set()
        await settled(pilot, "the pull done")
        assert (host / "notes.md").exists()
        assert _status(row) == "1 copied, 1 B"


def _status(row: TransferRow) -> str:
    return str(row.query_one(".status", Label).render())


@pytest.mark.parametrize("size", SIZES)
async def test_the_progress_line_does_not_run_into_itself(
    size: tuple[int, int], host: Path
) -> None:
    files = FakeFiles()
    async with Harness(files, host).run_test(size=size) as pilot:
        panel = await _ready(pilot)
        panel.host.focus()
        panel.host.cursor_line = _line_of(panel.host, str(host / "a.txt"))
        await pilot.press("c")
        await settled(pilot, "the push done")
        row = panel.query_one(TransferRow)
        assert row.has_class("done")
        lines = screen_text(pilot.app).splitlines()
        done = [line for line in lines if "copied" in line]
        assert len(done) == 1 and "100% 1 copied, 1 B" in done[0], done  # not "1001 copied"
        assert any("a.txt → session:/workspace" in line for line in lines)
        bar, status = row.query_one("ProgressBar"), row.query_one(".status")
        assert bar.region.right <= status.region.x and bar.region.y == status.region.y


# -- the session list --------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_after_destroy_the_selection_moves_to_the_neighbour(size: tuple[int, int]) -> None:
    async with DemoApp().run_test(size=size) as pilot:
        app = await _demo(pilot)
        shown = list(app.session_list.shown)
        app.session_list.select(shown[1])
        await pilot.pause()
        app.dashboard.post_message(SessionsLoaded([s for s in SESSIONS if s.name != shown[1]]))
        await until(pilot, lambda: shown[1] not in app.session_list.rows, "the session gone")
        assert app.session_list.selected == shown[2]  # the one after it, not the first
        assert app.selected is not None and app.selected.name == shown[2]
        # The last one gone: the one before it.
        app.session_list.select(shown[3])
        await pilot.pause()
        app.dashboard.post_message(
            SessionsLoaded([s for s in SESSIONS if s.name not in shown[1::2]])
        )
        await until(pilot, lambda: shown[3] not in app.session_list.rows, "the last one gone")
        assert app.session_list.selected == shown[2]


@pytest.mark.parametrize("size", SIZES)
async def test_numbers_stay_with_their_sessions(size: tuple[int, int]) -> None:
    async with DemoApp().run_test(size=size) as pilot:
        app = await _demo(pilot)
        before = dict(app.session_list.numbers)
        assert sorted(before.values()) == [1, 2, 3, 4]
        # A session made elsewhere whose name sorts first: it comes last, numbered 5.
        newcomer = _session("claudex-aaa-00000001", ["/home/ana/src/aaa"])
        app.dashboard.post_message(SessionsLoaded([*SESSIONS, newcomer]))
        await until(pilot, lambda: newcomer.name in app.session_list.rows, "the newcomer")
        numbers = app.session_list.numbers
        assert {k: numbers[k] for k in before} == before and numbers[newcomer.name] == 5
        assert app.session_list.shown[-1] == newcomer.name
        lines = screen_text(app).splitlines()
        assert any(line.lstrip("▊ ").startswith("5 ● claudex-aaa") for line in lines)
        app.session_list.options.focus()
        await pilot.press("5")
        assert app.session_list.selected == newcomer.name
        first = next(k for k, n in before.items() if n == 1)
        await pilot.press("1")
        assert app.session_list.selected == first
        # A filter hides, it never renumbers; a number freed is given to the next newcomer.
        await pilot.press("slash", *"aaa", "enter")
        await pilot.press("5")
        assert app.session_list.selected == newcomer.name
        assert app.session_list.numbers[newcomer.name] == 5
        await pilot.press("slash", "ctrl+u", "enter")
        gone = SESSIONS[1].name
        later = _session("claudex-zzz-00000002", ["/home/ana/src/zzz"])
        rest = [s for s in SESSIONS if s.name != gone]
        app.dashboard.post_message(SessionsLoaded([*rest, newcomer, later]))
        await until(pilot, lambda: later.name in app.session_list.rows, "the later one")
        assert app.session_list.numbers[later.name] == before[gone]
        assert app.session_list.numbers[newcomer.name] == 5


async def test_badges_are_explained() -> None:
    async with DemoApp().run_test(size=(80, 24)) as pilot:
        app = await _demo(pilot)
        assert app.session_list.options.tooltip == LEGEND
        for badge in ("Δ3", "files changed", "last output", "fw", "host net", "waiting for you"):
            assert badge in LEGEND
        # and in the help, for the keyboard (a tooltip needs the mouse)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        assert str(app.screen.query_one("#legend", Static).render()) == LEGEND


# -- the palette -------------------------------------------------------------------------------


async def test_palette_has_one_keys_entry_and_tab_and_checkpoint_actions() -> None:
    async with DemoApp().run_test(size=(120, 40)) as pilot:
        app = await _demo(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles.count("Keys") == 1
        assert "Maximize terminal" in titles and "Maximize" not in titles
        provider = SessionCommands(app.screen)
        ours = [text for text, _help, _call in provider._commands()]
        for title in ("Checkpoint selected session", "Files tab", "Firewall tab", "Changes tab"):
            assert title in ours
        # Through the palette: a tab, then a checkpoint (it asks for its message).
        for query, done in (
            ("files tab", lambda: app.query_one(TabbedContent).active == "files"),
            ("checkpoint", lambda: isinstance(app.screen, PromptScreen)),
        ):
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
            await pilot.press(*query)

            def top_hit(q: str = query) -> bool:
                hits = app.screen.query_one(CommandList)
                at = hits.highlighted
                words = str(hits.get_option_at_index(at).prompt).lower() if at is not None else ""
                return q.split()[0] in words

            await until(pilot, top_hit, f"{query!r} on top")
            await pilot.press("enter")
            await until(pilot, done, f"{query!r} done")
        await pilot.press("escape")


# -- maximize ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_maximize_gives_the_terminal_the_screen_but_a_status_line(
    size: tuple[int, int],
) -> None:
    fix_clock()
    async with DemoApp().run_test(size=size) as pilot:
        app = await _demo(pilot)
        await show_tab(pilot, "t")
        name = app.session_list.selected
        app.session_list.options.focus()
        await pilot.press("alt+z")
        terminal = await until(
            pilot,
            lambda: isinstance(app.focused, TerminalWidget) and app.focused,
            "the terminal focused",
        )
        width, height = size
        await until(
            pilot,
            lambda: terminal.region.width == width and terminal.region.height == height - 1,
            "the terminal filling the screen",
        )
        assert terminal.region.y == 0
        for hidden in (app.session_list, app.query_one(ContentTabs), app.query_one(Footer)):
            assert not hidden.display or not hidden.region.area
        status = app.query_one("#max-status", Static)
        assert status.region.y == height - 1 and status.region.height == 1
        line = screen_text(app).splitlines()[-1]
        assert name is not None and line.strip().startswith(name[: width - 20])
        # From inside the terminal (keys are the agent's) Alt-Z brings the layout back.
        await pilot.press("alt+z")
        await until(pilot, lambda: app.session_list.region.width > 0, "the list back")
        assert not status.display or not status.region.area
        assert terminal.region.width < width
        # Leaving the terminal while maximized brings it back too (never an unseen focus).
        await pilot.press("alt+z")
        await until(pilot, lambda: app.home.has_class("-maximized"), "maximized again")
        await pilot.press(LEAVE_KEY)
        await until(pilot, lambda: not app.home.has_class("-maximized"), "the layout back")
        assert app.focused is not None and app.focused.region.area > 0


async def test_maximize_from_the_palette_follows_session_switches() -> None:
    async with DemoApp().run_test(size=(80, 24)) as pilot:
        app = await _demo(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"maximize terminal")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: app.home.has_class("-maximized"), "maximized")
        status = app.query_one("#max-status", Static)
        first = app.session_list.selected
        await pilot.press("alt+down")
        await until(pilot, lambda: app.session_list.selected != first, "the next session")
        after = app.session_list.selected
        assert after is not None and after[:20] in str(status.render())


# -- the Firewall tab at 80x24 -----------------------------------------------------------------


class ManyNamesBackend(FakeBackend):
    """A real allow list is long (the defaults alone are about a dozen names)."""

    def firewall_status(self, session: Any, brief: bool = False) -> FirewallStatus:
        names = tuple(AllowedName(f"host{n}.example.com", (f"10.0.0.{n}",)) for n in range(20))
        return replace(FIREWALL, names=names)


def ManyNames() -> DemoApp:
    return DemoApp(ManyNamesBackend())


@pytest.mark.parametrize("size", SIZES)
async def test_the_blocked_list_is_on_screen(size: tuple[int, int]) -> None:
    fix_clock()
    async with ManyNames().run_test(size=size) as pilot:
        await _demo(pilot)
        await show_tab(pilot, "w")
        text = screen_text(pilot.app)
        assert "blocked destination" in text
        assert "93.184.215.14:443" in text  # the first blocked row, not only its header
        assert "host0.example.com" in text  # and the allowed list still shows
