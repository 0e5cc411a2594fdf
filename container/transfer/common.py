"""What push and pull share: reports, paths in the session, Docker's stat of a path, scripts
run in the session, directory listings (the Files tab's too), progress counting."""

from __future__ import annotations

import base64
import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from container import scripts
from container.engine import engine_errors
from container.errors import ClaudexError, SessionNotRunning, UsageError
from container.mount_targets import WORKSPACE
from container.transfer.cancel import CancelToken

if TYPE_CHECKING:
    from docker import APIClient

CHUNK = 1 << 20
TEMP_PREFIX = ".claudex-part-"
MANIFEST_PREFIX = ".claudex-manifest-"
Progress = Callable[[int, int], None]  # (bytes done, bytes total or 0 when unknown)


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


def is_dir_stat(st: dict[str, Any]) -> bool:
    return bool(int(st.get("mode", 0)) & (1 << 31))  # Go's os.ModeDir bit


GO_SYMLINK = 1 << 27  # Go's os.ModeSymlink


def is_regular_stat(st: dict[str, Any]) -> bool:
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


_LIST_SCRIPT = scripts.source("list_dir.sh")


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


_EXISTING_SCRIPT = scripts.source("existing_names.sh")


def existing_names(api: APIClient, container_id: str, directory: str, names: list[str]) -> set[str]:
    """Which of `names` exist (links too) in the session's `directory`: none when it is not a
    directory. The Files tab asks before a copy, to offer replacing or skipping."""
    _, out, _ = run_script(api, container_id, _EXISTING_SCRIPT, directory, *names)
    return {n.decode(errors="surrogateescape") for n in out.split(b"\0") if n}


def counter(
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
