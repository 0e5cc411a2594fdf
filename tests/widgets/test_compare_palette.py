"""The palette's "Compare A with B" for two isolated sessions of the same directory: their
copies (real folders here) compared, the diff shown as inert text, Esc closes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from claudex_tui.demo_backend import SESSIONS
from claudex_tui.screens.compare import CompareScreen
from container.isolated import make_copies
from container.labels import ISOLATED
from tests.fakes import FakeBackend
from tests.waiting import until
from tests.widgets.demo_app import DemoApp


async def test_compare_two_sessions_from_the_palette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    user = tmp_path / "proj"
    user.mkdir()
    (user / "app.py").write_text("def main():\n    return 1\n")
    backend = FakeBackend()
    for name, value in (("claudex-proj-a", "2"), ("claudex-proj-b", "3\x1b[2J")):
        copies = make_copies(name, [str(user)], lambda _m: None)
        Path(copies[str(user)], "app.py").write_text(f"def main():\n    return {value}\n")
        session = replace(SESSIONS[0], id=name, name=name, mounts=[str(user)])
        session = replace(session, labels={**session.labels, ISOLATED: json.dumps(copies)})
        backend.sessions.append(session)
    app = DemoApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected, "the first session selected")
        await pilot.press("ctrl+p")
        await pilot.press(*"Compare claudex-proj-a")
        await until(pilot, lambda: "Compare claudex-proj-a with" in _palette(app), "the entry")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), "the compare screen")
        body = app.screen.query_one("#compare-body")
        await until(pilot, lambda: "return 3" in str(body.render()), "the diff read")
        shown = str(body.render())
        assert "1 path(s) differ between claudex-proj-a (A) and claudex-proj-b (B)" in shown
        assert "-    return 2" in shown and "+    return 3\\x1b[2J" in shown
        assert "\x1b" not in shown  # the agent's escape is shown, never sent
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CompareScreen), "closed")


def _palette(app: DemoApp) -> str:
    from textual.command import CommandList

    found = app.screen.query(CommandList)
    if not found:
        return ""
    options = found.first()
    return " ".join(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))
