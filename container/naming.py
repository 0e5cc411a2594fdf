"""Session identity, compatible with the Go tool: signature, slug and container name."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

SLUG_MAX = 24
DEFAULT_PREFIX = "claudex"


def signature(dirs: Sequence[str], salt: str | None = None) -> str:
    """First 8 hex of sha256 over one `"<path>\\n"` line per sorted dir (`"<salt>|"` prefixed)."""
    if salt is None:
        salt = os.environ.get("CLAUDEX_NAME_SALT") or ""
    prefix = f"{salt}|" if salt else ""
    data = "".join(f"{prefix}{path}\n" for path in sorted(dirs))
    return hashlib.sha256(data.encode()).hexdigest()[:8]


def kebab(text: str) -> str:
    """Lower-case words joined by single dashes (`My_Project.v2` -> `my-project-v2`)."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def slug(dirs: Sequence[str]) -> str:
    """Kebab-case basenames of the first two sorted dirs, joined by `-`, cut to 24 chars."""
    parts = [kebab(Path(d).name) for d in sorted(dirs)[:2]]
    joined = "-".join(p for p in parts if p)
    return joined[:SLUG_MAX].strip("-") or "root"


def session_name(dirs: Sequence[str], prefix: str | None = None, salt: str | None = None) -> str:
    """`<prefix>-<slug>-<signature>`; prefix from CLAUDEX_NAME_PREFIX, else `claudex`."""
    if prefix is None:
        prefix = os.environ.get("CLAUDEX_NAME_PREFIX") or DEFAULT_PREFIX
    return f"{prefix}-{slug(dirs)}-{signature(dirs, salt)}"


def parallel_name(base: str, taken: Iterable[str]) -> str:
    """The first `<base>-N` (N >= 2) that no existing container uses."""
    used = set(taken)
    n = 2
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"


_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")


def valid_container_name(name: str) -> bool:
    """Docker's own rule for container names. fullmatch: `$` would accept a trailing newline,
    which Docker then refuses."""
    return _NAME_RE.fullmatch(name) is not None
