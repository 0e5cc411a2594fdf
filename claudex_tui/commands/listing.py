"""`claudex list`."""

from __future__ import annotations

import argparse
import fnmatch
import json
from datetime import datetime
from typing import Any

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


Differ = dict[tuple[str, str], int | None]  # (engine, name) -> files differing (None: unknown)


def _differing(sessions: list[SessionInfo], remote: dict[str, Any]) -> Differ:
    """For each isolated session: how many files its copies hold that your directories do
    not; read on this host, or on a remote engine's host (`remote`: engine name -> its
    client) through a helper container there."""
    isolated = [s for s in sessions if labels.ISOLATED in s.labels]
    if not isolated:
        return {}
    from container.isolated_apply import session_differing

    found: Differ = {}
    image = None
    for s in isolated:
        client = remote.get(s.engine)
        if client is None:
            found[s.key] = session_differing(s.name, s.labels)
            continue
        from container.isolated_remote import EngineCopies

        if image is None:
            from claudex_tui.config import load_config

            image = load_config().image
        found[s.key] = EngineCopies(client, image, s.engine).differing(s.name, s.labels)
    return found


def _isolated_note(s: SessionInfo, differ: Differ) -> str:
    """For an isolated session: how many files its copies hold that your directories do
    not (nothing for other sessions)."""
    if labels.ISOLATED not in s.labels:
        return ""
    count = differ.get(s.key)
    if count is None:
        return " (isolated)"
    return f" (isolated: {count} file{'s' if count != 1 else ''} differ)"


def _row(s: SessionInfo, differ: Differ) -> list[str]:
    mounts = (", ".join(s.mounts) if s.mounts else "-") + _isolated_note(s, differ)
    return [
        s.name,
        s.state,
        s.agent if s.managed else "go-tool",
        s.network_mode,
        _age(s.created),
        s.engine or "-",
        mounts,
    ]


def _json(s: SessionInfo, differ: Differ) -> dict[str, object]:
    if labels.ISOLATED not in s.labels:
        return s.as_json()
    from container.isolated import copies_of

    copies = copies_of(s.labels)
    return {**s.as_json(), "isolated": copies, "differ": differ.get(s.key)}


def list_engines(
    engine_name: str | None, remote: dict[str, Any] | None = None
) -> list[SessionInfo]:
    """Sessions of the engine --engine names, else of every engine (asked concurrently).

    An unreachable engine is a warning while another answers; an error when none does.
    `remote`, when given, is filled with the clients of the remote engines that answered.
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
    if remote is not None:
        remote.update(
            (item.engine.name, item.client)
            for item in listings
            if item.error is None and item.client is not None and item.engine.is_remote
        )
    return [s for item in listings for s in item.sessions or []]


def run(args: argparse.Namespace) -> int:
    from container.sessions import select_by_state

    filters = parse_filters(args.filter)
    remote: dict[str, Any] = {}
    sessions = list_engines(getattr(args, "engine", None), remote)
    sessions = sorted(apply_filters(sessions, filters), key=lambda s: (s.name, s.engine))
    sessions = select_by_state(sessions, args.running, args.stopped)
    differ = _differing(sessions, remote) if args.format != "names" else {}
    if args.format == "json":
        print(json.dumps([_json(s, differ) for s in sessions], indent=2))
    elif args.format == "names":
        for s in sessions:
            print(s.name)
    elif sessions:
        from claudex_tui.output import table

        headers = ["NAME", "STATE", "AGENT", "NETWORK", "CREATED", "ENGINE", "MOUNTS"]
        print(table(headers, [_row(s, differ) for s in sessions]))
    else:
        print("no sessions (start one with `claudex DIR`)")
    return 0
