"""`claudex dashboard`: the full-screen dashboard, without starting a session."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from container.errors import UsageError

if TYPE_CHECKING:
    from claudex_tui.config import Config
    from claudex_tui.early_start import EarlyStart
    from container.engine import DockerClient


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--name", "--select", dest="select", metavar="NAME", help="session to select when it opens"
    )


def open_dashboard(
    select: str | None = None, focus_terminal: bool = False, client: DockerClient | None = None
) -> int:
    """`client`: the default engine's, when the caller has one already."""
    from claudex_tui.config import load_config
    from claudex_tui.keymap import keymap

    config = load_config()
    keymap(config.keys)  # a bad [keys] entry: one message, before the screen changes
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the dashboard needs a terminal", "use `claudex list` in scripts")
    early = _early_start(config, select, client)  # asks the engine while Textual loads

    from claudex_tui.app import ClaudexApp

    app = ClaudexApp(config=config, select=select, focus_terminal=focus_terminal, early=early)
    app.run()
    # Textual prints the error and sets a return code when it had to stop on one.
    return app.return_code or 0


def _early_start(
    config: Config, select: str | None, client: DockerClient | None
) -> EarlyStart | None:
    """The default engine's first calls, started now (the others connect as they always do)."""
    from claudex_tui.early_start import EarlyStart
    from container.engines import DEFAULT_ENGINE, available_engines

    try:
        engines = available_engines(config.engines)
    except Exception:  # (reported the usual way once the dashboard asks)
        return None
    default = next((e for e in engines if e.name == DEFAULT_ENGINE), None)
    return EarlyStart(default, select, client) if default is not None else None


def run(args: argparse.Namespace) -> int:
    from claudex_tui.commands.engine_offer import connect_or_offer, offer
    from container.engine_setup import Offer

    client = None
    if offer() is Offer.ASK:  # may start one here: ask now, before the screen changes
        client = connect_or_offer()
    return open_dashboard(args.select, client=client)
