"""The session firewall seen from the host: allow-list entries, status models, live edits.

The rules themselves live in the container (context/claudex/firewall.sh). This module
validates entries, reads a session's firewall state with one `docker exec`, and edits the
allow list live. The dataclasses are pure data for the dashboard's firewall panel; only the
functions taking a docker client do I/O.

The state is read from the kernel, not from a file: `firewall.sh status` compares the live
rules, ipsets, dnsmasq process and resolv.conf with what the last apply/edit loaded, and any
difference is mode BROKEN with what differs. Its output is bounded whatever the agent does
(blocked destinations and refused names are capped and aggregated in the container), read
with a size cap here, and every string in it is made printable before anyone shows it.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container import labels
from container.allow_entries import is_name, merge_entries, refuse_public
from container.allow_entries import normalize_entry as normalize_entry  # re-exported
from container.engine import engine_errors
from container.errors import ClaudexError, SessionNotRunning, UsageError
from container.host_entries import HostFS
from container.local_fs import LOCAL

if TYPE_CHECKING:
    import docker

SCRIPT = "/usr/local/lib/claudex/firewall.sh"
PROJECT_FILE = ".claudex.toml"
BLOCK_TIMEOUT = 2147483  # firewall.sh: remaining timeout of a blocked entry dates its last hit
BLOCK_MAX = 1024  # firewall.sh: blocked destinations kept per address family
REFUSED_KEEP = 1000  # dns_refused.py: refused names kept (the most recent)
OUTPUT_LIMIT = 4 << 20  # bytes of `firewall.sh status` read; its output is far smaller
DOCKER_DNS = "127.0.0.11"

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
    # error reports of both CLIs
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

ENFORCING = "enforcing"
UNRESTRICTED = "unrestricted"
FAILED = "failed"
BROKEN = "broken"
OFF = "off"
STOPPED = "stopped"
STARTING = "starting"

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


# -- status (pure data for the CLI and the dashboard) -------------------------------------------


@dataclass(frozen=True)
class AllowedName:
    """An allowed name and the addresses its DNS answers admitted so far."""

    name: str
    addresses: tuple[str, ...] = ()
    more: int = 0
    """Admitted addresses beyond the ones listed (status lists a bounded number)."""


@dataclass(frozen=True)
class BlockedDestination:
    """Packets rejected to one address/protocol/port: how many, the last one when."""

    address: str
    family: int
    protocol: str
    port: int | None
    count: int
    last: datetime | None

    @property
    def target(self) -> str:
        host = f"[{self.address}]" if self.family == 6 and self.port is not None else self.address
        return f"{host}:{self.port}" if self.port is not None else self.address


@dataclass(frozen=True)
class RefusedName:
    """A name the firewall's DNS refused to resolve: how often, the last time when."""

    name: str
    count: int
    last: datetime | None


@dataclass(frozen=True)
class FirewallStatus:
    """Everything the firewall panel shows for one session."""

    session: str
    mode: str
    """enforcing | broken (live rules differ from the applied ones) | unrestricted (host
    network) | failed | off | stopped | starting"""
    reason: str = ""
    names: tuple[AllowedName, ...] = ()
    networks: tuple[str, ...] = ()
    """IP[/prefix][:port] entries."""
    blocked: tuple[BlockedDestination, ...] = ()
    """Most recent first."""
    refused: tuple[RefusedName, ...] = ()
    """Most recent first, at most REFUSED_KEEP."""
    checked: datetime | None = None
    refused_total: int = 0
    """Refusals counted, including names no longer kept."""
    refused_others: int = 0
    """Names dropped to keep at most REFUSED_KEEP."""
    rejected: int = 0
    """Packets rejected in all (the listed destinations and any no longer kept)."""

    @property
    def allow(self) -> list[str]:
        """The allow list as the session keeps it (names, then IP entries)."""
        return [n.name for n in self.names] + list(self.networks)

    def as_json(self) -> dict[str, Any]:
        def when(t: datetime | None) -> str | None:
            return t.isoformat(timespec="seconds") if t else None

        return {
            "session": self.session,
            "mode": self.mode,
            "reason": self.reason,
            "allowed": [
                {"name": n.name, "addresses": list(n.addresses), "more_addresses": n.more}
                for n in self.names
            ],
            "networks": list(self.networks),
            "blocked": [
                {
                    "address": b.address,
                    "family": b.family,
                    "protocol": b.protocol,
                    "port": b.port,
                    "count": b.count,
                    "last": when(b.last),
                }
                for b in self.blocked
            ],
            "rejected_packets": self.rejected,
            "refused_names": [
                {"name": r.name, "count": r.count, "last": when(r.last)} for r in self.refused
            ],
            "refused_total": self.refused_total,
            "refused_other_names": self.refused_others,
        }


def printable(text: str) -> str:
    """`text` with every control or format character (escapes, bidi overrides, C1) written
    as `\\xNN`/`\\uNNNN`: names the agent chose reach no terminal raw."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    return "".join(out)


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.split("\n"):  # not splitlines: \x1c, \x85, U+2028 are no line ends
        line = printable(line)
        m = re.fullmatch(r"\[(\w+)\]", line.strip())
        if m:
            current = out.setdefault(m.group(1), [])
        elif current is not None and line.strip():
            current.append(line.strip())
    return out


def _blocked_entry(
    family: int, member: str, count: int, last: datetime | None
) -> BlockedDestination:
    address, _, proto_port = member.rpartition(",")
    proto, _, port_text = proto_port.partition(":")
    port: int | None = int(port_text) if port_text.isdigit() else None
    if proto not in ("tcp", "udp", "sctp", "udplite"):
        port = None  # icmp type/code, or a protocol without ports
    if address == DOCKER_DNS:
        port = 53  # the engine DNATs it to a random port; 53 is what was asked for
    return BlockedDestination(address, family, proto, port, count, last)


def _int(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 20 else 0


def parse_status(session: str, text: str) -> FirewallStatus:
    """Turn `firewall.sh status` output into a FirewallStatus."""
    sec = _sections(text)
    mode_line = (sec.get("mode") or [OFF])[0]
    mode, _, reason = mode_line.partition(":")
    mode = mode.strip() or OFF
    reason = reason.strip()
    if mode == ENFORCING and "checked" not in sec:
        # An image from before the live check: its firewall.sh reads the mode from a file.
        reason = (
            "read from a file, not checked against the live rules: this session's image is "
            "older than claudex (`claudex build`, then restart the session)"
        )
    now_text = (sec.get("now") or ["0"])[0]
    now = datetime.fromtimestamp(_int(now_text), UTC) if now_text.isdigit() else datetime.now(UTC)
    allow: list[str] = []
    for line in sec.get("allow", []):
        entry = line.split("#", 1)[0].strip()
        if entry:
            allow.append(entry)
    set_owner: dict[str, str] = {}
    for line in sec.get("sets", []):
        parts = line.split()
        for set_name in parts[1:]:
            set_owner[set_name] = parts[0]
    addresses: dict[str, list[str]] = {}
    more: dict[str, int] = {}
    # cx-blocked4/6 count rejected packets per destination; cx-last4/6 date the last one
    # (the remaining part of a timeout refreshed on every hit).
    counts: dict[tuple[int, str], int] = {}
    lasts: dict[tuple[int, str], datetime] = {}
    for line in sec.get("ipset", []):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "more" and parts[1] in set_owner:
            owner = set_owner[parts[1]]
            more[owner] = more.get(owner, 0) + _int(parts[2])
            continue
        if len(parts) < 3 or parts[0] != "add":
            continue
        set_name, member = parts[1], parts[2]
        opts = dict(zip(parts[3::2], parts[4::2], strict=False))
        key = (6 if set_name.endswith("6") else 4, member)
        if set_name.startswith("cx-blocked"):
            counts[key] = _int(opts.get("packets", "0"))
        elif set_name.startswith("cx-last") and opts.get("timeout", "").isdigit():
            age = max(0, BLOCK_TIMEOUT - _int(opts["timeout"]))
            lasts[key] = now - timedelta(seconds=age)
        elif set_name in set_owner:
            addresses.setdefault(set_owner[set_name], []).append(member)
    blocked = [
        _blocked_entry(fam, member, counts.get((fam, member), 1), lasts.get((fam, member)))
        for fam, member in {**dict.fromkeys(counts), **dict.fromkeys(lasts)}
    ]
    rejected = sum(_int(p[1]) for p in (x.split() for x in sec.get("rejected", [])) if len(p) == 2)
    refused, totals = _refused(sec.get("refused", []))
    epoch = datetime.min.replace(tzinfo=UTC)
    return FirewallStatus(
        session=session,
        mode=mode,
        reason=reason,
        names=tuple(
            AllowedName(e, tuple(sorted(set(addresses.get(e, [])))), more.get(e, 0))
            for e in allow
            if is_name(e)
        ),
        networks=tuple(e for e in allow if not is_name(e)),
        blocked=tuple(sorted(blocked, key=lambda b: (b.last or epoch, b.count), reverse=True)),
        refused=tuple(sorted(refused, key=lambda r: (r.last or epoch, r.count), reverse=True)),
        checked=now,
        refused_total=totals.get("total", 0),
        refused_others=totals.get("others", 0),
        rejected=rejected,
    )


def _refused(lines: list[str]) -> tuple[list[RefusedName], dict[str, int]]:
    """dns_refused.py's summary: `total N`, `others N`, then `COUNT EPOCH NAME` rows."""
    rows: list[RefusedName] = []
    totals: dict[str, int] = {}
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) == 2 and parts[0] in ("total", "others"):
            totals[parts[0]] = _int(parts[1])
        elif len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit() and parts[2]:
            when = datetime.fromtimestamp(min(_int(parts[1]), 2**33), UTC)
            rows.append(RefusedName(parts[2][:256], _int(parts[0]), when))
        if len(rows) >= REFUSED_KEEP:
            break
    return rows, totals


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
    if _env(client, session).get("CLAUDEX_FIREWALL") != "on":
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
    return status


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
