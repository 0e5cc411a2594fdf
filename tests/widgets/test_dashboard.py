"""The dashboard against the real engine: live list, switching, terminal, actions, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from textual.command import CommandList, CommandPalette
from textual.message import Message
from textual.widgets import Static, TabbedContent

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from claudex_tui.messages import ActionDone, AgentWaiting
from claudex_tui.screens.confirm import ConfirmScreen
from claudex_tui.screens.dashboard_base import terminal_id
from claudex_tui.screens.help import HelpScreen
from claudex_tui.screens.prompt import PromptScreen
from container import state
from container.engine import connect
from container.errors import ClaudexError
from container.mounts import plan_mounts
from container.session_spec import StartRequest
from container.sessions import Sessions
from tests.conftest import TEST_PREFIX
from tests.integration.conftest import exec_in
from tests.waiting import until
from widgets.details_panel import DetailsPanel
from widgets.files.panel import FilesPanel
from widgets.terminal.widget import TerminalWidget

pytestmark = pytest.mark.integration


class Made(list[str]):
    """This test's session names, each ending in `token`; `client` is the real engine with a
    view of these sessions only: other test runs sharing the engine stay out of the dashboard
    (their bells, rows and numbers would change what these tests see)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.client = scoped_client(token)


def scoped_client(token: str) -> docker.DockerClient:
    client = connect()
    listing = client.api.containers

    def containers(*args: Any, **kwargs: Any) -> Any:
        found = listing(*args, **kwargs)
        if not isinstance(found, list):
            return found
        return [c for c in found if any(n.endswith(token) for n in c.get("Names") or [])]

    client.api.containers = containers  # type: ignore[method-assign]
    return client


def _make(engine: docker.DockerClient, root: Path, word: str, token: str) -> str:
    d = root / word
    d.mkdir()
    os.chown(d, 4242, 4242)
    plan = plan_mounts([str(d)], empty_file=state.empty_file(), home=str(root))
    name = f"{TEST_PREFIX}-dash-{word}-{token}"
    result = Sessions(engine).start_session(StartRequest(plan=plan, name=name, agent="shell"))
    return result.session.name


@pytest.fixture
def made(engine: docker.DockerClient, image: str, tmp_path: Path) -> Iterator[Made]:
    names = Made(uuid.uuid4().hex[:8])
    names += [_make(engine, tmp_path, w, names.token) for w in ("alpha", "beta")]
    yield names
    sessions = Sessions(engine)
    for name in list(names):
        with contextlib.suppress(ClaudexError):  # gone already is fine
            sessions.remove(name, force=True)
    names.client.close()


def app_for(made: Made, **kw: object) -> ClaudexApp:
    return ClaudexApp(config=Config(), client_factory=lambda: made.client, **kw)  # type: ignore[arg-type]


def of_type(seen: list[Message], kind: type[Message]) -> list[Any]:
    return [m for m in seen if isinstance(m, kind)]


async def test_list_follows_the_engine(
    engine: docker.DockerClient, made: Made, tmp_path: Path
) -> None:
    app = app_for(made)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: set(made) <= set(app.session_list.rows), "both sessions listed")
        # Created elsewhere: appears by itself (events stream, no polling). The app keeps
        # running while the session starts (same event loop).
        third = await asyncio.to_thread(_make, engine, tmp_path, "gamma", made.token)
        made.append(third)
        await until(pilot, lambda: third in app.session_list.rows, "the new session listed")
        # Destroyed elsewhere: disappears by itself.
        Sessions(engine).remove(third, force=True)
        await until(pilot, lambda: third not in app.session_list.rows, "the removed one gone")
        # Stopped elsewhere: its state follows.
        engine.api.stop(made[1], timeout=1)
        await until(
            pilot,
            lambda: app.session_list.rows[made[1]].session.state == "exited",
            "the stopped session shown as exited",
        )


async def test_switching_and_terminal(made: Made) -> None:
    app = app_for(made, select=made[0], focus_terminal=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.focused, TerminalWidget), "a terminal focused")
        term = app.focused
        assert isinstance(term, TerminalWidget) and term.id == terminal_id(made[0])
        await until(pilot, lambda: "agent@alpha" in term.screen_text, "the agent's prompt")
        await pilot.press(*"echo hi-$((40+2))", "enter")
        await until(pilot, lambda: "hi-42" in term.screen_text, "the command's output")
        # Alt-Down switches session even from inside a terminal, and lands in its terminal.
        await pilot.press("alt+down")
        await until(pilot, lambda: app.session_list.selected == made[1], "beta selected")
        await until(
            pilot,
            lambda: getattr(app.focused, "id", None) == terminal_id(made[1]),
            "beta's terminal focused",
        )
        await pilot.press("alt+up")
        await until(
            pilot,
            lambda: getattr(app.focused, "id", None) == terminal_id(made[0]),
            "alpha's terminal focused",
        )
        # Ctrl-] leaves the terminal; then keys drive the dashboard.
        await pilot.press("ctrl+right_square_bracket")
        assert not isinstance(app.focused, TerminalWidget)
        await pilot.press("i")
        assert app.query_one(TabbedContent).active == "details"
        panel = app.query_one(DetailsPanel)
        await until(
            pilot,
            lambda: panel.details is not None and panel.details.mounts != [],
            "the details with their mounts",
        )
        assert panel.details is not None and panel.details.session.name == made[0]
        assert "/workspace/alpha" in app.export_screenshot()
        for key, tab in (("g", "changes"), ("w", "firewall"), ("f", "files"), ("t", "terminal")):
            await pilot.press(key)
            assert app.query_one(TabbedContent).active == tab
        files = app.query_one(FilesPanel)
        assert files.session is not None and files.session.name == made[0]


async def test_numbers_filter_and_palette(made: Made) -> None:
    app = app_for(made)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: set(made) <= set(app.session_list.rows), "both sessions listed")
        await pilot.press("slash", *"dash-beta", "enter")
        assert app.session_list.shown == [made[1]]
        # Each session keeps its number key (a filter hides, never renumbers).
        await pilot.press(str(app.session_list.numbers[made[1]]))
        assert app.session_list.selected == made[1]
        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")  # clear the filter
        await until(pilot, lambda: len(app.session_list.shown) >= 2, "the filter cleared")
        await pilot.press(str(app.session_list.numbers[made[0]]))
        assert app.session_list.selected == made[0]
        # The command palette switches with fuzzy matching.
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette open")
        await pilot.press(*"dsh bta")

        def top_hit_is_beta() -> bool:
            hits = app.screen.query_one(CommandList)
            at = hits.highlighted
            return at is not None and f"Switch to {made[1]}" in str(
                hits.get_option_at_index(at).prompt
            )

        await until(pilot, top_hit_is_beta, "the palette's first hit to be beta")
        await pilot.press("enter")
        await until(pilot, lambda: app.session_list.selected == made[1], "beta selected")


async def test_stop_start_destroy(engine: docker.DockerClient, made: Made) -> None:
    app = app_for(made, select=made[1])
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == made[1], "beta selected")
        app.session_list.options.focus()
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "stop asks first")
        await pilot.press("y")
        await until(pilot, lambda: app.sessions[made[1]].state == "exited", "beta stopped")
        assert "is exited" in str(app.query_one("#term-stopped", Static).render())
        await pilot.press("s")
        await until(pilot, lambda: app.sessions[made[1]].running, "beta started", timeout=60)
        started = engine.api.inspect_container(made[1])["State"]["StartedAt"]
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "restart asks first")
        await pilot.press("y")
        await until(
            pilot,
            lambda: engine.api.inspect_container(made[1])["State"]["StartedAt"] != started,
            "a new start time (the container really went through a restart)",
            timeout=60,
        )
        await until(pilot, lambda: app.sessions[made[1]].running, "beta running", timeout=60)

        # Restarted through the init: the firewall again, then the agent.
        def ready() -> bool:
            try:
                return exec_in(engine, made[1], "cat /run/claudex/status")[1].strip() == "ready"
            except docker.errors.APIError:  # still restarting
                return False

        await until(pilot, ready, "claudex-init's ready after the restart", timeout=60)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the destroy question")
        await pilot.press("escape")  # cancelled: nothing happens
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the question gone")
        await pilot.pause()
        assert not [w for w in app.workers if w.group == "lifecycle"]  # no destroy started
        assert made[1] in app.sessions
        assert engine.api.inspect_container(made[1])["State"]["Running"]
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the destroy question")
        await pilot.press("y")
        await until(pilot, lambda: made[1] not in app.session_list.rows, "beta gone from the list")
        made.remove(made[1])


async def test_help_lists_every_binding(made: Made) -> None:
    app = app_for(made)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.bindings)
        for key in ("q", "n", "D", "^]", "?"):
            assert any(key in k for k in keys), key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_waiting_for_you(engine: docker.DockerClient, made: Made) -> None:
    app = app_for(made, select=made[1])
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    seen: list[Message] = []

    def heard(word: str) -> bool:
        return any(m.name == made[0] and word in m.detail for m in of_type(seen, AgentWaiting))

    def hook(word: str) -> bool:
        """What the agent's Notification/Stop hook runs when it waits for the user."""
        notify = f"/usr/local/lib/claudex/notify.sh {word}"
        exec_in(engine, made[0], notify, user="4242")
        return heard(word)

    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await until(pilot, lambda: made[0] in app.dashboard._waiting, "alpha's watcher")
        # Lines written before the watcher has opened the file are not news: the hook runs
        # again until the dashboard hears it (an agent's next wait would do the same).
        await until(pilot, lambda: hook("stop"), "the dashboard to hear the hook")
        await until(pilot, lambda: app.session_list.rows[made[0]].waiting, "alpha waiting")
        assert bells == [1]
        await asyncio.to_thread(hook, "again")
        await until(pilot, lambda: heard("again"), "the second notification")
        await pilot.pause()  # handled
        assert bells == [1]  # rings once per wait
        app.dashboard.select_and_open(made[0])
        await until(
            pilot, lambda: app.dashboard._terminal_focused_on(made[0]), "alpha's terminal focused"
        )
        await pilot.pause()
        assert not app.session_list.rows[made[0]].waiting


async def test_engine_down_is_shown_and_recovered(made: Made) -> None:
    calls = {"n": 0}

    def flaky() -> docker.DockerClient:
        calls["n"] += 1
        if calls["n"] == 1:
            return docker.DockerClient(base_url="unix:///nonexistent/docker.sock")
        return made.client

    app = ClaudexApp(config=Config(), client_factory=flaky)
    async with app.run_test(size=(120, 40)) as pilot:
        banner = app.query_one("#banner", Static)
        await until(pilot, lambda: "not reachable" in str(banner.render()), "the engine banner")
        await until(
            pilot,
            lambda: set(made) <= set(app.session_list.rows),
            "the sessions listed once the engine is back",
            timeout=40,
        )
        assert not banner.has_class("visible")


async def test_changes_tab(engine: docker.DockerClient, made: Made) -> None:
    from container.tracking import Tracker
    from widgets.changes_panel import ChangesPanel

    Tracker(engine.api, Sessions(engine).get(made[0])).ensure_baseline()
    exec_in(
        engine,
        made[0],
        "echo one > /workspace/alpha/a.txt; printf 'x\\ny\\n' > /workspace/alpha/b.txt",
        user="4242",
    )
    app = app_for(made, select=made[0])
    seen: list[Message] = []

    def done(verb: str) -> list[ActionDone]:
        return [m for m in of_type(seen, ActionDone) if m.verb.startswith(verb)]

    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.session_list.selected == made[0], "alpha selected")
        app.session_list.options.focus()
        await pilot.press("g")
        panel = app.query_one(ChangesPanel)
        await until(pilot, lambda: len(panel.changes) == 2, "the two changed files")
        assert {(c.path, c.added) for c in panel.changes} == {
            ("alpha/a.txt", 1),
            ("alpha/b.txt", 2),
        }
        await until(
            pilot,
            lambda: "+one" in app.export_screenshot().replace("&#160;", " "),
            "the diff drawn",
        )
        await until(
            pilot, lambda: app.session_list.rows[made[0]].changed == 2, "the row's change count"
        )
        # Checkpoint, then an edit, then revert the file from the tab.
        panel.query_one("#changes-files").focus()
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the checkpoint prompt")
        await pilot.press("enter")
        await until(pilot, lambda: done("checkpoint"), "the checkpoint recorded", timeout=60)
        assert done("checkpoint")[0].error is None
        exec_in(engine, made[0], "echo changed > /workspace/alpha/a.txt", user="4242")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the revert question")
        await pilot.press("y")
        await until(pilot, lambda: done("revert"), "the revert done", timeout=60)
        assert done("revert")[0].error is None
        assert exec_in(engine, made[0], "cat /workspace/alpha/a.txt")[1].strip() == "one"


async def test_firewall_tab(made: Made) -> None:
    from widgets.firewall_panel import FirewallPanel

    app = app_for(made, select=made[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == made[0], "alpha selected")
        app.session_list.options.focus()
        await pilot.press("w")
        panel = app.query_one(FirewallPanel)
        await until(pilot, lambda: panel.status is not None, "the firewall status")
        assert panel.status is not None and panel.status.mode == "enforcing"
        panel.query_one("#fw-input").focus()
        await pilot.press(*"example.org", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the list to allow")
        await pilot.press("y")
        await until(
            pilot,
            lambda: panel.status is not None and "example.org" in panel.status.allow,
            "example.org allowed",
        )
        allowed = panel.query_one("#fw-allowed")
        allowed.focus()
        from textual.widgets import OptionList

        assert isinstance(allowed, OptionList)
        ids = [allowed.get_option_at_index(i).id for i in range(allowed.option_count)]
        allowed.highlighted = ids.index("name:example.org")
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "deny asks first")
        await pilot.press("y")
        await until(
            pilot,
            lambda: panel.status is not None and "example.org" not in panel.status.allow,
            "example.org removed",
        )


async def test_waiting_from_notifications_and_idleness(
    engine: docker.DockerClient, made: Made, monkeypatch: pytest.MonkeyPatch
) -> None:
    import claudex_tui.screens.dashboard_terminals as terminals

    # First the notification alone: idleness cannot mark the session meanwhile.
    monkeypatch.setattr(terminals, "IDLE_SECONDS", 3600.0)
    app = app_for(made, select=made[0], focus_terminal=True)
    app.bell = lambda: None  # type: ignore[method-assign]
    seen: list[Message] = []

    def waiting() -> bool:
        return app.session_list.rows[made[0]].waiting

    def go(flag: str) -> None:
        """The program in the terminal goes on once the user has looked away."""
        exec_in(engine, made[0], f"touch /tmp/{flag}", user="4242")

    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await until(pilot, lambda: isinstance(app.focused, TerminalWidget), "a terminal focused")
        term = app.focused
        assert isinstance(term, TerminalWidget)
        await until(pilot, lambda: "agent@alpha" in term.screen_text, "the agent's prompt")
        # A bell from a program while the user looks elsewhere (Claude Code's terminal_bell
        # notification; tmux passes bells on, but not OSC 9 desktop notifications).
        await pilot.press(*"until [ -e /tmp/look ]; do sleep 0.1; done; printf '\\a'", "enter")
        await pilot.press("ctrl+right_square_bracket")
        assert not app.dashboard._terminal_focused_on(made[0])
        await asyncio.to_thread(go, "look")
        await until(pilot, waiting, "alpha waiting after its notification")
        assert [m.detail for m in of_type(seen, AgentWaiting)] == ["bell"]
        app.dashboard.select_and_open(made[0])
        await until(
            pilot, lambda: app.dashboard._terminal_focused_on(made[0]), "alpha's terminal focused"
        )
        await pilot.pause()
        assert not waiting()
        # No hook, no notification: output and then silence mark it too (any output counts:
        # no attach redraw to tell apart here). The program works until the dashboard has
        # seen it working, then goes quiet.
        monkeypatch.setattr(terminals, "IDLE_SECONDS", 1.5)
        monkeypatch.setattr(terminals, "ATTACH_SETTLE", 0.0)
        await pilot.press(
            *"until [ -e /tmp/quiet ]; do echo work-$((6*7)); sleep 0.2; done", "enter"
        )
        await pilot.press("ctrl+right_square_bracket")
        before = len(seen)
        await until(
            pilot,
            lambda: (
                "work-42" in term.screen_text and of_type(seen[before:], TerminalWidget.Activity)
            ),
            "the program's output noticed as activity",
        )
        await asyncio.to_thread(go, "quiet")
        await until(pilot, waiting, "alpha waiting after output and silence", timeout=20)
