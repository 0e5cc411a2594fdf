"""Change tracking of a session: baseline, diffs, checkpoints, revert, audit bundles.

The tracking repository lives inside the container, where the agent cannot write:
GIT_DIR=/var/lib/claudex/track.git (root, 0700) with the work tree /workspace, so the mounted
directories and the files outside them are tracked together. Every operation is one docker
exec (as root) of the package `scripts/tracking/` (its modules sent as text, see `_script`),
which holds the git side and explains how mounted git repositories are tracked file by file
without touching their own `.git`.

Pure data (`ChangedFile`, `Checkpoint`, ...) lives in container/tracking_model.py, for the
dashboard's Changes tab; `Tracker.changes()` and `Tracker.file_diff()` block and are meant for
a worker thread.
"""

from __future__ import annotations

import contextlib
import functools
import os
import posixpath
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container import labels, scripts
from container.diff_text import display_path, printable
from container.engine import engine_errors
from container.errors import ClaudexError, UsageError
from container.mount_targets import WORKSPACE
from container.scripts.tracking import PARTS
from container.state import state_dir
from container.tracking_model import (
    Baseline,
    ChangedFile,
    Checkpoint,
    DiffMode,
    RepoEvent,
    RevertResult,
    Since,
    parse_changes,
)

if TYPE_CHECKING:
    from docker import APIClient


FILE_DIFF_LIMIT = 1 << 20  # bytes of one file's diff the dashboard shows
# Seconds one tracking operation may take (a baseline of a very large tree takes minutes).
TRACKING_TIMEOUT = 600.0


class TrackingError(ClaudexError):
    """Change tracking is off, unavailable, or a tracking operation failed."""


class BaselineMissing(TrackingError):
    """The session has no baseline yet (it is being recorded, or tracking never started)."""


@functools.cache
def _script() -> str:
    """The tracking package (container/scripts/tracking/) as one `python3 -I -c` source: the
    bootstrap, then the text of every module in load order. One argument of an exec may not
    pass MAX_ARG_STRLEN (128 KiB); a unit test keeps it well under."""
    sources = {part: scripts.source(f"tracking/{part}.py") for part in ("__init__", *PARTS)}
    call = f"sys.exit(run('tracking', {sources!r}, sys.argv[1:]))\n"
    return scripts.source("bootstrap.py") + "\n" + call


def mount_targets(attrs: dict[str, Any]) -> dict[str, str]:
    """Host dir -> container dir of the directories mounted right under /workspace."""
    targets = {}
    for m in attrs.get("Mounts") or []:
        dest = m.get("Destination", "")
        if posixpath.dirname(dest) == WORKSPACE and m.get("Type") == "bind":
            targets[m.get("Source", "")] = dest
    return targets


def workspace_path(path: str, mounts: dict[str, str], cwd: str | None = None) -> str:
    """A path the user typed -> a path relative to /workspace (a git pathspec).

    `/workspace/...` is taken as is; a host path inside a mounted directory is translated
    (it need not exist: deleted files are named too); anything else is relative to /workspace.
    """
    if path.startswith(WORKSPACE + "/") or path == WORKSPACE:
        return posixpath.relpath(posixpath.normpath(path), WORKSPACE)
    host = os.path.abspath(os.path.join(cwd or os.getcwd(), path))
    for source, target in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
        real = os.path.realpath(source)
        for base in {source, real}:
            if host == base or host.startswith(base.rstrip("/") + "/"):
                inner = os.path.relpath(host, base)
                rel = posixpath.relpath(target, WORKSPACE)
                return rel if inner == "." else posixpath.join(rel, inner)
    if os.path.isabs(path):
        raise UsageError(
            f"{path} is neither in a mounted directory nor under {WORKSPACE}",
            f"name files by their host path in a mounted directory, or relative to {WORKSPACE}",
        )
    return posixpath.normpath(path)


def _failure(message: str, code: int) -> tuple[str, str | None]:
    """The tracking script's failure as one line naming its cause, and the hint that fits
    that cause (a full disk is not fixed by rebuilding the image)."""
    lines = [line for line in message.splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit code {code}"
    if last.endswith("(see above)"):
        # What is "above" went to the same stderr: show it, not a pointer to nothing.
        above = [line for line in lines[:-1] if not line.startswith("Traceback")][-3:]
        last = last.removesuffix(" (see above)") + (f": {'; '.join(above)}" if above else "")
    if "python3" in message and "not found" in message:
        return "the session image has no python3", "is the session image current? (`claudex build`)"
    if "No space left on device" in message or "Disk quota exceeded" in message:
        return last, "the disk the session writes to is full: free some space, then try again"
    if "Read-only file system" in message:
        return last, "the file is in a read-only mount of the session (mounted with --ro)"
    if "Permission denied" in message:
        return last, "the agent's user may not write there; fix the permissions on the host"
    if "named pipe" in last:
        return last, "remove it in the session (`claudex shell`), or stop what holds it open"
    return last, None  # the script comes with claudex (python3 -c): the image is not the cause


def _path_args(paths: Sequence[str], literal: bool) -> list[str]:
    """Paths for the tracking script: how to match them, then each as hex (a name need not
    be UTF-8, and no path can pass for an option)."""
    if not paths:
        return []
    return ["literal" if literal else "pattern", *(os.fsencode(p).hex() for p in paths)]


def _since_args(since: Since) -> list[str]:
    return ["checkpoint"] if since == "checkpoint" else []


class _InFlight:
    """A tracking exec's stream, ended from another thread (its deadline's timer, or a
    dashboard closing): the reading thread sees it end and raises with `why`."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.why = ""

    def end(self, why: str) -> None:
        self.why = self.why or why
        with contextlib.suppress(Exception):  # an ssh engine's stream cannot be cut: it ends later
            self.stream.close()


_IN_FLIGHT: set[_InFlight] = set()
_IN_FLIGHT_LOCK = threading.Lock()


def cancel_running() -> None:
    """End every tracking exec in flight (a dashboard closing: its workers' threads are joined
    when the process exits, so one waiting on a stuck exec would hold the quit)."""
    with _IN_FLIGHT_LOCK:
        flights = list(_IN_FLIGHT)
    for flight in flights:
        flight.end("was stopped: claudex is closing")


class Tracker:
    """The tracking repository of one session (operations need the session running)."""

    def __init__(self, api: APIClient, session: labels.SessionInfo) -> None:
        self.api = api
        self.session = session
        self._mounts: dict[str, str] | None = None

    @property
    def enabled(self) -> bool:
        """Tracking runs for sessions this claudex made, unless started with --no-git."""
        return self.session.managed and self.session.labels.get(labels.GIT, "on") != "off"

    def require(self) -> None:
        if not self.session.managed:
            raise TrackingError(
                f"session {self.session.name} was not made by this claudex: it has no change "
                "tracking",
                f"recreate it with `claudex --replace {' '.join(self.session.mounts)}`",
            )
        if not self.enabled:
            raise TrackingError(
                f"change tracking is off for session {self.session.name} (started with --no-git)",
                "recreate it without --no-git to track changes",
            )

    # -- plumbing --------------------------------------------------------------------------

    def _exec(
        self,
        *args: str,
        sink: Callable[[bytes], Any] | None = None,
        action: str = "tracking",
        timeout: float | None = None,
    ) -> bytes:
        """Run the tracking script in the session; stdout to `sink` (streamed) or returned.
        Given up after `timeout` (TRACKING_TIMEOUT) seconds with a clear error: a stuck exec
        would otherwise hold a dashboard worker, and its shutdown, forever."""
        self.require()
        cmd = ["python3", "-I", "-c", _script(), *args]  # isolated: no PYTHON* env, no cwd
        out = bytearray()
        err = bytearray()
        timeout = timeout or TRACKING_TIMEOUT
        with engine_errors(f"{action} in {self.session.name}"):
            # stdin stays open and empty: the script ends (and its gits) when it closes.
            exec_id = self.api.exec_create(
                self.session.id,
                cmd,
                user="root",
                workdir="/",
                stdout=True,
                stderr=True,
                stdin=True,
                environment={"CLAUDEX_TRACK_HANGUP": "1"},
            )["Id"]
            flight = _InFlight(self.api.exec_start(exec_id, stream=True, demux=True))
            timer = threading.Timer(timeout, flight.end, (f"did not finish within {timeout:.0f}s",))
            timer.daemon = True
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.add(flight)
            timer.start()
            try:
                for chunk_out, chunk_err in flight.stream:
                    if chunk_out:
                        if sink is None:
                            out += chunk_out
                        else:
                            sink(chunk_out)
                    if chunk_err:
                        err += chunk_err
            except Exception:
                if not flight.why:
                    raise
            finally:
                timer.cancel()
                with _IN_FLIGHT_LOCK:
                    _IN_FLIGHT.discard(flight)
                with contextlib.suppress(Exception):
                    flight.stream.close()
            if flight.why:
                timed_out = flight.why.startswith("did not finish")
                raise TrackingError(
                    f"{action} in {self.session.name} {flight.why}",
                    "the session may be overloaded or stuck; try again, or see "
                    f"`docker top {self.session.name}`"
                    if timed_out
                    else None,
                )
            code = self.api.exec_inspect(exec_id).get("ExitCode")
        message = printable(err.decode(errors="replace").strip(), keep="\n")
        if code == 3:
            raise BaselineMissing(
                f"session {self.session.name} has no baseline yet",
                "it is recorded when the session starts; run `claudex "
                f"{' '.join(self.session.mounts)}` to start it",
            )
        if code:
            last, hint = _failure(message, code)
            raise TrackingError(f"{action} failed in {self.session.name}: {last}", hint)
        return bytes(out)

    def _json(self, *args: str, action: str) -> Any:
        import json

        return json.loads(self._exec(*args, action=action) or b"null")

    def mounts(self) -> dict[str, str]:
        """Host dir -> /workspace/<name> for this session's mounted directories."""
        if self._mounts is None:
            with engine_errors(f"inspecting {self.session.name}"):
                attrs = self.api.inspect_container(self.session.id)
            self._mounts = mount_targets(attrs)
        return self._mounts

    # -- API -------------------------------------------------------------------------------

    def has_baseline(self) -> bool:
        return bool(self._json("status", action="reading tracking status").get("baseline"))

    def ensure_baseline(self) -> Baseline:
        """Record the baseline commit unless one exists (blocks: seconds on large trees)."""
        data = self._json("baseline", *self._agent_ids(), action="recording the baseline")
        return Baseline(data["commit"], data["created"], data.get("files"), data["seconds"])

    def changes(
        self, paths: Sequence[str] = (), since: Since = "start", literal: bool = False
    ) -> list[ChangedFile]:
        """Files changed since the baseline (or the last checkpoint), with line counts;
        `literal`: the paths are names, not patterns (`[b]` is no character class)."""
        args = [*_since_args(since), *_path_args(paths, literal=literal)]
        return parse_changes(self._exec("changes", *args, action="listing changes"))

    def file_diff(
        self,
        path: str,
        old_path: str | None = None,
        limit: int = FILE_DIFF_LIMIT,
        since: Since = "start",
    ) -> str:
        """The unified diff of one file against the baseline (binary files: one line), cut
        after `limit` bytes: the agent decides how large a file is, the dashboard's memory
        and drawing time must not follow it."""
        paths = [path, old_path] if old_path else [path]
        kept = bytearray()
        dropped = 0

        def keep(chunk: bytes) -> None:
            nonlocal dropped
            room = max(limit - len(kept), 0)
            kept.extend(chunk[:room])
            dropped += len(chunk) - min(room, len(chunk))

        self.diff(paths, literal=True, sink=keep, since=since)
        text = printable(bytes(kept).decode(errors="surrogateescape"), keep="\t\n")
        if dropped:
            text = text[: text.rfind("\n") + 1]
            text += f"… {dropped:,} more bytes not shown here (`claudex diff FILE` has them)\n"
        return text

    def diff(
        self,
        paths: Sequence[str] = (),
        mode: DiffMode = "patch",
        color: bool = False,
        sink: Callable[[bytes], Any] | None = None,
        literal: bool = False,
        since: Since = "start",
    ) -> bytes:
        """The diff against the baseline (or the last checkpoint); streamed to `sink` when
        given. Raw git output: what goes to a terminal goes through `container.diff_text`."""
        args = ["diff", mode, "always" if color else "never", *_since_args(since)]
        args += _path_args(paths, literal)
        return self._exec(*args, sink=sink, action="computing the diff")

    def checkpoint(self, message: str) -> tuple[str, bool]:
        """Commit the current files; (commit id, False when nothing changed since the last)."""
        data = self._json("checkpoint", message, action="recording a checkpoint")
        return data["commit"], data["created"]

    def log(self) -> list[Checkpoint]:
        """Checkpoints, newest first; the last one is the baseline."""
        return [
            Checkpoint(
                e["commit"],
                datetime.fromtimestamp(e["time"], UTC).astimezone(),
                e["message"],
                e["baseline"],
            )
            for e in self._json("log", action="reading checkpoints")
        ]

    def _agent_ids(self) -> tuple[str, str]:
        uid, _, gid = self.session.labels.get(labels.AGENT_UID, "1000:1000").partition(":")
        return uid, gid or uid

    def repo_report(self) -> list[RepoEvent]:
        """Commits and ref moves in the mounted repositories since the baseline, and any
        change to what makes git run programs (.git/config, hooks, commondir...)."""
        data = self._json("repos", *self._agent_ids(), action="reading the repositories")
        return [
            RepoEvent(display_path(e["repo"]), printable(e["text"]), bool(e["danger"]))
            for e in data
        ]

    def revert(self, paths: Sequence[str], dry_run: bool = False) -> RevertResult:
        """Files under `paths` back to the last checkpoint (written as the agent user)."""
        uid, gid = self._agent_ids()
        data = self._json("revert", uid, gid, "1" if dry_run else "0", *paths, action="reverting")
        return RevertResult(data["restored"], data["deleted"], data["matched"])

    def outside_files(self) -> list[str]:
        """Files in /workspace outside the mounted directories (gone with the container)."""
        names = [posixpath.basename(t) for t in self.mounts().values()]
        return list(self._json("outside", *names, action="listing files")["files"])

    def export_bundle(self, directory: Path | None = None) -> Path:
        """The whole history (with the current files as a last commit) as a git bundle."""
        folder = directory or state_dir() / "audit"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"{self.session.name}-{stamp}.bundle"
        part = path.with_name(path.name + ".part")
        try:
            with open(part, "wb") as fh:
                self._exec("bundle", sink=fh.write, action="exporting the history")
            if part.stat().st_size == 0:
                raise TrackingError(f"exporting the history of {self.session.name} gave nothing")
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)
        return path
