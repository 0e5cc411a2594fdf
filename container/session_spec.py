"""What a new session's container is made of: the request, and from it the labels that
identify it, the environment its init reads, and the engine's host config (capabilities,
mounts, limits)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from container import labels
from container.image import DEFAULT_IMAGE
from container.mounts import MountPlan
from container.naming import signature, slug
from container.version import __version__

# Every capability a session keeps: root's file work in the init, dropping to the agent's uid.
CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "SETPCAP", "KILL"]


@dataclass
class StartRequest:
    """What `claudex [DIRS]` asks for."""

    plan: MountPlan
    name: str | None = None
    agent: str = "claude"
    parallel: bool = False
    replace: bool = False
    strict_mounts: bool = False
    host_network: bool = False
    network: str | None = None
    git: bool = True
    allow: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    image: str = DEFAULT_IMAGE
    memory: str | None = None
    cpus: float | None = None
    firewall: bool = True
    isolated: dict[str, str] = field(default_factory=dict)
    """User directory -> the session's own copy of it (`--isolated`, container.isolated)."""
    mcp: dict[str, Any] = field(default_factory=dict)
    """MCP servers the session's broker may start (container.mcp_host.server_specs)."""


def spec_labels(req: StartRequest) -> dict[str, str]:
    plan = req.plan
    network_mode = labels.HOST_NETWORK if req.host_network else labels.FIREWALLED
    if not req.host_network and not req.firewall:
        network_mode = "open"  # only for measurements (tests/perf); never from the CLI
    return {
        labels.SIGNATURE: signature(plan.dirs),
        labels.SLUG: slug(plan.dirs),
        labels.MOUNTS: json.dumps(plan.dirs),
        labels.VERSION: __version__,
        labels.MANAGED: labels.MANAGED_VALUE,
        labels.AGENT: req.agent,
        labels.NETWORK_MODE: network_mode,
        labels.READ_ONLY: json.dumps(plan.read_only_dirs),
        labels.GIT: "on" if req.git else "off",
        labels.PARALLEL: "1" if req.parallel else "0",
        labels.AGENT_UID: f"{plan.uid}:{plan.gid}",
        labels.DOCKER_SOCKET: "1" if _has_docker_socket(plan) else "0",
        labels.AGENT_HOME: "shared" if shares_agent_home(plan) else "own",
        **({labels.ISOLATED: json.dumps(req.isolated)} if req.isolated else {}),
    }


def spec_env(req: StartRequest, base: str) -> dict[str, str]:
    from container.firewall import start_env  # only when creating: `claudex list` stays light

    plan = req.plan
    env = {
        **req.env,
        "CLAUDEX_AGENT_UID": str(plan.uid),
        "CLAUDEX_AGENT_GID": str(plan.gid),
        "CLAUDEX_AGENT": req.agent,
        "CLAUDEX_FIREWALL": "on" if req.firewall and not req.host_network else "off",
        # Seeds the session's allow list on its first start; later edits live in the container.
        "CLAUDEX_ALLOW": start_env(req.allow),
        "CLAUDEX_SESSION": base,
    }
    if _has_docker_socket(plan):
        env["CLAUDEX_DOCKER_GID"] = str(os.stat("/var/run/docker.sock").st_gid)
    return env


def spec_host_config(req: StartRequest) -> dict[str, Any]:
    """The arguments of the engine's host config, but the session's own network (the caller
    makes sure it exists)."""
    caps = list(CAPS)
    if not req.host_network:
        # Only ever inside the session's own network namespace: never with the host's.
        caps += ["NET_ADMIN", "NET_RAW"]
    args: dict[str, Any] = {
        "mounts": [_docker_mount(m) for m in req.plan.mounts],
        "init": True,
        "cap_drop": ["ALL"],
        "cap_add": caps,
        "security_opt": ["no-new-privileges:true"],
        "tmpfs": {"/run/claudex": "mode=0755,size=1m"},
    }
    if req.host_network:
        args["network_mode"] = "host"
    if req.memory:
        args["mem_limit"] = req.memory
    if req.cpus:
        args["nano_cpus"] = int(req.cpus * 1e9)
    return args


def shares_agent_home(plan: MountPlan) -> bool:
    """The host's own agent logins are mounted (read-write), not copied into the session."""
    return any(m.role == "login" for m in plan.mounts)


def _has_docker_socket(plan: MountPlan) -> bool:
    return any(m.role == "docker-socket" for m in plan.mounts)


def _docker_mount(spec: Any) -> Any:
    from docker.types import Mount

    return Mount(target=spec.target, source=spec.source, type="bind", read_only=spec.read_only)
