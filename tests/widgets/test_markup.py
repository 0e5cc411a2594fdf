"""No text from users, files, containers or engines is parsed as markup: `[b]`, `[/x]`,
`[link=…]` and `[/prefix]` in session names, file names, domains, engine errors and paths are
shown as they are, and the dashboard keeps running (a stray `[/x]` once ended it)."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.widgets import Input
from textual.widgets._toast import Toast

from claudex_tui.demo_backend import FIREWALL, SESSIONS
from claudex_tui.messages import ActionDone, EngineDown
from claudex_tui.screens.confirm import ConfirmScreen
from container.details_model import McpServerRow, MountRow, SessionDetails
from container.firewall_model import AllowedName, FirewallStatus
from container.tracking_model import ChangedFile
from tests.fakes import FakeBackend, FakeFiles
from tests.waiting import settled, until
from tests.widgets.demo_app import DemoApp, show_tab
from widgets.changes_panel import ChangesPanel
from widgets.files.model import Entry
from widgets.firewall_panel import FirewallPanel

MARKS = ("[b]", "[/x]", "[link=https://x]", "[/prefix]")
HOSTILE = "[b]B[/x][link=https://x]L[/prefix]"  # every one of them, in one short string
NAME = f"claudex-{HOSTILE}-1"
PATH = f"/home/ana/{HOSTILE}"
RUNNING = dataclasses.replace(SESSIONS[0], name=NAME, mounts=[PATH], id="a" * 64)
STOPPED = dataclasses.replace(SESSIONS[2], name=NAME + "s", mounts=[PATH + "s"], id="b" * 64)


def screen_text(pilot: Pilot[None]) -> str:
    """Everything on screen now, as plain characters (what the user reads)."""
    update: Any = pilot.app.screen._compositor.render_update(full=True)
    lines = []
    for line in update.strips:
        strips = [line] if hasattr(line, "text") else line
        lines.append("".join(strip.text for strip in strips))
    return "\n".join(lines)


async def on_screen(pilot: Pilot[None], text: str, where: str) -> None:
    await until(pilot, lambda: text in screen_text(pilot), f"{text!r} shown literally ({where})")


def toasts(pilot: Pilot[None]) -> str:
    """The notices on screen, each as one string (a toast wraps its lines)."""
    return "\n".join(str(t.render()) for t in pilot.app.screen.query(Toast))


async def noticed(pilot: Pilot[None], text: str, where: str) -> None:
    await until(pilot, lambda: text in toasts(pilot), f"{text!r} noticed literally ({where})")


class HostileBackend(FakeBackend):
    """The demo's engine whose every data source carries markup."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = [RUNNING, STOPPED]
        self.files_of = FakeFiles()
        self.files_of.tree["/workspace"].append(Entry(HOSTILE, False, 3))

    def details(self, session: Any) -> SessionDetails:
        return SessionDetails(
            session=session,
            mounts=[MountRow(PATH, f"/workspace/{HOSTILE}", False)],
            status_line=f"could not read everything: {HOSTILE}",
            mcp_servers=[McpServerRow("fetch", f"mcp/{HOSTILE}", [f"{HOSTILE}.example"], 1)],
            mcp_error=f"refused: {HOSTILE}",
        )

    def changes(self, session: Any, *args: Any, **kw: Any) -> list[ChangedFile]:
        return [ChangedFile(f"src/{HOSTILE}.py", "modified", 1, 1, False)]

    def file_diff(self, session: Any, path: str, old_path: str | None, since: Any) -> str:
        return f"+{HOSTILE}\n"

    def firewall_status(self, session: Any, brief: bool = False) -> FirewallStatus:
        return dataclasses.replace(
            FIREWALL,
            session=session.name,
            names=(AllowedName(f"{HOSTILE}.example"),),
        )


class Hostile(DemoApp):
    """The demo dashboard on the hostile backend."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("z", "boom", "Boom", id="test_boom")]

    def __init__(self, host_root: Path) -> None:
        super().__init__(HostileBackend(), select=NAME, host_root=host_root)

    def action_boom(self) -> None:
        raise RuntimeError(f"a handler failed on {HOSTILE}")


def hostile_app(tmp_path: Path) -> Hostile:
    (tmp_path / HOSTILE.replace("/", "_")).write_text("x")  # a host file name ('/' can't be)
    app = Hostile(tmp_path)
    return app


async def start(pilot: Pilot[None]) -> Hostile:
    app = pilot.app
    assert isinstance(app, Hostile)
    from claudex_tui.messages import SessionsLoaded

    app.dashboard.post_message(SessionsLoaded([RUNNING, STOPPED]))
    await until(pilot, lambda: app.session_list.selected == NAME, "the hostile session selected")
    return app


async def test_names_paths_and_file_names_are_shown_literally(tmp_path: Path) -> None:
    app = hostile_app(tmp_path)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await start(pilot)
        await show_tab(pilot, "i")
        await on_screen(pilot, NAME, "the Details tab's name")
        await on_screen(pilot, PATH, "a mounted path")
        await on_screen(pilot, f"could not read everything: {HOSTILE}", "an engine error")
        await on_screen(pilot, f"mcp/{HOSTILE}  allows {HOSTILE}.example", "an MCP server")
        await on_screen(pilot, f"last error: refused: {HOSTILE}", "the MCP broker's error")

        await show_tab(pilot, "g")
        await on_screen(pilot, f"src/{HOSTILE}.py", "a changed file's name")
        await pilot.press("tab", "enter")
        await on_screen(pilot, f"+{HOSTILE}", "its diff")

        await show_tab(pilot, "f")
        await on_screen(pilot, HOSTILE.replace("/", "_"), "a host file name")
        await on_screen(pilot, HOSTILE, "a file name in the session")

        await show_tab(pilot, "w")
        await on_screen(pilot, f"{HOSTILE}.example", "an allowed domain")

        # The stopped session's terminal placeholder names it.
        app.session_list.select(NAME + "s")
        await show_tab(pilot, "t")
        await on_screen(pilot, f"Session {NAME}s is exited", "a stopped session's name")

        # The palette lists sessions with their paths.
        await pilot.press("ctrl+p")
        await pilot.press(*"Switch")
        await on_screen(pilot, PATH, "a path in the palette")
        await pilot.press("escape")
        assert app.is_running
        assert "Something failed" not in toasts(pilot)  # no handler tripped on the way


async def test_engine_errors_and_notices_are_shown_literally(tmp_path: Path) -> None:
    app = hostile_app(tmp_path)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await start(pilot)
        await show_tab(pilot, "t")
        app.post_message(EngineDown(f"the Docker Engine is not reachable ({HOSTILE})"))
        await on_screen(pilot, f"not reachable ({HOSTILE})", "the engine banner")

        app.dashboard.post_message(ActionDone("restart", NAME, f"engine said {HOSTILE}", HOSTILE))
        await noticed(pilot, f"engine said {HOSTILE}\n{HOSTILE}", "a failed action's notice")

        await show_tab(pilot, "g")
        changes = app.dashboard.query_one(ChangesPanel)
        changes.post_message(ChangesPanel.Loaded(NAME, None, f"tracking failed: {HOSTILE}"))
        await on_screen(pilot, f"tracking failed: {HOSTILE}", "the Changes tab's note")

        await show_tab(pilot, "w")
        firewall = app.dashboard.query_one(FirewallPanel)
        firewall.post_message(FirewallPanel.Loaded(NAME, None, f"cannot read: {HOSTILE}"))
        await on_screen(pilot, f"cannot read: {HOSTILE}", "the Firewall tab's note")
        broken = FirewallStatus(session=NAME, mode="broken", reason=f"rule {HOSTILE} missing")
        firewall.post_message(FirewallPanel.Loaded(NAME, broken))
        await on_screen(pilot, f"rule {HOSTILE} missing", "a broken firewall's reason")
        assert app.is_running
        assert "Something failed" not in toasts(pilot)


async def test_the_allow_box_error_path(tmp_path: Path) -> None:
    """The issue's crash: `bad;name` in the allow box gave an error quoting `[/prefix]`."""
    app = hostile_app(tmp_path)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await start(pilot)
        await show_tab(pilot, "w")
        box = app.query_one("#fw-input", Input)
        for entry in ("bad;name", *MARKS):
            box.focus()
            await until(pilot, lambda: app.focused is box, "the allow box")
            box.value = entry
            await pilot.press("enter")
            if isinstance(app.screen, ConfirmScreen):  # a form that lists entries first
                await pilot.press("y")
            await settled(pilot, "the allow tried")
            await noticed(pilot, repr(entry), "the refusal's notice")
            assert app.is_running
        assert "Something failed" not in toasts(pilot)


async def test_an_exception_in_a_handler_is_a_notice(tmp_path: Path) -> None:
    app = hostile_app(tmp_path)
    app.handler_errors_fail_tests = False  # the failure is this test's point
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await start(pilot)
        await pilot.press("z")
        await noticed(pilot, f"RuntimeError: a handler failed on {HOSTILE}", "the notice")
        assert app.is_running and app.return_code is None
        await pilot.press("g")  # and it still works
        await until(pilot, lambda: app.query_one("TabbedContent").active == "changes", "g")  # type: ignore[attr-defined]


async def test_an_exception_in_a_dashboard_screen_handler_is_a_notice(tmp_path: Path) -> None:
    """The dashboard screen dispatches its own messages: a failing handler there is a notice
    too, not the end of the dashboard."""
    app = hostile_app(tmp_path)
    app.handler_errors_fail_tests = False  # the failure is this test's point
    other = dataclasses.replace(RUNNING, name=NAME + "2", id="c" * 64)

    def no_terminal(session: Any) -> Any:
        raise RuntimeError(f"no terminal for {HOSTILE}")

    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await start(pilot)
        app.fake.channel_factory = no_terminal  # type: ignore[method-assign]
        from claudex_tui.messages import SessionsLoaded

        app.dashboard.post_message(SessionsLoaded([RUNNING, STOPPED, other]))
        await until(pilot, lambda: other.name in app.session_list.rows, "the new session")
        app.session_list.select(other.name)  # its terminal is made as it is shown
        await noticed(pilot, f"RuntimeError: no terminal for {HOSTILE}", "the notice")
        assert app.is_running and app.return_code is None
        await pilot.press("g")  # and it still works
        await until(pilot, lambda: app.query_one("TabbedContent").active == "changes", "g")  # type: ignore[attr-defined]


CRASHING = """
import sys
from claudex_tui.screens.dashboard import DashboardScreen

def compose(self):
    raise RuntimeError("the dashboard cannot draw")

DashboardScreen.compose = compose  # an error the dashboard must stop on
from claudex_tui.cli import main
sys.exit(main(["dashboard"]))
"""


def test_a_dashboard_that_must_stop_on_an_error_exits_non_zero() -> None:
    """Exit code 0 after a traceback told scripts and shells all was well."""
    import ptyprocess

    proc = ptyprocess.PtyProcess.spawn(
        [sys.executable, "-c", CRASHING], dimensions=(24, 80), env=dict(os.environ)
    )
    output = b""
    while True:
        try:
            output += proc.read(65536)
        except EOFError:
            break
    proc.wait()
    assert b"the dashboard cannot draw" in output
    assert proc.exitstatus not in (0, None), output[-400:]
