"""A session's MCP broker, from the host's side (see the README's design): a container of the
session image that alone holds the engine's socket, and a volume for its socket that the session
mounts read-only. Both are made with the session, started with it, and removed with it. What
the broker may start is written here, by the host, into the broker's own environment: the agent
cannot see or change it."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from container.details_model import McpServerRow
from container.engine import engine_errors

if TYPE_CHECKING:
    from docker import APIClient

BROKER_DIR = "/run/claudex-mcp"
BROKER_SCRIPT = "/usr/local/lib/claudex/mcp_broker.py"
ENGINE_SOCKET = "/var/run/docker.sock"  # the engine's own, on the engine's machine
BROKER_OF = "com.claudex.mcp-broker-of"


def broker_name(session: str) -> str:
    return f"{session}-mcp-broker"


def volume_name(session: str) -> str:
    return f"{session}-mcp"


def server_specs(
    servers: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The broker's view of the config's `[mcp.NAME]` servers: image, command, environment
    values (names set on the host), bind mounts (read-only unless rw), its egress allow list
    (empty: no network at all)."""
    environ = os.environ if environ is None else environ
    specs: dict[str, dict[str, Any]] = {}
    for name, server in servers.items():
        specs[name] = {
            "image": server.image,
            "command": list(server.command),
            "env": [f"{k}={environ[k]}" for k in server.env if k in environ],
            "binds": [f"{m.path}:{m.path}:{'rw' if m.rw else 'ro'}" for m in server.mounts],
            "allow": list(server.allow),
        }
    return specs


def session_mount(session: str) -> Any:
    """The broker's socket volume as the session sees it: read-only (a socket still connects)."""
    from docker.types import Mount

    return Mount(target=BROKER_DIR, source=volume_name(session), type="volume", read_only=True)


def create_broker(
    api: APIClient,
    session: str,
    image: str,
    specs: Mapping[str, Any],
    labels: dict[str, str],
    network: str,
) -> None:
    """The volume and the broker container for `session` (created, not started). A server
    with an allow list runs behind a firewall container of `image` on `network` (the
    session's), which the broker starts for each run."""
    from docker.types import Mount

    with engine_errors(f"creating the MCP broker of {session}"):
        api.create_volume(volume_name(session), labels={**labels, BROKER_OF: session})
        host_config = api.create_host_config(
            mounts=[
                Mount(target=ENGINE_SOCKET, source=ENGINE_SOCKET, type="bind"),
                Mount(target=BROKER_DIR, source=volume_name(session), type="volume"),
            ],
            network_mode="none",
            cap_drop=["ALL"],  # root only as the owner of the socket and its own volume
            security_opt=["no-new-privileges:true"],
            init=True,
        )
        api.create_container(
            image=image,
            name=broker_name(session),
            entrypoint=["python3", "-I", "-B", BROKER_SCRIPT],
            environment={
                "CLAUDEX_MCP_SERVERS": json.dumps(
                    {
                        k: {**v, "network": network} if v.get("allow") else v
                        for k, v in specs.items()
                    }
                ),
                "CLAUDEX_MCP_IMAGE": image,
                "CLAUDEX_MCP_SESSION": session,
            },
            labels={**labels, BROKER_OF: session},
            host_config=host_config,
        )


def start_broker(api: APIClient, session: str) -> None:
    """Start the session's broker if it has one (a no-op for sessions without)."""
    from docker.errors import NotFound

    with engine_errors(f"starting the MCP broker of {session}"):
        try:
            api.start(broker_name(session))
        except NotFound:
            return


def remove_broker(api: APIClient, session: str) -> None:
    """The broker, its servers and its volume: gone with the session."""
    with contextlib.suppress(Exception):
        for c in api.containers(all=True, filters={"label": f"com.claudex.mcp-of={session}"}):
            api.remove_container(c["Id"], force=True)
    with contextlib.suppress(Exception):
        found = api.containers(all=True, filters={"label": f"{BROKER_OF}={session}"})
        for c in found:
            api.remove_container(c["Id"], force=True, v=True)
    with contextlib.suppress(Exception):
        api.remove_volume(volume_name(session), force=True)


LOG_TAIL = 50  # broker log lines read for the last error
ERROR_LIMIT = 200  # characters of it shown


def read_servers(api: APIClient, session: str) -> tuple[list[McpServerRow], str]:
    """The session's MCP servers (from its broker's environment, which the host wrote: the
    agent cannot change it), how many runs of each are up, and the broker's last refusal or
    error; nothing for a session without a broker."""
    from docker.errors import NotFound

    try:
        broker = api.inspect_container(broker_name(session))
    except NotFound:
        return [], ""
    env = dict(e.partition("=")[::2] for e in broker.get("Config", {}).get("Env") or [])
    specs = json.loads(env.get("CLAUDEX_MCP_SERVERS") or "{}")
    running: dict[str, int] = {}
    for c in api.containers(filters={"label": f"com.claudex.mcp-of={session}"}):
        name = (c.get("Labels") or {}).get("com.claudex.mcp-server")
        if name:
            running[name] = running.get(name, 0) + 1
    rows = [
        McpServerRow(n, str(s.get("image", "")), list(s.get("allow", [])), running.get(n, 0))
        for n, s in sorted(specs.items())
    ]
    logs = api.logs(broker_name(session), stdout=True, stderr=True, tail=LOG_TAIL)
    return rows, last_error(logs[-65536:].decode(errors="replace"))


def last_error(log: str) -> str:
    """The last `refused: ...` or `error: ...` line of a broker's log, printable only and
    capped (the requests it refuses came from the agent)."""
    for line in reversed(log.splitlines()):
        if line.startswith(("refused: ", "error")):
            return "".join(ch for ch in line if ch.isprintable())[:ERROR_LIMIT]
    return ""
