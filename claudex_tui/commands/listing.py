"""`claudex list`."""

from __future__ import annotations

import argparse
import fnmatch
import json
from datetime import datetime

from container import labels
from container.errors import UsageError
from container.labels import SessionInfo

FILTER_KEYS = ("name", "signature", "slug")


def add_filter_argument(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{what}: name=GLOB, signature=HASH or slug=GLOB (repeatable)",
    )


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    state = p.add_mutually_exclusive_group()
    state.add_argument("--all", "-a", action="store_true", help="all sessions (default)")
    state.add_argument("--running", action="store_true", help="running sessions only")
    state.add_argument("--stopped", action="store_true", help="sessions that are not running")
    p.add_argument("--format", choices=["table", "json", "names"], default="table")
    add_filter_argument(p, "only sessions matching")


def parse_filters(raw: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTER_KEYS or not value:
            raise UsageError(f"bad filter {item!r}", "use name=GLOB, signature=HASH or slug=GLOB")
        out[key] = value
    return out


def apply_filters(sessions: list[SessionInfo], filters: dict[str, str]) -> list[SessionInfo]:
    """Keep the sessions matching every filter (globs for name and slug)."""
    out = []
    for s in sessions:
        if "name" in filters and not fnmatch.fnmatchcase(s.name, filters["name"]):
            continue
        if "slug" in filters and not fnmatch.fnmatchcase(s.slug, filters["slug"]):
            continue
        if "signature" in filters and s.signature != filters["signature"]:
            continue
        out.append(s)
    return out


def _age(created: datetime | None) -> str:
    if created is None:
        return "-"
    seconds = (datetime.now().astimezone() - created).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def _isolated_note(s: SessionInfo) -> str:
    """For an isolated session: how many files its copies hold that your directories do
    not (read on this host; nothing for other sessions)."""
    if labels.ISOLATED not in s.labels:
        return ""
    from container.isolated_apply import session_differing

    differ = session_differing(s.name, s.labels)
    if differ is None:
        return " (isolated)"
    return f" (isolated: {differ} file{'s' if differ != 1 else ''} differ)"


def _row(s: SessionInfo) -> list[str]:
    mounts = (", ".join(s.mounts) if s.mounts else "-") + _isolated_note(s)
    return [
        s.name,
        s.state,
        s.agent if s.managed else "go-tool",
        s.network_mode,
        _age(s.created),
        s.engine or "-",
        mounts,
    ]


def _json(s: SessionInfo) -> dict[str, object]:
    if labels.ISOLATED not in s.labels:
        return s.as_json()
    from container.isolated import copies_of
    from container.isolated_apply import session_differing

    copies = copies_of(s.labels)
    return {**s.as_json(), "isolated": copies, "differ": session_differing(s.name, s.labels)}


def list_engines(engine_name: str | None) -> list[SessionInfo]:
    """Sessions of the engine --engine names, else of every engine (asked concurrently).

    An unreachable engine is a warning while another answers; an error when none does.
    """
    from claudex_tui import output
    from claudex_tui.config_path import config_path
    from container.engines import available_engines, find_engine, list_all

    configured = {}
    if config_path().exists():  # pydantic is loaded only when there is a file to check
        from claudex_tui.config import load_config

        configured = load_config().engines
    engines = available_engines(configured)
    if engine_name:
        engines = [find_engine(engine_name, engines)]
    listings = list_all(engines)
    failed = [item for item in listings if item.error is not None]
    if failed and len(failed) == len(listings):
        error = failed[0].error
        assert error is not None
        if len(failed) > 1:
            for item in failed[1:]:
                output.warn(str(item.error))
        raise error
    for item in failed:
        output.warn(f"{item.error} — its sessions are not listed")
    return [s for item in listings for s in item.sessions or []]


def run(args: argparse.Namespace) -> int:
    from container.sessions import select_by_state

    filters = parse_filters(args.filter)
    sessions = list_engines(getattr(args, "engine", None))
    sessions = sorted(apply_filters(sessions, filters), key=lambda s: (s.name, s.engine))
    sessions = select_by_state(sessions, args.running, args.stopped)
    if args.format == "json":
        print(json.dumps([_json(s) for s in sessions], indent=2))
    elif args.format == "names":
        for s in sessions:
            print(s.name)
    elif sessions:
        from claudex_tui.output import table

        headers = ["NAME", "STATE", "AGENT", "NETWORK", "CREATED", "ENGINE", "MOUNTS"]
        print(table(headers, [_row(s) for s in sessions]))
    else:
        print("no sessions (start one with `claudex DIR`)")
    return 0
