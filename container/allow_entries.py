"""Firewall allow-list entries as people type them: split, checked and normalized one way.

The CLI (`claudex firewall allow`, `--allow`), the dashboard's allow box and new-session form,
`.claudex.toml` and the config all go through here, so an entry means the same everywhere:

- one name per entry: text is split only on commas and newlines, so `not a domain` is one
  invalid entry, never the three names `not`, `a` and `domain`;
- a name is a host name (RFC 1123: letters, digits and inner hyphens per label, no `_`, no
  spaces), international names are written in punycode (IDNA, UTS #46 mapping as browsers
  do); `*.` in front is dropped (the firewall always allows a name with its subdomains);
- `IP[/prefix][:port]`, IPv6 with a port written `[IP[/prefix]]:port`;
- a public suffix (`com`, `co.uk`, `github.io`, or any single label such as `t`) would let
  every host under it through: it is refused unless the user confirms (`is_public`; the
  Public Suffix List comes from the `publicsuffixlist` package's bundled snapshot, offline).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from container.errors import UsageError

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

HINT = "e.g. example.com (also allows its subdomains), 10.0.0.5:8080, [2001:db8::1]:443"
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Entries as the session's firewall lists them (firewall.sh is more lenient than the host:
# an older session may hold `_` names): what tells a name from an IP entry when reading back.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")
_V4_RE = re.compile(r"[0-9.]+(?:/\d{1,2})?(?::\d+)?")
_V6_PORT_RE = re.compile(r"\[([0-9a-f:.]+(?:/\d{1,3})?)\]:(\d+)")


def split_entries(text: str) -> list[str]:
    """Entries typed in one box or argument: split on commas and newlines only."""
    return [e.strip() for e in re.split(r"[,\n]", text) if e.strip()]


def split_all(values: Iterable[str]) -> list[str]:
    """`split_entries` of each value (command-line arguments may hold `a.com,b.org`)."""
    return [e for v in values for e in split_entries(v)]


def normalize_entry(raw: str) -> str:
    """One allow entry in the form firewall.sh takes, or UsageError saying what is wrong."""
    text = raw.strip().lower()
    if not text:
        raise UsageError("empty allow entry", HINT)
    bracketed = _V6_PORT_RE.fullmatch(text)
    if bracketed:
        net = _network(bracketed.group(1), raw, version=6)
        return f"[{net}]:{_port(bracketed.group(2), raw)}"
    if text.count(":") >= 2:
        return _network(text, raw, version=6)
    if _V4_RE.fullmatch(text):
        address, _, port = text.partition(":")
        net = _network(address, raw, version=4)
        return f"{net}:{_port(port, raw)}" if port else net
    return hostname(raw)


def hostname(raw: str) -> str:
    """A host name in ASCII (punycode), lower case, without `*.` or the final dot."""
    text = raw.strip()
    name = text.removeprefix("*.").rstrip(".")
    why = _not_a_name(name)
    if why is None and not name.isascii():
        import idna

        try:
            name = idna.encode(name, uts46=True).decode()
        except idna.IDNAError as exc:
            why = f"not a valid international name ({exc})"
    name = name.lower()
    if why is None:
        why = _bad_labels(name)
    if why is not None:
        raise UsageError(f"{raw!r} is not a domain name nor IP[/prefix][:port]: {why}", HINT)
    return name


def _not_a_name(name: str) -> str | None:
    """What makes the text no host name, in words a person acts on (before IDNA)."""
    if "://" in name:
        return "give the host name only, without the scheme"
    if any(ch.isspace() for ch in name):
        return "it contains a space (one name per entry; separate names with commas)"
    if "/" in name:
        return "give the host name only, without a path"
    if ":" in name:
        return "a port can be given for IP addresses only (names allow every port)"
    if "_" in name:
        return "host names have no '_' (RFC 1123)"
    return None


def _bad_labels(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > 253:
        return "longer than 253 characters"
    for label in name.split("."):
        if not label:
            return "it has an empty label ('..')"
        if len(label) > 63:
            return f"the label {label[:20]}… is longer than 63 characters"
        if not _HOST_LABEL.fullmatch(label):
            return f"the label {label!r} is not letters, digits and inner hyphens"
        if label.startswith("xn--"):
            import idna

            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                return f"the label {label!r} is not valid punycode"
    if name.rsplit(".", 1)[-1].isdigit():
        return "the last label is all digits (an IP address?)"
    return None


def _network(text: str, raw: str, version: int) -> str:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise UsageError(f"{raw!r} is not a valid IPv{version} address or network", HINT) from None
    if net.version != version:
        raise UsageError(f"{raw!r} is not a valid IPv{version} address or network", HINT)
    full = net.prefixlen == net.max_prefixlen
    return str(net.network_address) if full else str(net)


def _port(text: str, raw: str) -> int:
    port = int(text) if text.isdigit() else 0
    if not 0 < port < 65536:
        raise UsageError(f"{raw!r}: port must be 1-65535")
    return port


def is_name(entry: str) -> bool:
    """A domain-name entry (as opposed to an IP entry), as the session lists it."""
    return bool(_DOMAIN_RE.fullmatch(entry)) and not _V4_RE.fullmatch(entry)


def merge_entries(*lists: Iterable[str]) -> list[str]:
    """Normalized entries of all lists, first occurrence kept, in order."""
    seen: dict[str, None] = {}
    for entries in lists:
        for raw in entries:
            seen.setdefault(normalize_entry(raw), None)
    return list(seen)


@cache
def _psl() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the bundled snapshot, ICANN and private sections


def is_public(entry: str) -> bool:
    """Is this normalized name a public suffix (names under it belong to many owners)? An
    unknown single label (`t`, `localhost`) counts as one: the list's default rule."""
    return is_name(entry) and bool(_psl().is_public(entry))


def public_suffixes(entries: Iterable[str]) -> list[str]:
    return [e for e in entries if is_public(e)]


def public_warning(names: Iterable[str]) -> str:
    """What allowing these public suffixes means, for the question or the refusal."""
    found = list(names)
    one = len(found) == 1
    what, it = ("is a public suffix", "it") if one else ("are public suffixes", "them")
    return (
        f"{', '.join(found)} {what} (the names under {it} belong to different owners): "
        f"allowing {it} lets the agent reach every host under {it}"
    )


FORCE_HINT = "name the hosts the agent needs (e.g. api.example.com), or add --force if you mean it"
FILE_HINT = (
    "name the hosts the agent needs (e.g. api.example.com); a suffix can only be allowed in a "
    "running session, confirmed (`claudex firewall allow NAME ENTRY --force`)"
)


def refuse_public(entries: Iterable[str], where: str = "", hint: str = FILE_HINT) -> None:
    """UsageError when any entry is a public suffix (unless the caller had it confirmed)."""
    found = public_suffixes(entries)
    if found:
        prefix = f"{where}: " if where else ""
        raise UsageError(f"{prefix}refused: {public_warning(found)}", hint)


@dataclass
class Checked:
    """Typed text, checked: what would be added, what is wrong, which entries are suffixes."""

    entries: list[str] = field(default_factory=list)
    """Normalized, each once, in the order typed."""
    invalid: list[UsageError] = field(default_factory=list)
    public: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.entries) and not self.invalid


def check_text(text: str) -> Checked:
    """Everything wrong with a box's text at once (not only the first bad entry)."""
    checked = Checked()
    for raw in split_entries(text):
        try:
            entry = normalize_entry(raw)
        except UsageError as exc:
            checked.invalid.append(exc)
            continue
        if entry not in checked.entries:
            checked.entries.append(entry)
    checked.public = public_suffixes(checked.entries)
    return checked
