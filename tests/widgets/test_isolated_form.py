"""The new-session form's Isolated switch: off by default, ticked with Parallel when the
config's `isolated` says so (and can be unticked), and passed on with what Create starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from textual.widgets import Checkbox

from claudex_tui.config import Config
from claudex_tui.screens import new_session
from claudex_tui.screens.new_session import NewSessionScreen
from tests.waiting import until
from tests.widgets.test_mount_picker import SNAPSHOT_TREE, make_tree, marks_shown, wait_loaded
from tests.widgets.test_new_session import ScreenApp


class RecordingForm(NewSessionScreen):
    """The form; what Create would start is recorded, not started."""

    CSS_PATH = Path(new_session.__file__).with_name("new_session.tcss")

    def __init__(self, isolated: bool) -> None:
        config = Config(agent="shell", allow_defaults=False, isolated=isolated)
        super().__init__(cast(Any, None), config, make_tree(SNAPSHOT_TREE))
        self.created: list[Any] = []

    def _create(self, form: Any) -> None:  # type: ignore[override]
        self.created.append(form)


async def _created(isolated_config: bool, *clicks: str) -> Any:
    screen = RecordingForm(isolated_config)
    async with ScreenApp(lambda: screen).run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("down", "space")
        await marks_shown(pilot, 1)
        for box in clicks:
            checkbox = screen.query_one(box, Checkbox)
            checkbox.value = not checkbox.value
            await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.created, "the session asked for")
        return screen.created[0]


async def test_isolated_is_off_unless_asked() -> None:
    form = await _created(False, "#parallel")
    assert form.parallel and not form.isolated
    form = await _created(False, "#isolated")
    assert form.isolated and not form.parallel


async def test_the_config_makes_parallel_sessions_isolated() -> None:
    form = await _created(True)
    assert not form.parallel and not form.isolated
    form = await _created(True, "#parallel")
    assert form.parallel and form.isolated
    form = await _created(True, "#parallel", "#isolated")  # unticked by the user
    assert form.parallel and not form.isolated
