"""The new-session form's Isolated switch on a remote engine: the copies are made on that
engine's host (its volume `claudex-isolated`), as `claudex DIR --isolated --engine` does; the
user's directory and `.git` stay as they were."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from textual.app import App

from claudex_tui.config import Config
from claudex_tui.screens.new_session import NewSessionScreen, _Form
from container.engines import Engine
from container.host_fs import HELPER_LABEL
from container.isolated import copies_of
from tests.integration.conftest import CLI
from tests.integration.second_engine import SecondEngine
from tests.integration.test_isolated import snapshot
from tests.integration.test_isolated_remote import PREFIX, agent, far, repo  # noqa: F401
from tests.waiting import until


async def test_the_form_makes_the_copies_on_the_remote_host(
    cli: CLI,
    far: dict[str, str],  # noqa: F811
    repo: Path,  # noqa: F811
    second_engine: SecondEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in far.items():  # this side's data folder is the test's own
        monkeypatch.setenv(key, value)
    before = snapshot(repo)
    d2 = second_engine.client()
    engine = Engine("far", second_engine.host, "config", remote_override=True)
    screen = NewSessionScreen(d2, Config(agent="shell"), repo, engines=[(engine, d2)], engine="far")
    name = f"{PREFIX}-form-{uuid.uuid4().hex[:6]}"
    form = _Form(
        dirs=[str(repo)], read_only=[], targets={}, name=name, agent="shell",
        host_network=False, allow=[], parallel=False, isolated=True,
    )  # fmt: skip
    app: App[None] = App()
    try:
        async with app.run_test() as pilot:
            await app.push_screen(screen)
            await until(pilot, lambda: screen.fs.remote, "the remote engine's files")
            result, _notes = await asyncio.to_thread(screen._start, form)
            assert result.session.name == name
        info = d2.containers.get(name)
        copy = copies_of(info.labels)[str(repo)]
        volume = d2.api.inspect_volume("claudex-isolated")["Mountpoint"]
        assert copy == f"{volume}/claudex/isolated/{name}/work/0-proj"
        assert not Path(far["XDG_DATA_HOME"]).exists()  # nothing made on this side
        isolated_helpers = {"label": [f"{HELPER_LABEL}=isolated"]}  # (the form's browsing
        assert not d2.api.containers(all=True, filters=isolated_helpers)  # one is its own)
        agent(d2, name, "cd /workspace/proj && echo changed >> README.md")
        assert snapshot(repo) == before  # the session works on its copy
    finally:
        screen.fs.close()  # the form's helper for browsing that host (closed with the form)
        cli("destroy", "--name", name, "--force", "--engine", "far", env=far)
