"""`claudex dashboard`: the full-screen dashboard, without starting a session."""

from __future__ import annotations

import argparse
import sys

from container.errors import UsageError


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--name", "--select", dest="select", metavar="NAME", help="session to select when it opens"
    )


def open_dashboard(select: str | None = None, focus_terminal: bool = False) -> int:
    from claudex_tui.app import ClaudexApp
    from claudex_tui.config import load_config
    from claudex_tui.keymap import keymap

    keymap(load_config().keys)  # a bad [keys] entry: one message, before the screen changes
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the dashboard needs a terminal", "use `claudex list` in scripts")

    app = ClaudexApp(select=select, focus_terminal=focus_terminal)
    app.run()
    # Textual prints the error and sets a return code when it had to stop on one.
    return app.return_code or 0


def run(args: argparse.Namespace) -> int:
    from claudex_tui.commands.engine_offer import connect_or_offer, offer
    from container.engine_setup import Offer

    if offer() is Offer.ASK:  # may start one here: ask now, before the screen changes
        connect_or_offer().close()
    return open_dashboard(args.select)
