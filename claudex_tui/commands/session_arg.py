"""The one way every command names its session: NAME (where it was positional before) or
`--name NAME`, with the same help everywhere."""

from __future__ import annotations

import argparse

from container.errors import UsageError

SESSION_HELP = "session name (default: the session for the current directory)"


def add_session_arguments(p: argparse.ArgumentParser, *, positional: bool = True) -> None:
    """`[NAME]` and `--name NAME`; `merge_session_name` makes them one `name`."""
    if positional:
        p.add_argument("name", nargs="?", metavar="NAME", help=SESSION_HELP)
    p.add_argument("--name", dest="name_option", metavar="NAME", help=SESSION_HELP)


def merge_session_name(ns: argparse.Namespace) -> None:
    """`ns.name` from NAME or --name; both, differing, is an error."""
    if not hasattr(ns, "name_option"):
        return
    option = ns.name_option
    del ns.name_option
    given = getattr(ns, "name", None)
    if option and given and option != given:
        raise UsageError(
            f"two session names: {given!r} and --name {option!r}", "give the session once"
        )
    ns.name = given or option
