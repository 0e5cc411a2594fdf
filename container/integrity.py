"""Claudex's own files in a session are the image's, checked from the host before every start.

Root runs /usr/local/lib/claudex (init, firewall) at every start of a session and reads
/etc/claudex. The agent cannot write there; if anything ever did (an escape to root that
claudex failed to prevent), the next start must not run what it left behind, and the firewall
must not be "applied" by a stub. So before starting an existing session the host reads both
directories out of the container through the engine (works on stopped containers; about one
chroot'ed tar per directory, a few KiB) and compares every entry with the manifest the image
carries as a label: made by `claudex build` from the build context, held by the engine, out of
every container's reach. Anything else fails closed, naming the files.

The firewall's runtime files (/etc/claudex/firewall/: its allow list and upstream resolvers)
change at run time: they only have to be root's alone. The engine's diff of the container was
the other way to ask; it walks everything the container ever wrote (the agent's home, /tmp):
seconds with 50,000 files, where this stays a fixed ~100 ms.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import stat
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from container.engine import engine_errors

if TYPE_CHECKING:
    from docker import APIClient

FILES_LABEL = "com.claudex.files"
LIB = "/usr/local/lib/claudex"
ETC = "/etc/claudex"
CHECKED = (LIB, ETC)
RUNTIME = "/etc/claudex/firewall"
LISTING = f"{LIB}/files.sha256"  # made at build for init.sh's own check (defence in depth)
# Files the Dockerfile copies out of claudex/ besides /usr/local/lib/claudex (keep in step).
COPIES = {
    "/etc/claudex/tmux.conf": "tmux.conf",
    "/etc/claudex/AGENTS.md": "AGENTS.md",
    "/etc/claude-code/managed-settings.json": "managed-settings.json",
}
ARCHIVE_MAX = 4 << 20  # bytes read per directory: the image's are a few KiB
_DIR = "dir"


def image_manifest(context_dir: Path, files: Iterable[Path]) -> dict[str, str]:
    """What the image holds: path -> "dir" or "sha256:HEX", from the build context's files."""
    manifest = {root: _DIR for root in CHECKED}
    for path in files:
        rel = path.relative_to(context_dir).as_posix()
        if not rel.startswith("claudex/"):
            continue
        inner = rel.removeprefix("claudex/")
        digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        parts = inner.split("/")
        for i in range(1, len(parts)):
            manifest[posixpath.join(LIB, *parts[:i])] = _DIR
        manifest[f"{LIB}/{inner}"] = digest
        for target, source in COPIES.items():
            if source == inner:
                manifest[target] = digest
    return manifest


def manifest_label(manifest: dict[str, str]) -> str:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"))


def parse_label(value: str | None) -> dict[str, str] | None:
    """The manifest from a container's labels; None when its image predates the check."""
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return {}  # present but unreadable: nothing will match, the start is refused
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def check(api: APIClient, container_id: str, session_labels: dict[str, str]) -> list[str]:
    """What differs from the image under the checked directories (empty: all as built)."""
    manifest = parse_label(session_labels.get(FILES_LABEL))
    if manifest is None:
        return []
    problems: list[str] = []
    seen: set[str] = set()
    for root in CHECKED:
        for path, kind, detail in _entries(api, container_id, root):
            seen.add(path)
            expected = manifest.get(path)
            if kind == "error":
                problems.append(f"{path}: {detail}")
            elif expected is None:
                # init.sh's own list (a changed one only makes init.sh refuse to start), and
                # the firewall's runtime files: root's alone (checked above), files or folders.
                if path == LISTING and kind == "file":
                    continue
                if not (path == RUNTIME or path.startswith(RUNTIME + "/")):
                    problems.append(f"{path}: not in the image")
                elif kind not in ("file", _DIR):
                    problems.append(f"{path}: a {kind} (the firewall keeps files there)")
            elif expected == _DIR:
                if kind != _DIR:
                    problems.append(f"{path}: a {kind} where the image has a directory")
            elif kind != "file":
                problems.append(f"{path}: a {kind} where the image has a file")
            elif detail != expected:
                problems.append(f"{path}: its contents differ from the image's")
    for path in sorted(manifest):
        if path not in seen and any(path == r or path.startswith(r + "/") for r in CHECKED):
            problems.append(f"{path}: missing")
    return problems


def _entries(api: APIClient, container_id: str, root: str) -> Iterator[tuple[str, str, str]]:
    """(path, kind, detail) for everything under `root` in the container: kind is "file"
    (detail: its digest), "dir", another type name, or "error" (detail: what is wrong)."""
    url = api._url("/containers/{0}/archive", container_id)
    with engine_errors("reading claudex's files in the session"):
        res = api._get(
            url, params={"path": root}, stream=True, headers={"Accept-Encoding": "identity"}
        )
    try:
        if res.status_code == 404:
            yield root, "error", "missing"
            return
        with engine_errors("reading claudex's files in the session"):
            api._raise_for_status(res)
        parent = posixpath.dirname(root)
        try:
            with tarfile.open(fileobj=_Capped(res.raw, ARCHIVE_MAX), mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    path = _printable(posixpath.normpath(posixpath.join(parent, member.name)))
                    yield from _entry(tar, member, path)
        except (tarfile.TarError, _TooLarge) as exc:
            yield root, "error", f"unreadable ({exc or type(exc).__name__})"
    finally:
        res.close()


def _entry(
    tar: tarfile.TarFile, member: tarfile.TarInfo, path: str
) -> Iterator[tuple[str, str, str]]:
    if member.uid != 0 or member.gid != 0:
        yield path, "error", f"owned by {member.uid}:{member.gid}, not root"
        return
    if not member.issym() and member.mode & (stat.S_IWGRP | stat.S_IWOTH):
        yield path, "error", f"writable by others (mode {member.mode & 0o7777:04o})"
        return
    if member.isdir():
        yield path, "dir", ""
    elif member.isreg():
        handle = tar.extractfile(member)
        yield path, "file", _digest(handle) if handle is not None else ""
    else:
        kinds = {tarfile.SYMTYPE: "link", tarfile.LNKTYPE: "hard link", tarfile.FIFOTYPE: "fifo"}
        yield path, kinds.get(member.type, "device"), ""


def _printable(path: str) -> str:
    """Names come from the container: no escape sequence reaches the user's terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in path)


def _digest(handle: IO[bytes]) -> str:
    h = hashlib.sha256()
    while chunk := handle.read(1 << 16):
        h.update(chunk)
    return "sha256:" + h.hexdigest()


class _TooLarge(Exception):
    def __str__(self) -> str:
        return f"more than {ARCHIVE_MAX >> 20} MiB"


class _Capped:
    """A read-only stream that stops with _TooLarge after `limit` bytes."""

    def __init__(self, raw: Any, limit: int) -> None:
        self.raw, self.left = raw, limit

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.raw.read(size if size >= 0 else self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise _TooLarge
        return data
