"""The footer and `?` show the keys that work where the focus is; `[keys]` in the config
remaps them (by binding id), and a bad entry is one clear message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent
from textual.widgets._footer import FooterKey

from claudex_tui.commands_palette import SessionCommands
from claudex_tui.config import Config, ConfigError, load_config
from claudex_tui.keymap import binding_ids, keymap
from claudex_tui.screens.help import HelpScreen
from tests.waiting import until
from tests.widgets.demo_app import DemoApp, show_tab
from widgets.terminal.widget import TerminalWidget


def footer(app: DemoApp) -> dict[str, str]:
    """What the footer shows now: key as drawn -> description."""
    return {k.key_display: k.description for k in app.screen.query(FooterKey)}


async def shown(pilot: Pilot[None], key: str) -> dict[str, str]:
    """The footer once it shows `key` (it is rebuilt after a focus change)."""
    app = pilot.app
    assert isinstance(app, DemoApp)
    await until(pilot, lambda: key in footer(app), f"{key} in the footer")
    return footer(app)


async def open_help(pilot: Pilot[None]) -> HelpScreen:
    app = pilot.app
    app.dashboard.action_help()
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
    assert isinstance(app.screen, HelpScreen)
    return app.screen


def help_rows(screen: HelpScreen) -> dict[str, str]:
    """First section that holds each description -> its keys."""
    rows: dict[str, str] = {}
    for _, section in screen.sections:
        for keys, text, _ in section:
            rows.setdefault(text, keys)
    return rows


async def in_terminal(pilot: Pilot[None]) -> TerminalWidget:
    app = pilot.app
    assert isinstance(app, DemoApp)
    await show_tab(pilot, "t")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.focused, TerminalWidget), "the terminal focused")
    assert isinstance(app.focused, TerminalWidget)
    return app.focused


async def test_footer_in_the_list_and_in_the_terminal() -> None:
    app = DemoApp()
    async with app.run_test(size=(160, 40)) as pilot:
        await show_tab(pilot, "t")
        listed = await shown(pilot, "q")
        assert listed["q"] == "Quit" and listed["n"] == "New" and listed["?"] == "Keys"
        assert "^]" not in listed  # leaving the terminal means nothing here
        assert "^p" in listed  # the palette opens from the list

        await in_terminal(pilot)
        inside = await shown(pilot, "^]")
        # Only what works in the terminal: every other key goes to the agent.
        assert inside["^]"] == "Leave terminal"
        assert inside["alt+↓"] == "Next session" and inside["alt+↑"] == "Previous session"
        for binding in app._merged_bindings.key_to_bindings.values():  # priority: from inside
            if binding[0].priority and binding[0].show:
                assert app.get_key_display(binding[0]) in inside, binding
        for gone in ("q", "n", "D", "?", "^p"):
            assert gone not in inside, (gone, inside)
        # The terminal's own keys are read from its bindings (helpers add keys there).
        for binding in TerminalWidget.BINDINGS:
            assert app.get_key_display(binding) in inside  # type: ignore[arg-type]

        # Help from inside (palette) says the same as the footer: nothing that does not work.
        screen = await open_help(pilot)
        rows = help_rows(screen)
        assert rows["Leave terminal"] == "^]"
        assert "Quit" not in rows and "New" not in rows


async def test_footer_in_a_tab_offers_the_way_back() -> None:
    app = DemoApp()
    async with app.run_test(size=(160, 40)) as pilot:
        await show_tab(pilot, "g")
        listed = await shown(pilot, "q")
        assert "esc" not in listed  # in the list Esc leads nowhere
        await pilot.press("tab")
        here = await shown(pilot, "esc")
        assert here["esc"] == "Session list"
        assert here["c"] == "Checkpoint"  # the Changes list's own keys come first


async def test_help_and_footer_agree_on_quit() -> None:
    app = DemoApp()
    async with app.run_test(size=(160, 40)) as pilot:
        await show_tab(pilot, "t")
        listed = await shown(pilot, "q")
        assert listed["q"] == "Quit"
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app.screen)
        assert rows["Quit"].split()[0] == "q"  # the footer's key first (Ctrl-Q after it)
        assert rows["Keys"] == "?" and rows["Leave terminal"] == "^]"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")


async def test_remapped_keys_work_and_show() -> None:
    config = Config(keys={"tab_files": ["F"], "leave_terminal": ["ctrl+g"], "quit": ["ctrl+x"]})

    class Remapped(DemoApp):
        def __init__(self) -> None:
            super().__init__(config=config)

    app = Remapped()
    async with app.run_test(size=(160, 40)) as pilot:
        await show_tab(pilot, "t")
        tabs = app.query_one(TabbedContent)
        listed = await shown(pilot, "^x")
        assert listed["^x"] == "Quit" and "q" not in listed

        await pilot.press("f")  # no longer the Files tab
        await pilot.press("F")
        await until(pilot, lambda: tabs.active == "files", "F opens the Files tab")
        await pilot.press("t")
        await until(pilot, lambda: tabs.active == "terminal", "the terminal tab")

        term = await in_terminal(pilot)
        inside = await shown(pilot, "^g")
        assert inside["^g"] == "Leave terminal" and "^]" not in inside
        await pilot.press("ctrl+g")
        await until(pilot, lambda: app.focused is not term, "ctrl+g leaves the terminal")

        screen = await open_help(pilot)
        rows = help_rows(screen)
        assert rows["Files tab"] == "F" and rows["Quit"].split()[0] == "^x"
        assert rows["Leave terminal"] == "^g"
        # The palette's tab entries name the remapped key too.
        hints = {text: hint for text, hint, _ in SessionCommands(app.screen)._commands()}
        assert hints["Files tab"] == "key F" and hints["Changes tab"] == "key g"


def test_every_binding_has_an_id() -> None:
    ids = binding_ids()
    for wanted in ("quit", "help", "leave_terminal", "next_session", "tab_files", "back_to_list"):
        assert wanted in ids


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ('nosuch = "x"', "keys.nosuch: no dashboard key has this id"),
        ('quit = "ctrl+yy"', "'yy' is not a key name"),
        ('quit = "hyperx+y"', "'hyperx' is not a modifier"),
        ("quit = []", "quit: no key given"),
        ('tab_files = "q"', "'q' would be the key of quit and tab_files"),
    ],
)
def test_a_bad_keys_entry_is_one_clear_message(tmp_path: Path, entry: str, says: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[keys]\n{entry}\n")
    with pytest.raises(ConfigError) as caught:
        keymap(load_config(path).keys)
    assert says in caught.value.message
    assert "Traceback" not in caught.value.message


def test_the_dashboard_refuses_a_bad_keys_entry_clearly(tmp_path: Path) -> None:
    (tmp_path / "claudex").mkdir()
    (tmp_path / "claudex" / "config.toml").write_text('[keys]\nnosuch = "x"\n')
    claudex = Path(sys.executable).with_name("claudex")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(claudex), "dashboard"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "keys.nosuch: no dashboard key has this id" in done.stderr
    assert "Traceback" not in done.stderr and "tab_files" in done.stderr  # the ids it knows


def test_the_readme_config_example_is_valid() -> None:
    """The README shows `[keys]`: its example must load, ids and keys included."""
    readme = Path(__file__).parents[2] / "README.md"
    blocks = re.findall(r"```toml\n(.*?)```", readme.read_text(), re.S)
    assert blocks
    for block in blocks:
        config = Config.model_validate(tomllib.loads(block))
        assert keymap(config.keys)
