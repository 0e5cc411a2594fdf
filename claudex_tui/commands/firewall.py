"""`claudex firewall status|allow|deny`: see and edit a session's firewall while it runs."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from claudex_tui.commands.session_arg import add_session_arguments
from container import firewall, firewall_model
from container.allow_entries import FORCE_HINT, merge_entries, refuse_public, split_all
from container.errors import UsageError
from container.firewall_model import FirewallStatus


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    status = sub.add_parser(
        "status",
        help="mode, allowed names with their addresses, blocked destinations",
        description="Show a session's firewall: mode, allowed names with the addresses "
        "admitted so far, blocked destinations and names refused by DNS. The mode is read "
        "from the live rules: BROKEN means they differ from what claudex applied (and says "
        "how). Exit code 0 when enforcing (or off, stopped, starting, unrestricted by "
        "choice), 1 when BROKEN or failed.",
    )
    add_session_arguments(status)
    status.add_argument("--format", choices=["table", "json"], default="table")
    for action, verb in (("allow", "allow"), ("deny", "stop allowing")):
        q = sub.add_parser(
            action,
            help=f"{verb} names or IP[/prefix][:port] at once, kept for the session",
            description=f"{verb.capitalize()} DOMAIN (and its subdomains) or IP[/prefix][:port] "
            "in a running session, effective within a second, without restarting it; "
            "kept across restarts of the session.",
        )
        # NAME DOMAIN... or --name NAME DOMAIN... (finish_arguments sorts the words out)
        q.add_argument("name", metavar="NAME", help="session name (or give it as --name NAME)")
        q.add_argument("--name", dest="name_option", metavar="NAME", help="session name")
        q.add_argument(
            "entries",
            nargs="*",
            metavar="DOMAIN",
            help="domain or IP[/prefix][:port]; one per argument (or separated by commas)",
        )
        if action == "allow":
            q.add_argument(
                "--force",
                action="store_true",
                help="allow a public suffix too (com, co.uk, github.io: every host under it)",
            )


def finish_arguments(ns: argparse.Namespace) -> None:
    """With --name every word is an entry; without, the first one is the session."""
    if ns.action == "status":
        return
    if ns.name_option:
        ns.entries, ns.name = [ns.name, *ns.entries], None
    if not ns.entries:
        raise UsageError(
            f"name what to {ns.action}: DOMAIN or IP[/prefix][:port]",
            f"see `claudex firewall {ns.action} --help`",
        )


def run(args: argparse.Namespace) -> int:
    from claudex_tui import output
    from container.engine import connect
    from container.sessions import Sessions

    entries: list[str] = []
    if args.action != "status":  # bad input is told before the engine is asked anything
        entries = merge_entries(split_all(args.entries))
        if args.action == "allow" and not args.force:
            refuse_public(entries, hint=FORCE_HINT)
    client = connect()
    sessions = Sessions(client)
    session = sessions.resolve(args.name)
    if args.action == "status":
        status = firewall.read_status(client, session)
        if args.format == "json":
            print(json.dumps(status.as_json(), indent=2))
        else:
            print(render(status))
        return 1 if status.mode in (firewall_model.FAILED, firewall_model.BROKEN) else 0
    if args.action == "allow":
        added = firewall.allow(client, session, entries, force=args.force)
        if added:
            output.info(f"{session.name}: now allowed: {', '.join(added)}")
        else:
            output.info(f"{session.name}: already allowed: {', '.join(entries)}")
        return 0
    removed = firewall.deny(client, session, entries)
    output.info(f"{session.name}: no longer allowed: {', '.join(removed)}")
    return 0


def _ago(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "-"
    seconds = max(0, int((now - t).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


ROWS = 50  # blocked destinations and refused names shown; `--format json` has all kept


def render(status: FirewallStatus) -> str:
    """The table view: bounded (at most ROWS rows per list) whatever the agent did."""
    from claudex_tui.output import table

    mode = status.mode + (f": {status.reason}" if status.reason else "")
    if status.mode == firewall_model.UNRESTRICTED:
        mode = "UNRESTRICTED (host network: no firewall at all)"
    if status.mode == firewall_model.BROKEN:
        mode = f"BROKEN: {status.reason}"
    lines = [f"session   {status.session}", f"firewall  {_red(mode, status.mode)}"]
    if status.mode == firewall_model.BROKEN:
        lines.append(
            "          the rules in place are not the ones claudex applied; "
            "restart the session to apply them again"
        )
    if status.mode not in (firewall_model.ENFORCING, firewall_model.BROKEN):
        return "\n".join(lines)
    now = status.checked or datetime.now(UTC)
    lines += ["", f"allowed names ({len(status.names)}):"]
    rows = [[n.name, _addresses(n.addresses, n.more)] for n in status.names]
    lines += ["  " + line for line in table(["NAME", "ADMITTED ADDRESSES"], rows).splitlines()]
    if status.networks:
        lines += ["", "allowed networks: " + ", ".join(status.networks)]
    kept = len(status.blocked)
    head = f"blocked destinations ({kept}"
    if status.rejected:
        head += f"; {status.rejected} packets rejected in all"
    lines += ["", head + "):"]
    if status.blocked:
        rows = [
            [b.address, b.protocol, str(b.port or "-"), str(b.count), _ago(b.last, now)]
            for b in status.blocked[:ROWS]
        ]
        headers = ["ADDRESS", "PROTO", "PORT", "COUNT", "LAST"]
        lines += ["  " + line for line in table(headers, rows).splitlines()]
        lines += _more(kept - ROWS, "destinations")
    names = len(status.refused)
    head = f"names refused by DNS ({names}"
    if status.refused_total:
        head += f"; {status.refused_total} refusals in all"
    if status.refused_others:
        head += f"; {status.refused_others} older names no longer kept"
    lines += ["", head + "):"]
    if status.refused:
        rows = [[r.name, str(r.count), _ago(r.last, now)] for r in status.refused[:ROWS]]
        lines += ["  " + line for line in table(["NAME", "COUNT", "LAST"], rows).splitlines()]
        lines += _more(names - ROWS, "names")
    return "\n".join(lines)


def _addresses(addresses: tuple[str, ...], more: int) -> str:
    shown = ", ".join(addresses[:8]) or "-"
    rest = len(addresses) - 8 + more
    return shown + (f" +{rest} more" if rest > 0 else "")


def _more(count: int, what: str) -> list[str]:
    if count <= 0:
        return []
    return [f"  ... {count} more {what} (`--format json` lists all that are kept)"]


def _red(text: str, mode: str) -> str:
    """In red on a terminal: a firewall that does not hold what the user expects."""
    from claudex_tui.output import _color

    if mode in (firewall_model.BROKEN, firewall_model.FAILED, firewall_model.UNRESTRICTED):
        return _color("1;31", text, sys.stdout)
    return text
