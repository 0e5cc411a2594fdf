"""`claudex mcp list|add|remove`: the MCP servers of the config (`[mcp.NAME]`)."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import TYPE_CHECKING

from container.errors import UsageError

if TYPE_CHECKING:
    from claudex_tui.config import McpServer

MOUNT_HELP = "host directory the server sees, read-only; PATH:rw lets it write (repeatable)"


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    listing = sub.add_parser("list", help="the configured MCP servers")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    add = sub.add_parser(
        "add",
        help="configure an MCP server run in a container of its own",
        description="Add [mcp.NAME] to the config: each use runs a fresh container of IMAGE, "
        "with its own default-deny firewall (only --allow), only the --mount directories, "
        "and no Docker socket.",
    )
    add.add_argument("server", metavar="NAME", help="server name (what `claudex-mcp NAME` runs)")
    add.add_argument("--image", required=True, help="Docker image of the server")
    add.add_argument(
        "--command", default="", help='command and arguments, e.g. "python -m server" (quoted)'
    )
    add.add_argument(
        "--env", action="append", default=[], metavar="VAR", help="host variable to pass"
    )
    add.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="domain or IP[/prefix][:port] the server may reach (repeatable, or commas)",
    )
    add.add_argument("--mount", action="append", default=[], metavar="PATH[:rw]", help=MOUNT_HELP)
    remove = sub.add_parser("remove", help="remove an MCP server from the config")
    remove.add_argument("server", metavar="NAME")


def _server(args: argparse.Namespace) -> McpServer:
    """The McpServer the `add` arguments describe; one clear message for bad input."""
    from pydantic import ValidationError

    from claudex_tui.config import McpServer
    from container.allow_entries import split_all

    try:
        command = shlex.split(args.command)
    except ValueError as exc:
        raise UsageError(f"--command: {exc}") from None
    mounts = []
    for raw in args.mount:
        path, sep, mode = raw.rpartition(":")
        if sep and mode in ("rw", "ro"):
            mounts.append({"path": path, "rw": mode == "rw"})
        else:
            mounts.append({"path": raw})
    try:
        return McpServer.model_validate(
            {
                "image": args.image,
                "command": command,
                "env": args.env,
                "allow": split_all(args.allow),
                "mounts": mounts,
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"{key}: {err['msg'].removeprefix('Value error, ')}") from None


def run(args: argparse.Namespace) -> int:
    from claudex_tui import output
    from claudex_tui.config import load_config
    from claudex_tui.config_path import config_path
    from claudex_tui.mcp_tables import add_server, remove_server

    path = config_path()
    if args.action == "add":
        server = _server(args)
        add_server(path, args.server, server)
        output.info(f"MCP server {args.server} added to {path}")
        reach = ", ".join(server.allow) or "nothing (no network)"
        output.info(f"behind a firewall of its own it may reach: {reach}")
        return 0
    if args.action == "remove":
        remove_server(path, args.server)
        output.info(f"MCP server {args.server} removed from {path}")
        return 0
    servers = load_config(path).mcp
    if args.format == "json":
        print(json.dumps({n: s.model_dump(mode="json") for n, s in servers.items()}, indent=2))
        return 0
    if not servers:
        output.info(f"no MCP servers configured ({path}); add one with `claudex mcp add`")
        return 0
    rows = [
        [
            name,
            s.image,
            shlex.join(s.command) or "(image's own)",
            ",".join(s.allow) or "(none)",
            ",".join(f"{m.path}{':rw' if m.rw else ''}" for m in s.mounts) or "-",
        ]
        for name, s in sorted(servers.items())
    ]
    print(output.table(["NAME", "IMAGE", "COMMAND", "ALLOW", "MOUNTS"], rows))
    return 0
