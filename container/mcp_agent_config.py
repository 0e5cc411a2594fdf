"""Each agent's MCP configuration in a new session's own home, naming the session's servers as
the stdio command `claudex-mcp NAME` (the broker starts them; see container.mcp_host). Written
with the login copies before the first start; never into a home shared with the host."""

from __future__ import annotations

import json
from typing import Any

from container.agent_home import CLAUDE_CONFIG, GEMINI_SETTINGS, LoginFile

COMMAND = "claudex-mcp"
CODEX_CONFIG = ".codex/config.toml"
COPILOT_MCP = ".copilot/mcp-config.json"
OPENCODE_CONFIG = ".config/opencode/opencode.json"


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=2).encode() + b"\n"


def _merged(logins: list[LoginFile], path: str, extra: dict[str, Any]) -> LoginFile:
    """The login copy at `path` (a JSON object) with `extra`'s keys added, or `extra` alone."""
    base: dict[str, Any] = {}
    for f in logins:
        if f.path == path:
            base = json.loads(f.data)
    return LoginFile(path, _json({**base, **extra}))


def with_mcp_configs(names: list[str], logins: list[LoginFile]) -> list[LoginFile]:
    """`logins` plus every agent's MCP config for the servers `names` (none: unchanged)."""
    if not names:
        return logins
    names = sorted(names)
    claude = {n: {"type": "stdio", "command": COMMAND, "args": [n]} for n in names}
    gemini = {n: {"command": COMMAND, "args": [n]} for n in names}
    copilot = {n: {"type": "local", "command": COMMAND, "args": [n], "tools": ["*"]} for n in names}
    opencode = {n: {"type": "local", "command": [COMMAND, n], "enabled": True} for n in names}
    codex = "".join(
        f'[mcp_servers.{n}]\ncommand = "{COMMAND}"\nargs = ["{n}"]\n\n' for n in names
    )  # names are [a-z0-9_-]: bare TOML keys and plain strings
    made = [
        _merged(logins, CLAUDE_CONFIG, {"mcpServers": claude}),
        _merged(logins, GEMINI_SETTINGS, {"mcpServers": gemini}),
        LoginFile(COPILOT_MCP, _json({"mcpServers": copilot})),
        LoginFile(OPENCODE_CONFIG, _json({"mcp": opencode})),
        LoginFile(CODEX_CONFIG, codex.encode()),
    ]
    replaced = {f.path for f in made}
    return [f for f in logins if f.path not in replaced] + made
