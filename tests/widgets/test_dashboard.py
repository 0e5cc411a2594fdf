"""The dashboard against the real engine: live list, switching, terminal, actions, waiting."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent

from claudex_tui.app import ClaudexApp, _dom_id
from claudex_tui.config import Config
from claudex_tui.screens.confirm import ConfirmScreen
from claudex_tui.screens.help import HelpScreen
from container import state
from container.errors import ClaudexError
from container.mounts import plan_mounts
from container.sessions import Sessions, StartRequest
from tests.conftest import TEST_PREFIX
from tests.integration.conftest import exec_in
from widgets.details_panel import DetailsPanel
from widgets.file_panes import FilesPanel
from widgets.terminal.widget import TerminalWidget

pytestmark = pytest.mark.integration


def _make(engine: docker.DockerClient, root: Path, word: str) -> str:
    d = root / word
    d.mkdir()
    os.chown(d, 4242, 4242)
    plan = plan_mounts([str(d)], empty_file=state.empty_file(), home=str(root))
    name = f"{TEST_PREFIX}-dash-{word}-{uuid.uuid4().hex[:6]}"
    result = Sessions(engine).start_session(StartRequest(plan=plan, name=name, agent="shell"))
    return result.session.name


@pytest.fixture
def made(engine: docker.DockerClient, image: str, tmp_path: Path) -> Iterator[list[str]]:
    names = [_make(engine, tmp_path, w) for w in ("alpha", "beta")]
    yield names
    sessions = Sessions(engine)
    for name in list(names):
        with contextlib.suppress(ClaudexError):  # gone already is fine
            sessions.remove(name, force=True)


async def until(pilot: Pilot[None], done: Callable[[], bool], timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


def app_for(engine: docker.DockerClient, **kw: object) -> ClaudexApp:
    return ClaudexApp(config=Config(), client_factory=lambda: engine, **kw)  # type: ignore[arg-type]


async def test_list_follows_the_engine(
    engine: docker.DockerClient, made: list[str], tmp_path: Path
) -> None:
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: set(made) <= set(app.session_list.rows))
        # Created elsewhere: appears by itself (events stream, no polling).
        third = (
            await pilot.app.run_async_in_thread(_make, engine, tmp_path, "gamma")
            if hasattr(pilot.app, "run_async_in_thread")
            else None
        )
        if third is None:
            result: list[str] = []
            t = threading.Thread(target=lambda: result.append(_make(engine, tmp_path, "gamma")))
            t.start()
            while t.is_alive():
                await pilot.pause(0.1)
            third = result[0]
        made.append(third)
        await until(pilot, lambda: third in app.session_list.rows)
        # Destroyed elsewhere: disappears by itself.
        Sessions(engine).remove(third, force=True)
        await until(pilot, lambda: third not in app.session_list.rows)
        # Stopped elsewhere: its state follows.
        engine.api.stop(made[1], timeout=1)
        await until(pilot, lambda: app.session_list.rows[made[1]].session.state == "exited")


async def test_switching_and_terminal(engine: docker.DockerClient, made: list[str]) -> None:
    app = app_for(engine, select=made[0], focus_terminal=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.focused, TerminalWidget))
        term = app.focused
        assert isinstance(term, TerminalWidget) and term.id == _dom_id(made[0])
        await until(pilot, lambda: "agent@alpha" in term.screen_text)
        await pilot.press(*"echo hi-$((40+2))", "enter")
        await until(pilot, lambda: "hi-42" in term.screen_text)
        # Alt-Down switches session even from inside a terminal, and lands in its terminal.
        await pilot.press("alt+down")
        await until(pilot, lambda: app.session_list.selected == made[1])
        await until(pilot, lambda: getattr(app.focused, "id", None) == _dom_id(made[1]))
        await pilot.press("alt+up")
        await until(pilot, lambda: getattr(app.focused, "id", None) == _dom_id(made[0]))
        # Ctrl-] leaves the terminal; then keys drive the dashboard.
        await pilot.press("ctrl+right_square_bracket")
        assert not isinstance(app.focused, TerminalWidget)
        await pilot.press("i")
        assert app.query_one(TabbedContent).active == "details"
        panel = app.query_one(DetailsPanel)
        await until(pilot, lambda: panel.details is not None and panel.details.mounts != [])
        assert panel.details is not None and panel.details.session.name == made[0]
        assert "/workspace/alpha" in app.export_screenshot()
        for key, tab in (("g", "changes"), ("w", "firewall"), ("f", "files"), ("t", "terminal")):
            await pilot.press(key)
            assert app.query_one(TabbedContent).active == tab
        files = app.query_one(FilesPanel)
        assert files.session is not None and files.session.name == made[0]


async def test_numbers_filter_and_palette(engine: docker.DockerClient, made: list[str]) -> None:
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: set(made) <= set(app.session_list.rows))
        await pilot.press("slash", *"dash-beta", "enter")
        assert app.session_list.shown == [made[1]]
        await pilot.press("1")
        assert app.session_list.selected == made[1]
        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")  # clear the filter
        await until(pilot, lambda: len(app.session_list.shown) >= 2)
        index = app.session_list.shown.index(made[0]) + 1
        await pilot.press(str(index))
        assert app.session_list.selected == made[0]
        # The command palette switches with fuzzy matching.
        await pilot.press("ctrl+p")
        await pilot.press(*"dsh bta")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: app.session_list.selected == made[1])


async def test_stop_start_destroy(engine: docker.DockerClient, made: list[str]) -> None:
    app = app_for(engine, select=made[1])
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == made[1])
        app.session_list.options.focus()
        await pilot.press("x")
        await until(pilot, lambda: app.sessions[made[1]].state == "exited")
        assert "is exited" in str(app.query_one("#term-stopped", Static).render())
        await pilot.press("s")
        await until(pilot, lambda: app.sessions[made[1]].running, timeout=60)
        started = engine.api.inspect_container(made[1])["State"]["StartedAt"]
        await pilot.press("R")
        await until(
            pilot,
            lambda: engine.api.inspect_container(made[1])["State"]["StartedAt"] != started,
            timeout=60,
        )  # a new start time: the container really went through a restart
        await until(pilot, lambda: app.sessions[made[1]].running, timeout=60)

        # Restarted through the init: the firewall again, then the agent.
        def ready() -> bool:
            try:
                return exec_in(engine, made[1], "cat /run/claudex/status")[1].strip() == "ready"
            except docker.errors.APIError:  # still restarting
                return False

        await until(pilot, ready, timeout=60)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # cancelled: nothing happens
        await pilot.pause(0.3)
        assert made[1] in app.sessions
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: made[1] not in app.session_list.rows)
        made.remove(made[1])


async def test_help_lists_every_binding(engine: docker.DockerClient, made: list[str]) -> None:
    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.bindings)
        for key in ("q", "n", "D", "^]", "?"):
            assert any(key in k for k in keys), key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_waiting_for_you(engine: docker.DockerClient, made: list[str]) -> None:
    app = app_for(engine, select=made[1])
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: made[0] in app._waiting)
        await pilot.pause(1.0)  # the watcher's tail is running
        # What the agent's Notification/Stop hook runs when it waits for the user.
        exec_in(engine, made[0], "/usr/local/lib/claudex/notify.sh stop", user="4242")
        await until(pilot, lambda: app.session_list.rows[made[0]].waiting)
        assert bells == [1]
        exec_in(engine, made[0], "/usr/local/lib/claudex/notify.sh stop", user="4242")
        await pilot.pause(1.0)
        assert bells == [1]  # rings once per wait
        app.select_and_open(made[0])
        await pilot.pause(0.2)
        assert not app.session_list.rows[made[0]].waiting


async def test_engine_down_is_shown_and_recovered(
    engine: docker.DockerClient, made: list[str]
) -> None:
    calls = {"n": 0}

    def flaky() -> docker.DockerClient:
        calls["n"] += 1
        if calls["n"] == 1:
            return docker.DockerClient(base_url="unix:///nonexistent/docker.sock")
        return engine

    app = ClaudexApp(config=Config(), client_factory=flaky)
    async with app.run_test(size=(120, 40)) as pilot:
        banner = app.query_one("#banner", Static)
        await until(pilot, lambda: "not reachable" in str(banner.render()))
        await until(pilot, lambda: set(made) <= set(app.session_list.rows), timeout=40)
        assert not banner.has_class("visible")


async def test_changes_tab(engine: docker.DockerClient, made: list[str]) -> None:
    from container.tracking import Tracker
    from widgets.changes_panel import ChangesPanel

    Tracker(engine.api, Sessions(engine).get(made[0])).ensure_baseline()
    exec_in(
        engine,
        made[0],
        "echo one > /workspace/alpha/a.txt; printf 'x\\ny\\n' > /workspace/alpha/b.txt",
        user="4242",
    )
    app = app_for(engine, select=made[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == made[0])
        app.session_list.options.focus()
        await pilot.press("g")
        panel = app.query_one(ChangesPanel)
        await until(pilot, lambda: len(panel.changes) == 2)
        assert {(c.path, c.added) for c in panel.changes} == {
            ("alpha/a.txt", 1),
            ("alpha/b.txt", 2),
        }
        await until(pilot, lambda: "+one" in app.export_screenshot().replace("&#160;", " "))
        await until(pilot, lambda: app.session_list.rows[made[0]].changed == 2)
        # Checkpoint, then an edit, then revert the file from the tab.
        panel.query_one("#changes-files").focus()
        await pilot.press("c")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await pilot.pause(1.0)
        exec_in(engine, made[0], "echo changed > /workspace/alpha/a.txt", user="4242")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        _code, out = 1, ""
        for _ in range(100):
            _code, out = exec_in(engine, made[0], "cat /workspace/alpha/a.txt")
            if out.strip() == "one":
                break
            await pilot.pause(0.1)
        assert out.strip() == "one"


async def test_firewall_tab(engine: docker.DockerClient, made: list[str]) -> None:
    from widgets.firewall_panel import FirewallPanel

    app = app_for(engine, select=made[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == made[0])
        app.session_list.options.focus()
        await pilot.press("w")
        panel = app.query_one(FirewallPanel)
        await until(pilot, lambda: panel.status is not None)
        assert panel.status is not None and panel.status.mode == "enforcing"
        panel.query_one("#fw-input").focus()
        await pilot.press(*"example.org", "enter")
        await until(pilot, lambda: panel.status is not None and "example.org" in panel.status.allow)
        allowed = panel.query_one("#fw-allowed")
        allowed.focus()
        from textual.widgets import OptionList

        assert isinstance(allowed, OptionList)
        ids = [allowed.get_option_at_index(i).id for i in range(allowed.option_count)]
        allowed.highlighted = ids.index("name:example.org")
        await pilot.press("delete")
        await until(
            pilot, lambda: panel.status is not None and "example.org" not in panel.status.allow
        )


async def test_waiting_from_notifications_and_idleness(
    engine: docker.DockerClient, made: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import claudex_tui.app

    monkeypatch.setattr(claudex_tui.app, "IDLE_SECONDS", 1.5)
    monkeypatch.setattr(claudex_tui.app, "ATTACH_SETTLE", 0.5)
    app = app_for(engine, select=made[0], focus_terminal=True)
    app.bell = lambda: None  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.focused, TerminalWidget))
        term = app.focused
        assert isinstance(term, TerminalWidget)
        await until(pilot, lambda: "agent@alpha" in term.screen_text)
        await pilot.pause(0.6)
        # A desktop notification (OSC 9) from a program while the user looks elsewhere.
        await pilot.press(*"sleep 1; printf '\\033]9;your turn\\007'", "enter")
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: app.session_list.rows[made[0]].waiting)
        app.select_and_open(made[0])
        await pilot.pause(0.2)
        assert not app.session_list.rows[made[0]].waiting
        # No hook, no notification: output and then silence mark it too.
        await pilot.press(*"sleep 1; echo working", "enter")
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: app.session_list.rows[made[0]].waiting, timeout=20)
