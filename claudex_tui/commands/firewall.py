"""`claudex firewall status|allow|deny`: see and edit a session's firewall while it runs."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from container import firewall
from container.firewall import FirewallStatus


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    status = sub.add_parser(
        "status",
        help="mode, allowed names with their addresses, blocked destinations",
        description="Show a session's firewall: mode, allowed names with the addresses "
        "admitted so far, blocked destinations and names refused by DNS.",
    )
    status.add_argument("name", nargs="?", metavar="NAME", help="session (default: the one for .)")
    status.add_argument("--format", choices=["table", "json"], default="table")
    for action, verb in (("allow", "allow"), ("deny", "stop allowing")):
        q = sub.add_parser(
            action,
            help=f"{verb} names or IP[/prefix][:port] at once, kept for the session",
            description=f"{verb.capitalize()} DOMAIN (and its subdomains) or IP[/prefix][:port] "
            "in a running session, effective within a second, without restarting it; "
            "kept across restarts of the session.",
        )
        q.add_argument("name", metavar="NAME", help="session name")
        q.add_argument("entries", nargs="+", metavar="DOMAIN", help="domain or IP[/prefix][:port]")


def run(args: argparse.Namespace) -> int:
    from claudex_tui import output
    from container.engine import connect
    from container.sessions import Sessions

    client = connect()
    sessions = Sessions(client)
    session = sessions.resolve(args.name)
    if args.action == "status":
        status = firewall.read_status(client, session)
        if args.format == "json":
            print(json.dumps(status.as_json(), indent=2))
        else:
            print(render(status))
        return 1 if status.mode == firewall.FAILED else 0
    if args.action == "allow":
        added = firewall.allow(client, session, args.entries)
        if added:
            output.info(f"{session.name}: now allowed: {', '.join(added)}")
        else:
            output.info(f"{session.name}: already allowed: {', '.join(args.entries)}")
        return 0
    removed = firewall.deny(client, session, args.entries)
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


def render(status: FirewallStatus) -> str:
    from claudex_tui.output import table

    mode = status.mode + (f": {status.reason}" if status.reason else "")
    if status.mode == firewall.UNRESTRICTED:
        mode = "UNRESTRICTED (host network: no firewall at all)"
    lines = [f"session   {status.session}", f"firewall  {mode}"]
    if status.mode != firewall.ENFORCING:
        return "\n".join(lines)
    now = status.checked or datetime.now(UTC)
    lines += ["", f"allowed names ({len(status.names)}):"]
    rows = [[n.name, ", ".join(n.addresses) or "-"] for n in status.names]
    lines += ["  " + line for line in table(["NAME", "ADMITTED ADDRESSES"], rows).splitlines()]
    if status.networks:
        lines += ["", "allowed networks: " + ", ".join(status.networks)]
    lines += ["", f"blocked destinations ({len(status.blocked)}):"]
    if status.blocked:
        rows = [
            [b.address, b.protocol, str(b.port or "-"), str(b.count), _ago(b.last, now)]
            for b in status.blocked
        ]
        headers = ["ADDRESS", "PROTO", "PORT", "COUNT", "LAST"]
        lines += ["  " + line for line in table(headers, rows).splitlines()]
    lines += ["", f"names refused by DNS ({len(status.refused)}):"]
    if status.refused:
        rows = [[r.name, str(r.count), _ago(r.last, now)] for r in status.refused]
        lines += ["  " + line for line in table(["NAME", "COUNT", "LAST"], rows).splitlines()]
    return "\n".join(lines)
