"""The Firewall tab lists what each running MCP server's own firewall blocked, under the
session's own rows: bounded per server, names shown literally (a server asks for any name)."""

from __future__ import annotations

import io

from rich.console import Console

from container.firewall_model import BlockedDestination, FirewallStatus, RefusedName
from widgets.firewall_panel import SERVER_ROWS, blocked_table

HOSTILE = "[b]x[/y].example"


def text_of(status: FirewallStatus) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(blocked_table(status))
    return console.export_text()


def test_each_servers_blocked_destinations_are_listed_and_bounded() -> None:
    blocked = tuple(
        BlockedDestination(f"10.0.0.{i}", 4, "tcp", 443, 1, None) for i in range(SERVER_ROWS + 5)
    )
    server = FirewallStatus("fetch", "enforcing", blocked=blocked)
    names = FirewallStatus("docs", "enforcing", refused=(RefusedName(HOSTILE, 2, None),))
    broken = FirewallStatus("old", "failed", "no firewall.sh")
    text = text_of(FirewallStatus("s", "enforcing", servers=(server, names, broken)))
    assert "nothing blocked so far" in text  # the session's own
    assert text.count("MCP fetch: 10.0.0.") == SERVER_ROWS
    assert f"MCP docs: {HOSTILE} (DNS refused)" in text
    assert "MCP old: firewall failed no firewall.sh" in text
