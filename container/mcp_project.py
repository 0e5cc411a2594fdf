"""MCP servers a project asks for in its `.claudex.toml` (`[mcp.NAME]`), used only once the
user confirmed exactly them, like the file's firewall entries.

The agent can write this file, so it may name only what the user is shown and can judge: an
image, a command and the server's own allow list. Host variables (`env`) and host paths
(`mounts`) stay the user's config's alone: a confirmed file must not be able to read the
host's secrets or files through a server. A server of the same name in the user's config wins.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from container.allow_entries import merge_entries, refuse_public
from container.errors import ClaudexError, UsageError
from container.firewall import PROJECT_FILE, ProjectAllow, is_trusted, trust
from container.firewall_model import printable
from container.host_entries import HostFS
from container.local_fs import LOCAL

# The config's rules for names and images (claudex_tui.config), checked again here: the file
# is the agent's.
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
IMAGE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,254}")
MAX_SERVERS = 8
MAX_COMMAND = 32  # arguments
KEYS = {"image", "command", "allow"}
HINT = (
    'a project\'s [mcp.NAME] takes image, command and allow, e.g. [mcp.docs]\\nimage = "x/y"; '
    "env and mounts belong in your own config (`claudex mcp add`)"
)


@dataclass(frozen=True)
class ProjectMcp(ProjectAllow):
    """The servers one `.claudex.toml` asks for; `entries` describe them for the question."""

    specs: str = "{}"  # JSON: name -> {image, command, allow}

    @property
    def asks(self) -> str:
        return "asks to run MCP servers: " + "; ".join(self.entries)

    @property
    def instead(self) -> str:
        return "add it to your config with `claudex mcp add`"

    @property
    def key(self) -> str:
        return "mcp|" + super().key  # its own trust, apart from the file's allow entries

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.specs.encode()).hexdigest()[:16]

    def servers(self) -> dict[str, dict[str, Any]]:
        """The broker's view of them (see container.mcp_host.server_specs): no env, no mounts."""
        return {name: {**s, "env": [], "binds": []} for name, s in json.loads(self.specs).items()}


def _fail(path: Path, what: str) -> ClaudexError:
    return ClaudexError(f"{path}: {printable(what)}", HINT)


def _server(path: Path, name: object, table: object) -> dict[str, Any]:
    where = f"mcp.{name}"
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise _fail(path, f"{where}: not an MCP server name (a-z, 0-9, '-', '_'; at most 32)")
    if not isinstance(table, dict):
        raise _fail(path, f"{where} must be a table")
    extra = sorted(set(table) - KEYS)
    if extra:
        raise _fail(path, f"{where}: {extra[0]} is not allowed in a project's file")
    image = table.get("image")
    if not isinstance(image, str) or not IMAGE_RE.fullmatch(image):
        raise _fail(path, f"{where}.image must be an image name")
    command = table.get("command", [])
    if (
        not isinstance(command, list)
        or len(command) > MAX_COMMAND
        or not all(isinstance(a, str) and a.isprintable() and len(a) <= 256 for a in command)
    ):
        raise _fail(path, f"{where}.command must be a short list of printable strings")
    raw = table.get("allow", [])
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise _fail(path, f"{where}.allow must be a list of strings")
    try:
        allow = merge_entries(raw)
        refuse_public(allow)
    except UsageError as exc:
        raise _fail(path, f"{where}.allow: {exc.message}") from None
    return {"image": image, "command": list(command), "allow": allow}


def _describe(name: str, spec: dict[str, Any]) -> str:
    text = f"{name} (image {spec['image']}"
    if spec["command"]:
        text += f", command {' '.join(spec['command'])}"
    reach = ", ".join(spec["allow"]) or "no network"
    return text + f", reaches {reach})"


def read_project_mcp(dirs: Iterable[str], fs: HostFS = LOCAL) -> list[ProjectMcp]:
    """`[mcp.NAME]` tables of each mounted directory's .claudex.toml (on the engine's host)."""
    found = []
    for d in dirs:
        path = Path(d) / PROJECT_FILE
        try:
            text = fs.read_text(str(path))  # regular files only, size-capped, never waiting
            if text is None:
                continue
            data = tomllib.loads(text)
        except (OSError, ClaudexError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # said by the firewall's reading of the same file, which stops the start
        tables = data.get("mcp", {})
        if not isinstance(tables, dict):
            raise _fail(path, "mcp must hold [mcp.NAME] tables")
        if len(tables) > MAX_SERVERS:
            raise _fail(path, f"at most {MAX_SERVERS} MCP servers")
        specs = {name: _server(path, name, table) for name, table in sorted(tables.items())}
        if specs:
            found.append(
                ProjectMcp(
                    path,
                    tuple(_describe(n, s) for n, s in specs.items()),
                    fs.label if fs.remote else "",
                    json.dumps(specs, sort_keys=True),
                )
            )
    return found


def confirmed_servers(
    dirs: Iterable[str], confirm: Callable[[ProjectAllow], bool], fs: HostFS = LOCAL
) -> dict[str, dict[str, Any]]:
    """The servers of the projects' files the user confirmed (now, or before for exactly
    these); the others are left out (`confirm` says so)."""
    servers: dict[str, dict[str, Any]] = {}
    for found in read_project_mcp(dirs, fs):
        if is_trusted(found):
            servers.update(found.servers())
        elif confirm(found):
            trust(found)
            servers.update(found.servers())
    return servers
