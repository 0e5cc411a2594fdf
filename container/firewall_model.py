"""A session firewall's state as pure data, and the parser of `firewall.sh status`.

The status is bounded whatever the agent does (blocked destinations and refused names are
capped and aggregated in the container) and every string in it is made printable here, before
anyone shows it. The dashboard's firewall panel imports this, never `container.firewall`
(which runs `firewall.sh` in the session).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from container.allow_entries import is_name

BLOCK_TIMEOUT = 2147483  # firewall.sh: remaining timeout of a blocked entry dates its last hit
BLOCK_MAX = 1024  # firewall.sh: blocked destinations kept per address family
REFUSED_KEEP = 1000  # dns_refused.py: refused names kept (the most recent)
DOCKER_DNS = "127.0.0.11"

ENFORCING = "enforcing"
UNRESTRICTED = "unrestricted"
FAILED = "failed"
BROKEN = "broken"
OFF = "off"
STOPPED = "stopped"
STARTING = "starting"


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
    servers: tuple[FirewallStatus, ...] = ()
    """The firewalls of the session's MCP servers running now (`session`: the server's name)."""

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
            "mcp_servers": [s.as_json() for s in self.servers],
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
