"""The config file's `[mcp.NAME]` tables, added and removed as text: the rest of the user's file
(comments, order, layout) stays as it was, and every change is checked by loading the result
before it is written."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from claudex_tui.config import Config, ConfigError, McpServer, load_config, mcp_name_problem
from container.errors import UsageError


def _string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _strings(values: list[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def render_table(name: str, server: McpServer) -> str:
    """`[mcp.NAME]` and its keys, as TOML text (defaults left out)."""
    lines = [f"[mcp.{name}]", f"image = {_string(server.image)}"]
    if server.command:
        lines.append(f"command = {_strings(server.command)}")
    if server.env:
        lines.append(f"env = {_strings(server.env)}")
    if server.allow:
        lines.append(f"allow = {_strings(server.allow)}")
    if server.mounts:
        mounts = ", ".join(
            "{ path = " + _string(str(m.path)) + (", rw = true" if m.rw else "") + " }"
            for m in server.mounts
        )
        lines.append(f"mounts = [{mounts}]")
    return "\n".join(lines) + "\n"


def _validated(path: Path, text: str) -> dict[str, object]:
    """`text` parsed and checked as the whole config would be at `path`."""
    try:
        data = tomllib.loads(text)
        Config.model_validate(data)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:  # our own text: a bug or a race
        raise ConfigError(f"{path}: the edited config would not load: {exc}") from None
    return data


def _write(path: Path, text: str) -> None:
    """Replace the file at once (a crash leaves the old or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    part = path.with_name(path.name + ".part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    try:
        with os.fdopen(os.open(part, flags, mode), "w", encoding="utf-8") as fh:
            fh.write(text)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def add_server(path: Path, name: str, server: McpServer) -> None:
    """Append `[mcp.NAME]` to the config at `path`; an existing NAME is an error."""
    problem = mcp_name_problem(name)
    if problem:
        raise UsageError(problem)
    if name in load_config(path).mcp:
        raise UsageError(
            f"an MCP server {name!r} is configured already",
            f"`claudex mcp remove {name}` first, or edit {path}",
        )
    text = _read(path)
    if text and not text.endswith("\n"):
        text += "\n"
    text += ("\n" if text else "") + render_table(name, server)
    _validated(path, text)
    _write(path, text)


_HEADER_RE = re.compile(r"^\s*\[")


def remove_server(path: Path, name: str) -> None:
    """Remove `[mcp.NAME]` (a table of its own) from the config at `path`."""
    servers = load_config(path).mcp
    if name not in servers:
        known = ", ".join(sorted(servers)) or "none"
        raise UsageError(f"no MCP server {name!r} in {path}", f"configured: {known}")
    text = _read(path)
    header = re.compile(
        rf"^\s*\[\s*mcp\s*\.\s*(?:{re.escape(name)}|\"{re.escape(name)}\")\s*\]\s*(?:#.*)?$"
    )
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        raise UsageError(
            f"{path}: {name!r} is not written as a table of its own ([mcp.{name}])",
            "remove it by editing the file",
        )
    end = next((i for i in range(start + 1, len(lines)) if _HEADER_RE.match(lines[i])), len(lines))
    new = "".join(lines[:start] + lines[end:])
    new = new.rstrip("\n") + "\n" if new.strip() else ""  # no blank lines left at the end
    data = _validated(path, new)
    # Exactly that server went: anything else changed means the file was laid out otherwise.
    before = tomllib.loads(text)
    mcp = dict(before.get("mcp") or {})
    mcp.pop(name, None)
    expected = {k: v for k, v in before.items() if k != "mcp"} | ({"mcp": mcp} if mcp else {})
    after = {k: v for k, v in data.items() if not (k == "mcp" and not v)}
    if after != expected:
        raise UsageError(
            f"{path}: [mcp.{name}] is not the only thing its lines hold",
            "remove it by editing the file",
        )
    _write(path, new)
