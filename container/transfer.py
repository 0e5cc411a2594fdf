"""Push and pull: tar archives streamed through the Engine API, never a whole file in memory.

Push: one exec lists what already exists under the names being pushed, so existing files are
skipped (or, with force, replaced) file by file, also inside directories that merge. Regular
files travel under temporary names and are renamed into place by a second exec once the whole
archive is in: a cancelled push leaves no partial file under a final name. The engine writes
the archive as root, following links on the way, so the session is paused while it does, after
checking that no folder on the way became a link (the agent owns them all); every other step
(checks, renames, cleanup) runs as the agent user.

Pull: archives are extracted member by member under the `data` filter rules (no absolute
paths, no `..`, no links leading out, no device files or FIFOs); each file is written under
a temporary name and renamed when complete, so an interrupted pull leaves no partial file.

Cancelling: pass a `CancelToken` (or a progress callback that raises); both sides stop
between chunks (the push archive is a generator made as it is sent) and temporary files
are removed. Whatever ends a push, the session is resumed and its staged files are removed:
in the session as the agent, and, when the destination is a bind mount, on the host too (that
needs no session: it may have been destroyed or stopped mid-way, or the engine gone).
`interruptions_cancel()` turns SIGTERM and SIGHUP into the same cleanup as Ctrl-C, and
keeps any signal from cutting a cleanup short.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import posixpath
import secrets
import signal
import stat
import tarfile
import threading
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container.engine import engine_errors
from container.errors import ClaudexError, SessionNotRunning, UsageError
from container.mount_targets import WORKSPACE

if TYPE_CHECKING:
    from docker import APIClient

CHUNK = 1 << 20
# Pull reads and writes in smaller steps: while a write runs nothing reads the socket, and the
# engine, which sends 32 KiB at a time, waits; megabyte writes made pulls ~10 % slower.
PULL_CHUNK = 256 << 10
TEMP_PREFIX = ".claudex-part-"
MANIFEST_PREFIX = ".claudex-manifest-"
Progress = Callable[[int, int], None]  # (bytes done, bytes total or 0 when unknown)


class Cancelled(ClaudexError):
    """The user stopped the transfer; nothing partial was left under a final name."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("transfer cancelled", "files copied before the cancel are kept")


class CancelToken:
    """Set from any thread; the transfer checks it between chunks and stops."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled


class _Shield(threading.local):
    depth = 0
    pending = False


_shield = _Shield()


def _on_signal(signum: int, frame: object) -> None:
    """SIGINT, SIGTERM, SIGHUP: stop the transfer, as Ctrl-C does; during a cleanup, later."""
    if _shield.depth:
        _shield.pending = True
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def interruptions_cancel() -> Iterator[None]:
    """For a command line transfer (main thread): SIGTERM and SIGHUP end it like Ctrl-C
    (KeyboardInterrupt), so its cleanup runs; the default handlers are back afterwards."""
    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _on_signal) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """A signal that comes in here waits until the end: resuming the session and removing
    staged files are never cut short (raised at the end if nothing else is on its way)."""
    _shield.depth += 1
    try:
        yield
    except BaseException:
        _shield.depth -= 1
        if not _shield.depth:
            _shield.pending = False  # what is on its way ends the transfer already
        raise
    _shield.depth -= 1
    if not _shield.depth and _shield.pending:
        _shield.pending = False
        raise KeyboardInterrupt


@dataclass
class TransferReport:
    """What a transfer did: paths written, skipped (existing, no --force), refused (hostile)."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    bytes: int = 0


@dataclass(frozen=True)
class DirEntry:
    """One entry of a container directory listing."""

    name: str
    kind: str  # "dir", "file", "link" or "other"
    size: int
    target_is_dir: bool = False  # a link to a directory can be browsed like one


def container_path(path: str, base: str = WORKSPACE) -> str:
    """Relative container paths are taken from /workspace."""
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(base, path))


def stat_path(api: APIClient, container_id: str, path: str) -> dict[str, Any] | None:
    """Docker's stat of a container path (a HEAD request: nothing is downloaded), or None."""
    url = api._url("/containers/{0}/archive", container_id)
    with engine_errors(f"looking at {path}"):
        res = api.head(url, params={"path": path})
    if res.status_code == 404:
        return None
    if res.status_code >= 400:
        raise ClaudexError(f"cannot look at {path} in the session: HTTP {res.status_code}")
    header = res.headers.get("X-Docker-Container-Path-Stat")
    return json.loads(base64.b64decode(header)) if header else {}


def _is_dir(st: dict[str, Any]) -> bool:
    return bool(int(st.get("mode", 0)) & (1 << 31))  # Go's os.ModeDir bit


_GO_SYMLINK = 1 << 27  # Go's os.ModeSymlink


def _is_regular(st: dict[str, Any]) -> bool:
    # Go's FileMode: no type bit (dir, link, device, pipe, socket, irregular) set
    return not int(st.get("mode", 0)) & 0xFFF00000


def run_script(
    api: APIClient, container_id: str, script: str, *args: str, user: str = "root"
) -> tuple[int, bytes, str]:
    """Run a bash script in the session: exit code, stdout, stderr."""
    from docker.errors import APIError

    out = bytearray()
    err = bytearray()
    try:
        with engine_errors("running a command in the session"):
            exec_id = api.exec_create(
                container_id, ["bash", "-c", script, "claudex", *args], user=user, workdir="/"
            )["Id"]
            for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
                out += chunk_out or b""
                err += chunk_err or b""
            code = int(api.exec_inspect(exec_id).get("ExitCode") or 0)
    except ClaudexError as exc:
        if "is not running" in exc.message or "is paused" in exc.message:
            raise SessionNotRunning(
                "the session is not running", "start it (`claudex --name NAME`) and try again"
            ) from None
        raise
    except APIError as exc:  # pragma: no cover - engine_errors translates these
        raise ClaudexError(str(exc)) from None
    return code, bytes(out), err.decode(errors="replace").strip()


_KINDS = {"d": "dir", "f": "file", "l": "link"}

_LIST_SCRIPT = r"""
cd -- "$1" 2>/dev/null || exit 10
find . -mindepth 1 -maxdepth 1 -printf '%y\t%Y\t%s\t%P\0'
"""


def list_dir(api: APIClient, container_id: str, path: str) -> list[DirEntry]:
    """The entries of a container directory (one exec; the session must be running)."""
    path = container_path(path)
    code, out, err = run_script(api, container_id, _LIST_SCRIPT, path)
    if code == 10:
        raise UsageError(f"{path} is not a directory in the session")
    if code:
        raise ClaudexError(f"cannot list {path} in the session: {err or f'exit code {code}'}")
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        kind, target, size, name = record.decode(errors="surrogateescape").split("\t", 3)
        entries.append(DirEntry(name, _KINDS.get(kind, "other"), int(size or 0), target == "d"))
    return sorted(entries, key=lambda e: (e.kind != "dir" and not e.target_is_dir, e.name))


# -- push ----------------------------------------------------------------------------------

_CHECK_SCRIPT = r"""
d=$1; shift
[ -e "$d" ] || exit 10
[ -d "$d" ] || exit 11
{ [ -w "$d" ] && [ -x "$d" ]; } || exit 12
cd -- "$d" || exit 12
for n; do
  if [ -e "$n" ] || [ -L "$n" ]; then find "./$n" -printf '%y\t%p\0' 2>/dev/null; fi
done
exit 0
"""

# Moves every staged file onto its final name, as the agent user. Without force a name that
# appeared meanwhile is kept (mv -n) and reported, so nothing is overwritten by surprise.
_RENAME_SCRIPT = r"""
cd -- "$1" || exit 12
manifest=$2; force=$3
while IFS= read -r -d '' tmp && IFS= read -r -d '' final; do
  if [ "$force" = 1 ]; then
    mv -f -T -- "$tmp" "$final" 2>/dev/null || printf 'E\t%s\0' "$final"
  else
    mv -n -T -- "$tmp" "$final" 2>/dev/null || printf 'E\t%s\0' "$final"
    if [ -e "$tmp" ] || [ -L "$tmp" ]; then printf 'S\t%s\0' "$final"; fi
  fi
done < "$manifest"
rm -f -- "$manifest"
"""

_CLEANUP_SCRIPT = r"""
cd -- "$1" || exit 0
pattern=$2; shift 2
find . -maxdepth 1 \( -name "$pattern*" -o -name ".claudex-manifest-${pattern#.claudex-part-}" \) \
  -delete 2>/dev/null
for n; do [ -d "$n" ] && [ ! -L "$n" ] && find "./$n" -name "$pattern*" -delete 2>/dev/null; done
exit 0
"""


@dataclass
class _Item:
    """One member of a push: host path, name relative to dest, temp name for regular files."""

    path: Path
    arcname: str
    temp: str | None = None


def _children(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise ClaudexError(f"cannot read {path}: {exc.strerror}") from None


def _plan(
    tops: list[tuple[Path, str]], existing: dict[str, str], force: bool, token: str
) -> tuple[list[_Item], TransferReport, int]:
    """What to send: new things, and existing files only with force. Returns items, report
    (skipped/refused filled in), total payload bytes."""
    report = TransferReport()
    items: list[_Item] = []
    total = 0
    counter = 0
    stack = [(p, name) for p, name in reversed(tops)]
    while stack:
        path, arcname = stack.pop()
        try:
            st = path.lstat()
        except OSError as exc:
            raise ClaudexError(f"cannot read {path}: {exc.strerror}") from None
        there = existing.get(arcname)
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir:
            if there is not None and there != "d":
                if force:
                    report.refused.append(f"{arcname}: a file is in the way of this directory")
                else:
                    report.skipped.append(arcname)
                continue
            if there is None:
                items.append(_Item(path, arcname))
            stack.extend((c, f"{arcname}/{c.name}") for c in reversed(_children(path)))
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            report.refused.append(f"{arcname}: not a regular file, directory or link")
            continue
        if there is not None:
            if not force:
                report.skipped.append(arcname)
                continue
            if there == "d":
                report.refused.append(f"{arcname}: a directory is in the way")
                continue
        item = _Item(path, arcname)
        if stat.S_ISREG(st.st_mode):
            parent = posixpath.dirname(arcname)
            item.temp = posixpath.join(parent, f"{TEMP_PREFIX}{token}-{counter}")
            counter += 1
            total += st.st_size
        items.append(item)
    return items, report, total


def _counter(
    total: int, progress: Progress | None, cancel: CancelToken | None
) -> Callable[[int], None]:
    """Called with each chunk's size: stops on a cancel, then reports the running total."""
    done = 0

    def count(n: int) -> None:
        nonlocal done
        done += n
        if cancel:
            cancel.check()
        if progress and n:
            progress(done, total)

    return count


class _PushArchive:
    """The archive of `items`, owned by uid:gid, made as it is sent.

    Its length is known before the first byte goes (the headers are made once to count and
    again to send), so the request carries a Content-Length: chunked encoding would copy every
    megabyte once more. File data is read straight from disk into one reused buffer (tarfile's
    own writer copies every byte several times and was twice as slow as `docker cp`)."""

    def __init__(
        self,
        items: list[_Item],
        manifest: tuple[str, bytes] | None,
        uid: int,
        gid: int,
        advance: Callable[[int], None],
    ) -> None:
        self.items, self.uid, self.gid, self.advance = items, uid, gid, advance
        self.sizes = array("q")  # bytes of each member, header and padding included
        for _item, header, size in self._members():
            self.sizes.append(len(header) + size + _padding(size))
        self.trailer = b""
        if manifest:
            name, data = manifest
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o600, uid, gid
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            self.trailer = header + data + bytes(_padding(len(data)))
        written = sum(self.sizes) + len(self.trailer)
        end = 2 * tarfile.BLOCKSIZE
        end += -(written + end) % tarfile.RECORDSIZE
        self.trailer += bytes(end)
        self.length = written + end

    def __len__(self) -> int:
        return self.length

    def _members(self) -> Iterator[tuple[_Item, bytes, int]]:
        # gettarinfo on a TarFile remembers inodes, so a second name of a file already sent
        # becomes a hard link to the first one's staged name; both are renamed into place.
        tar = tarfile.TarFile(fileobj=io.BytesIO(), mode="w", format=tarfile.PAX_FORMAT)
        for item in self.items:
            try:
                info = tar.gettarinfo(str(item.path), item.temp or item.arcname)
            except OSError as exc:
                raise ClaudexError(f"cannot read {item.path}: {exc.strerror}") from None
            info.uid, info.gid, info.uname, info.gname = self.uid, self.gid, "", ""
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            yield item, header, info.size if info.isreg() else 0

    def __iter__(self) -> Iterator[bytes | memoryview]:
        buffer = memoryview(bytearray(CHUNK))
        for (item, header, size), planned in zip(self._members(), self.sizes, strict=True):
            if len(header) + size + _padding(size) != planned:
                raise ClaudexError(
                    f"{item.path} changed while it was being pushed",
                    "push it again once nothing is writing it",
                )
            yield header
            if size:
                yield from _file_data(item.path, size, buffer, self.advance)
            if pad := _padding(size):
                yield bytes(pad)
        yield self.trailer


def _padding(size: int) -> int:
    return -size % tarfile.BLOCKSIZE


def _file_data(
    path: Path, size: int, buffer: memoryview, advance: Callable[[int], None]
) -> Iterator[memoryview]:
    """Exactly `size` bytes of the file (its size in the header already went out), in
    `buffer`: each piece is sent before the next is read."""
    try:
        with open(path, "rb", buffering=0) as fh:
            left = size
            while left:
                n = fh.readinto(buffer[: min(len(buffer), left)])
                if not n:
                    raise ClaudexError(
                        f"{path} shrank while it was being pushed",
                        "push it again once nothing is writing it",
                    )
                left -= n
                advance(n)
                yield buffer[:n]
    except OSError as exc:
        raise ClaudexError(f"cannot read {path}: {exc.strerror}") from None


def _existing(
    api: APIClient, container_id: str, dest: str, names: list[str], user: str
) -> dict[str, str]:
    """Type letter (find's %y) of every existing path under `names` in `dest`; checks that
    `dest` is a directory the agent user can write."""
    code, out, err = run_script(api, container_id, _CHECK_SCRIPT, dest, *names, user=user)
    if code == 10:
        raise UsageError(f"{dest} does not exist in the session", "create it, or pick --to DIR")
    if code == 11:
        raise UsageError(f"{dest} in the session is not a directory")
    if code == 12:
        raise UsageError(
            f"the agent user cannot write into {dest} in the session",
            "pick a directory the agent can write (e.g. /workspace or one of its mounts)",
        )
    if code:
        raise ClaudexError(f"cannot look into {dest} in the session: {err or code}")
    found: dict[str, str] = {}
    for record in out.split(b"\0"):
        if record:
            kind, _, rel = record.decode(errors="surrogateescape").partition("\t")
            found[rel.removeprefix("./")] = kind
    return found


@contextlib.contextmanager
def _frozen(api: APIClient, container_id: str) -> Iterator[None]:
    """The session paused: the engine writes the archive as root, resolving `dest` and the
    folders it merges into as they are at that moment, and the agent owns them. Running, it
    could swap one for a link to a root folder between the check and the write (a pushed
    `bin/` would then hand it /usr/local/bin). Paused, nothing changes until the write ends."""
    paused = False
    try:
        with _uninterrupted(), engine_errors("pausing the session for the copy"):
            api.pause(container_id)
            paused = True
        yield
    finally:
        if paused:
            with _uninterrupted(), engine_errors("resuming the session after the copy"):
                _unpause(api, container_id)


def _unpause(api: APIClient, container_id: str) -> None:
    """Resume the session unless it is no longer paused (stopped, destroyed meanwhile)."""
    from docker.errors import APIError, NotFound

    try:
        api.unpause(container_id)
    except NotFound:
        return
    except APIError:
        try:
            state = api.inspect_container(container_id).get("State") or {}
        except NotFound:
            return
        if state.get("Paused"):
            raise


def _merged_into(items: list[_Item], existing: dict[str, str]) -> list[str]:
    """Existing folders (relative to dest) that the archive writes into."""
    merged: set[str] = set()
    for item in items:
        parent = posixpath.dirname(item.arcname)
        while parent and parent not in merged and existing.get(parent) == "d":
            merged.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(merged)


def _still_directories(api: APIClient, container_id: str, dest: str, merged: list[str]) -> None:
    """With the session paused: `dest`, every folder above it, and the folders merged into
    are real directories (no link anywhere on the way), as when the agent user checked."""
    parts = dest.strip("/").split("/")
    paths = ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1) if parts[0]]
    paths += [posixpath.join(dest, rel) for rel in merged]
    for path in paths:
        st = stat_path(api, container_id, path)
        if st is None or not _is_dir(st) or int(st.get("mode", 0)) & _GO_SYMLINK:
            raise UsageError(
                f"{path} in the session is no longer a directory (a link or something else is "
                "there now); nothing was copied",
                "push to the real path of the directory",
            )


def _put(api: APIClient, container_id: str, dest: str, data: _PushArchive) -> None:
    url = api._url("/containers/{0}/archive", container_id)
    # noOverwriteDirNonDir: the engine must never replace a directory by a file or the
    # reverse (it would delete the whole directory); the plan already refuses those.
    params = {"path": dest, "noOverwriteDirNonDir": "1"}
    with engine_errors(f"copying into {dest}"):
        res = api._put(url, params=params, data=data)
        api._raise_for_status(res)


def push(
    api: APIClient,
    container_id: str,
    sources: list[str],
    dest: str,
    *,
    uid: int,
    gid: int,
    force: bool = False,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    names: list[str] | None = None,
) -> TransferReport:
    """Copy host paths into `dest` (a container directory the agent can write), owned by the
    agent user. `names` gives each source another name in `dest` (default: its basename)."""
    tops: list[tuple[Path, str]] = []
    for i, s in enumerate(sources):
        p = Path(s)
        if not p.exists() and not p.is_symlink():
            raise UsageError(f"no such file or directory: {p}")
        if p.name in ("", ".", ".."):
            p = p.resolve()
        name = names[i] if names else p.name
        if not name or "/" in name or name in (".", ".."):
            raise UsageError(f"invalid name in the session: {name!r}")
        tops.append((p, name))
    dest = container_path(dest)
    if cancel:
        cancel.check()
    user = f"{uid}:{gid}"
    existing = _existing(api, container_id, dest, [n for _, n in tops], user)
    host = _host_dir(api, container_id, dest)
    token = secrets.token_hex(6)
    items, report, total = _plan(tops, existing, force, token)
    report.skipped = [posixpath.join(dest, rel) for rel in report.skipped]
    report.written = [posixpath.join(dest, i.arcname) for i in items]
    if not items:
        return report
    staged = [(i.temp, i.arcname) for i in items if i.temp]
    manifest_name = f"{MANIFEST_PREFIX}{token}"
    manifest = None
    if staged:
        data = b"".join(f"{t}\0{f}\0".encode(errors="surrogateescape") for t, f in staged)
        manifest = (manifest_name, data)
    advance = _counter(total, progress, cancel)
    archive = _PushArchive(items, manifest, uid, gid, advance)
    dirs = [n for p, n in tops if p.is_dir() and not p.is_symlink()]
    try:
        with _frozen(api, container_id):
            _still_directories(api, container_id, dest, _merged_into(items, existing))
            _put(api, container_id, dest, archive)
        if cancel:
            cancel.check()
    except BaseException as exc:
        with _uninterrupted():
            _cleanup(api, container_id, dest, token, dirs, user, host)
            _session_gone(api, container_id, exc)
        raise
    if staged:
        try:
            with _uninterrupted():  # a few renames: once begun, they end
                code, out, err = run_script(
                    api,
                    container_id,
                    _RENAME_SCRIPT,
                    dest,
                    manifest_name,
                    "1" if force else "0",
                    user=user,
                )
        except BaseException as exc:
            with _uninterrupted():
                _cleanup(api, container_id, dest, token, dirs, user, host)
                _session_gone(api, container_id, exc)
            raise
        problems: set[str] = set()
        for record in out.split(b"\0"):
            if record:
                what, _, rel = record.decode(errors="surrogateescape").partition("\t")
                problems.add(rel)
                if what == "S":
                    report.skipped.append(posixpath.join(dest, rel))
                else:
                    report.refused.append(f"{rel}: the agent user cannot write it")
        if problems or code:
            with _uninterrupted():
                _cleanup(api, container_id, dest, token, dirs, user, host)
        if code:
            raise ClaudexError(f"cannot move the pushed files into place in {dest}: {err}")
        report.written = [
            posixpath.join(dest, i.arcname) for i in items if i.arcname not in problems
        ]
    report.bytes = total
    return report


def _cleanup(
    api: APIClient,
    container_id: str,
    dest: str,
    token: str,
    dirs: list[str],
    user: str,
    host: Path | None,
) -> None:
    """Remove staged files of an unfinished push, as the agent in the session (`dest` is the
    agent's, and root would follow the links it put there), and on the host when `dest` is a
    bind mount: that needs no session, which may be stopped or gone, nor the engine."""
    with contextlib.suppress(ClaudexError):
        run_script(
            api, container_id, _CLEANUP_SCRIPT, dest, f"{TEMP_PREFIX}{token}-", *dirs, user=user
        )
    if host is not None:
        with contextlib.suppress(OSError):
            _sweep_host(host, f"{TEMP_PREFIX}{token}-", f"{MANIFEST_PREFIX}{token}", dirs)


# Staged files of pushes that never ended (a killed claudex) anywhere under /workspace.
_STALE_SCRIPT = r"""
find /workspace -regextype posix-extended ! -type d \( \
  -regex '.*/\.claudex-part-[0-9a-f]{12}-[0-9]+' -o -regex '.*/\.claudex-manifest-[0-9a-f]{12}' \
  \) -delete 2>/dev/null
exit 0
"""


def remove_staging(api: APIClient, container_id: str, user: str) -> None:
    """Delete every push's staged files under /workspace, as the agent `user` ("uid:gid"):
    before a destroy saves the history, so none lands in the audit bundle. Best effort."""
    with contextlib.suppress(ClaudexError):
        run_script(api, container_id, _STALE_SCRIPT, user=user)


def _session_gone(api: APIClient, container_id: str, exc: BaseException) -> None:
    """An engine error because the session stopped or went mid-way says so."""
    stopped = isinstance(exc, ClaudexError) and not isinstance(exc, Cancelled)
    if stopped and not _running(api, container_id):
        raise SessionNotRunning(
            "the session stopped or was removed during the push; nothing partial was left",
            "start it and push again",
        ) from None


def _running(api: APIClient, container_id: str) -> bool:
    try:
        return bool((api.inspect_container(container_id).get("State") or {}).get("Running"))
    except Exception:
        return False


def _host_dir(api: APIClient, container_id: str, dest: str) -> Path | None:
    """The host folder behind `dest` when it lies in a bind mount (staged files land there)."""
    try:
        mounts = api.inspect_container(container_id).get("Mounts") or []
    except Exception:
        return None
    best: tuple[str, str] | None = None
    for mount in mounts:
        target, source = mount.get("Destination") or "", mount.get("Source") or ""
        if mount.get("Type") != "bind" or not target.startswith("/") or not source:
            continue
        inside = dest == target or dest.startswith(target.rstrip("/") + "/")
        if inside and (best is None or len(target) > len(best[0])):
            best = (target, source)
    if best is None:
        return None
    rel = posixpath.relpath(dest, best[0])
    return Path(best[1]) if rel == "." else Path(best[1], rel)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _sweep_host(folder: Path, prefix: str, manifest: str, dirs: list[str]) -> None:
    """Delete this push's staged files under the host `folder` (the agent writes there: no
    link is followed on the way down, below the mount's own folder)."""
    fd = os.open(folder, _DIR_FLAGS)
    try:
        for entry in os.scandir(fd):
            if entry.name.startswith(prefix) or entry.name == manifest:
                with contextlib.suppress(OSError):
                    os.unlink(entry.name, dir_fd=fd)
        for name in dirs:
            with contextlib.suppress(OSError):
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                try:
                    _sweep_tree(sub, prefix)
                finally:
                    os.close(sub)
    finally:
        os.close(fd)


def _sweep_tree(fd: int, prefix: str) -> None:
    for entry in os.scandir(fd):
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                sub = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                try:
                    _sweep_tree(sub, prefix)
                finally:
                    os.close(sub)
            elif entry.name.startswith(prefix):
                os.unlink(entry.name, dir_fd=fd)


# -- pull ----------------------------------------------------------------------------------


class _Forward:
    """A stream with forward-only seek and tell, so tarfile's plain "r:" mode can parse it
    (the stream mode "r|" joins and slices every block); file data is read with `readinto`
    into one reused buffer. On the engine's response it reads the http.client response
    under urllib3 directly: its readinto decodes chunks straight into the buffer, where
    read() allocates fresh megabytes every call (page faults cost a third more system time).

    Checks the cancel token on every read."""

    def __init__(self, raw: Any, cancel: CancelToken | None = None) -> None:
        fp = getattr(raw, "_fp", None)
        self.fp = fp if fp is not None and hasattr(fp, "readinto") else None
        self.raw = raw
        self.cancel = cancel
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        if self.cancel:
            self.cancel.check()
        source = self.fp or self.raw
        data: bytes = source.read(size if size >= 0 else None)
        if 0 < len(data) < size:  # tarfile takes a short read for the end of the archive
            parts, got = [data], len(data)
            while got < size and (more := source.read(size - got)):
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        self.pos += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:
        if self.fp is None:
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        if self.cancel:
            self.cancel.check()
        n: int = self.fp.readinto(buffer)
        self.pos += n
        return n

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or offset < self.pos:
            raise io.UnsupportedOperation("the archive can only be read forward")
        while self.pos < offset and self.read(min(CHUNK, offset - self.pos)):
            pass
        return self.pos


def safe_extract(
    fileobj: Any,
    dest: Path,
    *,
    force: bool = False,
    report: TransferReport | None = None,
    on_bytes: Callable[[int], None] | None = None,
    rename_top: tuple[str, str] | None = None,
) -> TransferReport:
    """Extract a tar stream under `dest`, refusing anything that would land or point outside it.

    `rename_top` (old, new) writes the archive's top-level entry `old` as `new`."""
    report = report or TransferReport()
    dest = dest.resolve()
    stream = fileobj if isinstance(fileobj, _Forward) else _Forward(fileobj)
    buffer = memoryview(bytearray(PULL_CHUNK))
    with tarfile.open(fileobj=stream, mode="r:") as tar:  # type: ignore[call-overload]
        for member in tar:
            if member.name.startswith("/") or (member.islnk() and member.linkname.startswith("/")):
                # data_filter would quietly make these relative; an engine never sends them.
                report.refused.append(f"{member.name}: absolute path")
                continue
            if rename_top:
                member = _renamed(member, *rename_top)
            try:
                safe = tarfile.data_filter(member, str(dest))
            except tarfile.FilterError as exc:
                report.refused.append(f"{member.name}: {_filter_reason(exc)}")
                continue
            target = dest / safe.name
            if not _inside(dest, target.parent):
                report.refused.append(f"{member.name}: would be written outside {dest}")
                continue
            if safe.isdir():
                if target.is_symlink() or (target.exists() and not target.is_dir()):
                    report.refused.append(f"{member.name}: a non-directory is in the way")
                    continue
                target.mkdir(parents=True, exist_ok=True)
                continue
            if target.exists() or target.is_symlink():
                if not force:
                    report.skipped.append(str(target))
                    continue
                if target.is_dir() and not target.is_symlink():
                    report.refused.append(f"{member.name}: a directory is in the way")
                    continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if not _inside(dest, target.parent.resolve()):
                report.refused.append(f"{member.name}: its folder leads outside {dest}")
                continue
            if safe.isreg():
                if member.issparse():
                    report.refused.append(f"{member.name}: sparse archive member")
                    continue
                stream.seek(member.offset_data)
                _write_atomic(stream, member.size, buffer, target, safe.mode or 0o644, on_bytes)
                report.bytes += member.size
            elif safe.issym():
                _replace_with(target, partial(os.symlink, safe.linkname))
            elif safe.islnk():
                linked = (dest / safe.linkname).resolve()
                if not _inside(dest, linked) or not linked.is_file():
                    report.refused.append(f"{member.name}: hard link to {safe.linkname}")
                    continue
                _replace_with(target, partial(os.link, linked))
            else:
                report.refused.append(f"{member.name}: not a regular file, directory or link")
                continue
            report.written.append(str(target))
    return report


def _renamed(member: tarfile.TarInfo, old: str, new: str) -> tarfile.TarInfo:
    def swap(name: str) -> str:
        head, sep, rest = name.partition("/")
        return new + sep + rest if head == old else name

    changes: dict[str, Any] = {"name": swap(member.name)}
    if member.islnk():
        changes["linkname"] = swap(member.linkname)
    return member.replace(**changes, deep=False)


def _filter_reason(exc: tarfile.FilterError) -> str:
    name = type(exc).__name__
    return {
        "AbsolutePathError": "absolute path",
        "OutsideDestinationError": "path leads outside the destination",
        "SpecialFileError": "device file or FIFO",
        "AbsoluteLinkError": "link to an absolute path",
        "LinkOutsideDestinationError": "link leads outside the destination",
    }.get(name, str(exc))


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name[:200]}.claudex-part-{os.getpid()}")


def _write_atomic(
    stream: _Forward,
    size: int,
    buffer: memoryview,
    target: Path,
    mode: int,
    on_bytes: Callable[[int], None] | None,
) -> None:
    """`size` bytes of `stream` into `target`, under a temporary name until complete."""
    tmp = _tmp_name(target)
    try:
        with open(tmp, "wb", buffering=0) as out:
            left = size
            while left:
                n = stream.readinto(buffer[: min(len(buffer), left)])
                if not n:
                    raise tarfile.ReadError("unexpected end of data")
                view = buffer[:n]
                while view:
                    view = view[out.write(view) or 0 :]
                left -= n
                if on_bytes:
                    on_bytes(n)
        os.chmod(tmp, mode & 0o777)
        os.replace(tmp, target)
    finally:
        with _uninterrupted():
            tmp.unlink(missing_ok=True)


def _replace_with(target: Path, make: Callable[[Path], None]) -> None:
    tmp = _tmp_name(target)
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    make(tmp)
    os.replace(tmp, target)


_SIZE_SCRIPT = (
    r"""find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'"""
)


def _total_size(api: APIClient, container_id: str, path: str, st: dict[str, Any]) -> int:
    """Bytes of file data under `path`, for progress; 0 (unknown) when it cannot be told."""
    if _is_regular(st):
        return int(st.get("size", 0))
    if not _is_dir(st):
        return 0
    try:
        code, out, _ = run_script(api, container_id, _SIZE_SCRIPT, path)
    except ClaudexError:
        return 0  # a stopped session: no exec, so no total
    return int(out.strip() or 0) if code == 0 else 0


def pull(
    api: APIClient,
    container_id: str,
    source: str,
    dest: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    name: str | None = None,
) -> TransferReport:
    """Copy a container path (file or directory) into the host directory `dest`; `name`
    writes it under another name there."""
    if not dest.is_dir():
        raise UsageError(f"destination is not a directory: {dest}")
    path = container_path(source)
    st = stat_path(api, container_id, path)
    if st is None:
        raise UsageError(f"{path} does not exist in the session")
    on_bytes = _counter(_total_size(api, container_id, path, st), progress, cancel)
    base = posixpath.basename(path) or "/"
    rename = (base, name) if name and name != base else None
    url = api._url("/containers/{0}/archive", container_id)
    with engine_errors(f"copying {path} out of the session"):
        res = api._get(
            url, params={"path": path}, stream=True, headers={"Accept-Encoding": "identity"}
        )
        api._raise_for_status(res)
    try:
        with engine_errors(f"copying {path} out of the session"):
            return safe_extract(
                _Forward(res.raw, cancel),
                dest,
                force=force,
                on_bytes=on_bytes,
                rename_top=rename,
            )
    except tarfile.ReadError as exc:
        raise ClaudexError(f"copying {path} out of the session: broken archive ({exc})") from None
    finally:
        res.close()
