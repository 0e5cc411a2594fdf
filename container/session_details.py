"""Reading a session's details from the engine: its mounts, image and one stats sample."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from container.agent_home import AGENT_HOME
from container.details_model import MountRow, SessionDetails
from container.image import image_state
from container.labels import SessionInfo

if TYPE_CHECKING:
    import docker


def read_details(client: docker.DockerClient, session: SessionInfo, image: str) -> SessionDetails:
    """Everything that could be read; a failure is said in `status_line`, never raised (the
    panel shows what it could gather). `image`: the configured image, for the stale check."""
    details = SessionDetails(session=session)
    try:
        attrs = client.api.inspect_container(session.id)
        for m in attrs.get("Mounts") or []:
            role = "dir" if m.get("Source") in session.mounts else "other"
            if m.get("Destination", "").startswith(AGENT_HOME + "/"):
                role = "login"
            elif "/.env" in m.get("Destination", ""):
                role = "env hidden"
            details.mounts.append(
                MountRow(m.get("Source", ""), m.get("Destination", ""), not m.get("RW", True), role)
            )
        found = client.api.inspect_image(attrs["Image"])
        details.image_id = found.get("Id", "")
        created = found.get("Created", "")[:19]
        if created:
            details.image_created = datetime.fromisoformat(created + "+00:00")
        if session.managed:
            details.image_stale = image_state(client, image).stale_reason()
        from container.mcp_host import read_servers

        details.mcp_servers, details.mcp_error = read_servers(client.api, session.name)
        if session.running:
            stats = client.api.stats(session.id, stream=False)
            details.cpu_percent = cpu_percent(stats)
            mem = stats.get("memory_stats") or {}
            details.memory_bytes = mem.get("usage")
            details.memory_limit = mem.get("limit")
    except Exception as exc:
        details.status_line = f"could not read everything: {exc}"
    return details


def cpu_percent(stats: dict[str, Any]) -> float | None:
    """CPU use between the two samples of one stats read (100 = one core)."""
    try:
        cpu, pre = stats["cpu_stats"], stats["precpu_stats"]
        delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system = cpu["system_cpu_usage"] - pre.get("system_cpu_usage", 0)
        cpus = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or [1])
        return 100.0 * delta / system * cpus if system > 0 else 0.0
    except (KeyError, TypeError, ZeroDivisionError):
        return None
