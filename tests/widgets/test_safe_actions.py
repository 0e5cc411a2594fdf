"""Unsafe actions ask first; the allow box checks what was typed; the Changes tab shows at once
what a revert changed and toggles between "since the start" and "since the last checkpoint".

The dashboard runs with the demo data (tests/widgets/demo_app.py); the engine-side actions are
recorded instead of run, since what is tested is the asking: real stops, restarts, firewall edits
and reverts are tested against the engine in tests/integration/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from textual.widgets import Input, OptionList, Static

from claudex_tui.config import Config
from claudex_tui.demo_backend import CHANGES, NOW, SESSIONS
from claudex_tui.screens import new_session
from claudex_tui.screens.confirm import ConfirmScreen
from claudex_tui.screens.new_session import NewSessionScreen
from container.labels import SessionInfo
from container.tracking_model import ChangedFile, Checkpoint, Since
from tests.fakes import FakeBackend
from tests.waiting import settled, until
from tests.widgets.demo_app import DemoApp
from tests.widgets.test_mount_picker import SNAPSHOT_TREE, make_tree, marks_shown, wait_loaded
from tests.widgets.test_new_session import ScreenApp, text_of
from widgets.changes_panel import ChangesPanel
from widgets.firewall_panel import FirewallPanel

SELECTED = SESSIONS[0].name


class RecordingBackend(FakeBackend):
    """The demo's engine; actions are recorded, not run, and a revert changes the diff."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []
        self.changed: dict[str, list[ChangedFile]] = {
            "start": list(CHANGES),
            "checkpoint": [CHANGES[0]],
        }
        self.diffs = {"webshop/src/cart/total.py": "+before the revert\n"}

    def start(self, session: SessionInfo) -> None:
        self.calls.append(("start", session.name))

    def stop(self, session: SessionInfo) -> None:
        self.calls.append(("stop", session.name))

    def restart(self, session: SessionInfo) -> None:
        self.calls.append(("restart", session.name))

    def destroy(self, session: SessionInfo) -> list[str]:
        self.calls.append(("destroy", session.name))
        return []

    def allow(self, session: SessionInfo, entries: list[str]) -> list[str]:
        self.calls.append(("allow", entries))
        return entries

    def deny(self, session: SessionInfo, entries: list[str]) -> list[str]:
        self.calls.append(("deny", entries))
        return entries

    def changes(
        self,
        session: SessionInfo,
        since: Since = "start",
        paths: list[str] | None = None,
        literal: bool = False,
    ) -> list[ChangedFile]:
        return [c for c in self.changed[since] if paths is None or c.path in paths]

    def last_checkpoint(self, session: SessionInfo) -> Checkpoint:
        return Checkpoint("3f2a9c81d0e4" * 3, NOW, "tests pass", baseline=False)

    def file_diff(self, session: SessionInfo, path: str, old_path: str | None, since: Since) -> str:
        self.calls.append(("diff", path, since))
        return self.diffs.get(path, "")

    def checkpoint(self, session: SessionInfo, message: str) -> str:
        self.calls.append(("checkpoint", message))
        return "3f2a9c81d0e4" * 3

    def revert(self, session: SessionInfo, path: str) -> bool:
        """As the engine does it: the file's diff changes, its row may not."""
        self.calls.append(("revert", path))
        self.diffs[path] = "+after the revert\n"
        return True


class RecordingApp(DemoApp):
    """The demo dashboard on the recording backend."""

    def __init__(self) -> None:
        super().__init__(RecordingBackend())
        self.calls = self.fake.calls  # type: ignore[attr-defined]


def diff_shown(body: Static) -> str:
    """The diff body's text (a Syntax of the diff, or a note)."""
    content = body.content
    return str(getattr(content, "code", content))


def question(app: Any) -> str:
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    return screen.question


async def asked(pilot: Any, app: Any) -> str:
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
    return question(app)


async def answered(pilot: Any, app: Any, key: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the question gone")


async def selected(pilot: Any, app: RecordingApp) -> None:
    await until(pilot, lambda: app.session_list.selected == SELECTED, "the first session")


async def test_restart_and_stop_ask_first_saying_what_is_lost():
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await selected(pilot, app)
        for key, verb in (("R", "restart"), ("x", "stop")):
            await pilot.press(key)
            text = await asked(pilot, app)
            assert text.startswith(f"{verb.capitalize()} session {SELECTED}?")
            assert "Lost: Claude Code and everything running" in text
            assert "conversation" in text and "Kept: the files" in text
            for no in ("n", "escape"):
                await answered(pilot, app, no)
                assert app.calls == []
                await pilot.press(key)
                await asked(pilot, app)
            await answered(pilot, app, "y")
            await until(pilot, lambda v=verb: (v, SELECTED) in app.calls, f"the {verb}")
            app.calls.clear()


async def test_deny_asks_first_and_says_the_agent_may_stop_working():
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await selected(pilot, app)
        await pilot.press("w")
        panel = app.query_one(FirewallPanel)
        await until(pilot, lambda: panel.status is not None, "the firewall status")
        allowed = panel.query_one("#fw-allowed", OptionList)
        allowed.focus()
        allowed.highlighted = 0
        await pilot.press("delete")
        text = await asked(pilot, app)
        assert "Stop allowing in session" in text and "api.anthropic.com" in text
        assert "default list" in text and "may stop working" in text
        await answered(pilot, app, "n")
        assert app.calls == []
        assert app.focused is allowed
        await pilot.press("delete")
        await asked(pilot, app)
        await answered(pilot, app, "y")
        await until(pilot, lambda: app.calls, "the deny")
        assert app.calls == [("deny", ["api.anthropic.com"])]


async def test_allow_box_refuses_bad_names_and_confirms_a_public_suffix():
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await selected(pilot, app)
        await pilot.press("w")
        panel = app.query_one(FirewallPanel)
        await until(pilot, lambda: panel.status is not None, "the firewall status")
        box = panel.query_one("#fw-input", Input)

        # One name per entry: "not a domain" is one bad entry, nothing is added or asked.
        box.focus()
        await pilot.press(*"not a domain", "enter")
        await until(pilot, lambda: app._notifications, "the error notice")
        (notice,) = list(app._notifications)
        assert "'not a domain' is not a domain name" in notice.message
        assert "contains a space" in notice.message
        assert not isinstance(app.screen, ConfirmScreen) and app.calls == []
        assert box.value == "not a domain"  # kept, to be fixed

        # A list is shown before it is added.
        box.value = "Example.com, bücher.de"
        await pilot.press("enter")
        text = await asked(pilot, app)
        assert "example.com (and its subdomains)" in text
        assert "xn--bcher-kva.de (and its subdomains)" in text and "WARNING" not in text
        await answered(pilot, app, "y")
        await until(pilot, lambda: app.calls, "the allow")
        assert app.calls == [("allow", ["example.com", "xn--bcher-kva.de"])]
        assert box.value == ""
        app.calls.clear()

        # A public suffix is named with what it opens; No adds nothing and keeps the text.
        box.focus()
        await pilot.press(*"com", "enter")
        text = await asked(pilot, app)
        assert "WARNING: com is a public suffix" in text and "every host under it" in text
        await answered(pilot, app, "n")
        assert app.calls == [] and box.value == "com"
        box.focus()
        await pilot.press("enter")
        await asked(pilot, app)
        await answered(pilot, app, "y")
        await until(pilot, lambda: app.calls, "the confirmed allow")
        assert app.calls == [("allow", ["com"])]


async def test_revert_asks_saying_what_is_lost_and_the_diff_updates_at_once():
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await selected(pilot, app)
        await pilot.press("g")
        panel = app.query_one(ChangesPanel)
        body = panel.query_one("#changes-diff-body", Static)
        await until(pilot, lambda: len(panel.changes) == len(CHANGES), "the changed files")
        files = panel.query_one("#changes-files", OptionList)
        files.focus()
        await until(pilot, lambda: "before the revert" in diff_shown(body), "the first diff")

        await pilot.press("r")
        text = await asked(pilot, app)
        assert "Revert webshop/src/cart/total.py in" in text and "to the last checkpoint" in text
        assert "Lost: +6 -3 lines changed since then" in text
        await answered(pilot, app, "n")
        assert ("revert", "webshop/src/cart/total.py") not in app.calls
        await pilot.press("r")
        await asked(pilot, app)
        await answered(pilot, app, "y")
        # The list's rows are the same; the diff is read again and shown without a key.
        await until(pilot, lambda: "after the revert" in diff_shown(body), "the new diff")
        assert files.highlighted == 0

        # A file with no change since the last checkpoint: nothing to ask.
        files.highlighted = 1
        await settled(pilot, "the second file highlighted")
        await pilot.press("r")
        await until(
            pilot, lambda: any("no change since" in n.message for n in app._notifications), "notice"
        )
        assert not isinstance(app.screen, ConfirmScreen)


async def test_changes_toggle_between_start_and_last_checkpoint():
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await selected(pilot, app)
        await pilot.press("g")
        panel = app.query_one(ChangesPanel)
        summary = panel.query_one("#changes-summary", Static)
        await until(pilot, lambda: len(panel.changes) == len(CHANGES), "the changed files")
        assert "4 file(s) changed since the start" in str(summary.render())
        panel.query_one("#changes-files", OptionList).focus()
        await settled(pilot, "the list focused")
        footer = app.screen.active_bindings
        assert any(
            b.binding.id == "changes_since" and b.binding.key == "b" and b.binding.description
            for b in footer.values()
        )

        await pilot.press("b")
        await until(pilot, lambda: len(panel.changes) == 1, "the changes since the checkpoint")
        text = str(summary.render())
        assert "1 file(s) changed since the last checkpoint (3f2a9c81d0e4 'tests pass'" in text
        assert "b: since the start" in text
        await until(
            pilot,
            lambda: ("diff", CHANGES[0].path, "checkpoint") in app.calls,
            "the diff read against the checkpoint",
        )
        # The session list's count stays "since the start" (what the Δ badge means).
        assert app.session_list.rows[SELECTED].changed == len(CHANGES)

        await pilot.press("b")
        await until(pilot, lambda: len(panel.changes) == len(CHANGES), "back to the start")
        assert "since the start" in str(summary.render())


class RecordingForm(NewSessionScreen):
    """The new-session form; what Create would start is recorded, not started."""

    CSS_PATH = Path(new_session.__file__).with_name("new_session.tcss")  # not beside this file

    def __init__(self) -> None:
        config = Config(agent="shell", allow_defaults=False)
        super().__init__(cast(Any, None), config, make_tree(SNAPSHOT_TREE))
        self.created: list[Any] = []

    def _create(self, form: Any) -> None:  # type: ignore[override]
        self.created.append(form)


async def test_new_session_form_checks_allow_and_confirms_a_public_suffix():
    screen = RecordingForm()
    app = ScreenApp(lambda: screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("down", "space")
        await marks_shown(pilot, 1)
        allow = screen.query_one("#allow", Input)

        allow.value = "not a domain"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "contains a space" in text_of(app, "#error"), "the error")
        assert screen.created == []

        allow.value = "api.example.net, com"
        await pilot.press("ctrl+s")
        text = await asked(pilot, app)
        assert "Allow in session the new session" in text and "api.example.net" in text
        assert "WARNING: com is a public suffix" in text
        await answered(pilot, app, "n")
        assert screen.created == []
        await pilot.press("ctrl+s")  # asked again: No was not remembered
        await asked(pilot, app)
        await answered(pilot, app, "y")
        await until(pilot, lambda: screen.created, "the session asked for")
        (form,) = screen.created
        assert form.allow == ["api.example.net", "com"] and form.public_ok
