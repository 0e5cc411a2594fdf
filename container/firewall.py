"""The session firewall seen from the host: allow-list entries, status models, live edits.

The rules themselves live in the container (context/claudex/firewall.sh). This module
validates entries, reads a session's firewall state with one `docker exec`, and edits the
allow list live. The state it returns, and the parser of `firewall.sh status`, are pure data
in container/firewall_model.py (what the dashboard's firewall panel imports).

The state is read from the kernel, not from a file: `firewall.sh status` compares the live
rules, ipsets, dnsmasq process and resolv.conf with what the last apply/edit loaded, and any
difference is mode BROKEN with what differs. Its output is bounded whatever the agent does
(blocked destinations and refused names are capped and aggregated in the container), read
with a size cap here, and every string in it is made printable before anyone shows it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from container import labels
from container.allow_entries import is_name, merge_entries, refuse_public
from container.engine import engine_errors
from container.errors import ClaudexError, SessionNotRunning, UsageError
from container.firewall_model import (
    BROKEN,
    ENFORCING,
    FAILED,
    OFF,
    STARTING,
    STOPPED,
    UNRESTRICTED,
    FirewallStatus,
    parse_status,
    printable,
)
from container.host_entries import HostFS
from container.local_fs import LOCAL

if TYPE_CHECKING:
    import docker

SCRIPT = "/usr/local/lib/claudex/firewall.sh"
PROJECT_FILE = ".claudex.toml"
OUTPUT_LIMIT = 4 << 20  # bytes of `firewall.sh status` read; its output is far smaller

# What the agents need to work. A name also allows its subdomains.
DEFAULT_ALLOW: tuple[str, ...] = (
    # Anthropic: API, login, console, telemetry
    "api.anthropic.com",
    "console.anthropic.com",
    "statsig.anthropic.com",
    "claude.ai",
    "platform.claude.com",
    # OpenAI: API and login
    "api.openai.com",
    "auth.openai.com",
    "chatgpt.com",
    # Google: Gemini API, Code Assist (Gemini CLI's Google login), OAuth, usage statistics
    "generativelanguage.googleapis.com",
    "cloudcode-pa.googleapis.com",
    "oauth2.googleapis.com",
    "accounts.google.com",
    "play.googleapis.com",
    # GitHub Copilot: its API (api., api.individual., api.business., telemetry.) and proxy
    "githubcopilot.com",
    "copilot-proxy.githubusercontent.com",
    # opencode: its model list and its own models (OpenCode Zen)
    "models.dev",
    "opencode.ai",
    # error reports of the CLIs
    "sentry.io",
    # GitHub
    "github.com",
    "api.github.com",
    "codeload.github.com",
    "objects.githubusercontent.com",
    "raw.githubusercontent.com",
    # package registries
    "registry.npmjs.org",
    "pypi.org",
    "files.pythonhosted.org",
    "deb.debian.org",
    "security.debian.org",
)


# -- entries ------------------------------------------------------------------------------------
# Checked and normalized in container.allow_entries (one way for the CLI, forms and files).


def covering_name(name: str, entries: Iterable[str]) -> str | None:
    """The allowed name that lets `name` through (itself or a parent domain), if any."""
    for entry in entries:
        if is_name(entry) and (name == entry or name.endswith("." + entry)):
            return entry
    return None


# -- per-project allow entries (.claudex.toml in a mounted directory) ---------------------------


@dataclass(frozen=True)
class ProjectAllow:
    """The allow entries a repository asks for; used only once the user confirmed them."""

    path: Path
    entries: tuple[str, ...]
    host: str = ""  # "engine NAME" for another machine's file; "" for this machine's

    @property
    def where(self) -> str:
        """The file, named for the user."""
        return f"{self.path} on {self.host}" if self.host else str(self.path)

    @property
    def asks(self) -> str:
        """What the file asks for, as the question to the user says it."""
        return f"asks the firewall to allow: {', '.join(self.entries)}"

    @property
    def instead(self) -> str:
        """The other way to get it without confirming the file."""
        return "add them with --allow or in the new-session form's Allow"

    @property
    def key(self) -> str:
        """What the user's trust is remembered under: the same path on two hosts is two files."""
        return f"{self.host}:{self.path}" if self.host else str(self.path)

    @property
    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.entries).encode()).hexdigest()[:16]


def read_project_allow(dirs: Iterable[str], fs: HostFS = LOCAL) -> list[ProjectAllow]:
    """`[firewall] allow = [...]` of each mounted directory's .claudex.toml (on the engine's
    host: `fs`)."""
    found = []
    for d in dirs:
        path = Path(d) / PROJECT_FILE
        try:
            # Regular files only, size-capped, never waiting (the agent can write this file:
            # a FIFO here must not hang the next `claudex DIR`).
            text = fs.read_text(str(path))
            if text is None:
                continue
            data = tomllib.loads(text)
        except (OSError, ClaudexError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            why = printable(why.removeprefix(f"{path}: "))
            raise ClaudexError(
                f"{path}: cannot be read: {why}", f"fix or remove {PROJECT_FILE}"
            ) from None
        section = data.get("firewall", {})
        raw = section.get("allow", []) if isinstance(section, dict) else None
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise ClaudexError(
                f"{path}: firewall.allow must be a list of strings",
                'e.g. [firewall]\\nallow = ["example.com"]',
            )
        try:
            entries = merge_entries(raw)
            refuse_public(entries)  # a file cannot be asked; the user names the hosts
        except UsageError as exc:
            raise ClaudexError(f"{path}: firewall.allow: {exc.message}", exc.hint) from None
        if entries:
            found.append(ProjectAllow(path, tuple(entries), fs.label if fs.remote else ""))
    return found


def _trust_file() -> Path:
    from container.state import state_dir

    return state_dir() / "trusted-allow.json"


def is_trusted(project: ProjectAllow) -> bool:
    """The user confirmed exactly these entries of this file before."""
    try:
        data = json.loads(_trust_file().read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get(project.key) == project.digest


def trust(project: ProjectAllow) -> None:
    path = _trust_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data[project.key] = project.digest
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


# -- engine I/O ---------------------------------------------------------------------------------


def _exec(client: docker.DockerClient, container_id: str, cmd: Sequence[str]) -> tuple[int, str]:
    """Run as root in the session; exit code and combined output (at most OUTPUT_LIMIT)."""
    api = client.api
    with engine_errors("talking to the session's firewall"):
        exec_id = api.exec_create(container_id, list(cmd), user="root", workdir="/")["Id"]
        output = bytearray()
        stream = api.exec_start(exec_id, stream=True)
        try:
            for chunk in stream:
                output += chunk
                if len(output) >= OUTPUT_LIMIT:
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        if len(output) >= OUTPUT_LIMIT:
            return 1, f"more than {OUTPUT_LIMIT >> 20} MiB of output from {cmd[0]}"
        code = api.exec_inspect(exec_id).get("ExitCode")
    return (code if isinstance(code, int) else 1), output.decode(errors="replace")


def _env(client: docker.DockerClient, session: labels.SessionInfo) -> dict[str, str]:
    with engine_errors(f"inspecting {session.name}"):
        attrs = client.api.inspect_container(session.id)
    env = (attrs.get("Config") or {}).get("Env") or []
    return dict(item.split("=", 1) for item in env if "=" in item)


_MADE_WITH: dict[str, bool] = {}  # container id -> created with the firewall (never changes)


def _made_with_firewall(client: docker.DockerClient, session: labels.SessionInfo) -> bool:
    """From the container's create-time environment, read once per container: the dashboard
    checks every session every few seconds and each inspect is a request."""
    made = _MADE_WITH.get(session.id)
    if made is None:
        made = _env(client, session).get("CLAUDEX_FIREWALL") == "on"
        if len(_MADE_WITH) > 1024:
            _MADE_WITH.clear()
        _MADE_WITH[session.id] = made
    return made


def read_status(
    client: docker.DockerClient, session: labels.SessionInfo, *, brief: bool = False
) -> FirewallStatus:
    """The firewall state of one session: one inspect and, when it runs, one exec.

    `brief`: the mode and reason only (the live check without the lists), for watching
    many sessions.
    """
    if session.network_mode == labels.HOST_NETWORK:
        return FirewallStatus(
            session.name, UNRESTRICTED, "host network: the session shares the host's network"
        )
    if not _made_with_firewall(client, session):
        return FirewallStatus(session.name, OFF, "this session was created without a firewall")
    if not session.running:
        return FirewallStatus(session.name, STOPPED, f"the session is {session.state}")
    code, out = _exec(client, session.id, [SCRIPT, "status", *(["mode"] if brief else [])])
    if code != 0:
        reason = printable(_last_line(out)[:500]) or f"exit code {code}"
        return FirewallStatus(session.name, FAILED, reason)
    status = parse_status(session.name, out)
    if status.mode == OFF:
        # Not applied (yet): init.sh is before that step, or failed without firewall.sh.
        _, init = _exec(client, session.id, ["head", "-c", "4096", "/run/claudex/status"])
        init = printable(init.strip())
        if init.startswith("failed:"):
            return FirewallStatus(session.name, FAILED, init.removeprefix("failed:").strip())
        if init == "ready":
            # The agent was started, so the firewall had been applied: its state is gone.
            return FirewallStatus(
                session.name, BROKEN, "the agent runs but no firewall state is left in place"
            )
        return FirewallStatus(session.name, STARTING, init or "not applied yet")
    if brief:
        return status
    return dataclasses.replace(status, servers=tuple(_mcp_statuses(client, session.name)))


MCP_FIREWALL = "com.claudex.mcp-firewall"  # the broker's label: the server NAME it guards
MCP_SHOWN = 8  # server firewalls read (the broker runs at most 8 servers at once)


def _mcp_statuses(client: docker.DockerClient, session: str) -> list[FirewallStatus]:
    """The firewalls of the session's MCP servers running now (their containers are claudex's
    image; the servers share only their network namespace, never their files)."""
    with engine_errors(f"listing the MCP servers of {session}"):
        found = client.api.containers(
            filters={"label": [f"com.claudex.mcp-of={session}", MCP_FIREWALL]}
        )
    statuses = []
    for c in found[:MCP_SHOWN]:
        name = printable((c.get("Labels") or {}).get(MCP_FIREWALL, "")[:40])
        code, out = _exec(client, c["Id"], [SCRIPT, "status"])
        if code != 0:
            reason = printable(_last_line(out)[:500]) or f"exit code {code}"
            statuses.append(FirewallStatus(name, FAILED, reason))
        else:
            statuses.append(parse_status(name, out))
    return statuses


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("firewall: ") if lines else ""


def _editable(client: docker.DockerClient, session: labels.SessionInfo) -> FirewallStatus:
    if session.network_mode == labels.HOST_NETWORK:
        raise ClaudexError(
            f"session {session.name} uses the host network: it has no firewall to edit",
            "recreate it without --host-network to have one",
        )
    if not session.running:
        raise SessionNotRunning(
            f"session {session.name} is {session.state}; its firewall is edited while it runs",
            f"start it first (`claudex --name {session.name}` or the dashboard)",
        )
    status = read_status(client, session)
    if status.mode != ENFORCING:
        raise ClaudexError(
            f"the firewall of {session.name} is {status.mode}"
            + (f" ({status.reason})" if status.reason else ""),
            "only an enforcing firewall is edited live",
        )
    return status


def allow(
    client: docker.DockerClient,
    session: labels.SessionInfo,
    entries: Iterable[str],
    *,
    force: bool = False,
) -> list[str]:
    """Add entries to a running session's allow list, effective at once; the ones added.
    A public suffix (`com`, `github.io`) is refused unless `force` (the user confirmed)."""
    wanted = merge_entries(entries)
    if not force:
        refuse_public(wanted)
    status = _editable(client, session)
    new = [e for e in wanted if e not in status.allow]
    if new:
        _edit(client, session, "allow", new)
    return new


def deny(
    client: docker.DockerClient, session: labels.SessionInfo, entries: Iterable[str]
) -> list[str]:
    """Take entries out of a running session's allow list, effective at once."""
    wanted = merge_entries(entries)
    status = _editable(client, session)
    current = status.allow
    for entry in wanted:
        if entry in current:
            continue
        parent = covering_name(entry, current) if is_name(entry) else None
        if parent:
            raise UsageError(
                f"{entry} is not in the allow list of {session.name}; it is allowed "
                f"through {parent}",
                f"deny {parent} (and allow the other names you need under it)",
            )
        raise UsageError(
            f"{entry} is not in the allow list of {session.name}",
            f"see `claudex firewall status {session.name}`",
        )
    _edit(client, session, "deny", wanted)
    return wanted


def _edit(
    client: docker.DockerClient, session: labels.SessionInfo, op: str, entries: list[str]
) -> None:
    code, out = _exec(client, session.id, [SCRIPT, op, *entries])
    if code != 0:
        raise ClaudexError(
            f"the firewall of {session.name} refused the change: {_last_line(out)}",
            "the rules stay default-deny; see `claudex firewall status`",
        )


def start_env(entries: Sequence[str]) -> str:
    """The CLAUDEX_ALLOW value a new session is created with (firewall.sh seeds from it)."""
    return ",".join(merge_entries(entries))
