"""`claudex push` and `claudex pull`."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from claudex_tui import output
from claudex_tui.commands.session_arg import SESSION_HELP
from container import labels
from container.engine import connect
from container.errors import SessionNotRunning, UsageError
from container.mount_targets import WORKSPACE
from container.sessions import Sessions
from container.sizes import human_bytes
from container.transfer.cancel import Cancelled, interruptions_cancel
from container.transfer.common import DirEntry, TransferReport, container_path, list_dir
from container.transfer.pull import pull
from container.transfer.push import push

if TYPE_CHECKING:
    from container.engine import APIClient


class ByteProgress:
    """Bytes, rate and time left on one line of a TTY; silent otherwise."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.tty or now - self.last < 0.1:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        if total:
            width = 24
            filled = min(width, width * done // total)
            bar = "█" * filled + "░" * (width - filled) + f" {100 * done // total:3d}% "
            left = f", {(total - done) / rate:.0f}s left" if rate else ""
            detail = f"{human_bytes(done)} of {human_bytes(total)} at {human_bytes(rate)}/s{left}"
        else:
            bar, detail = "", f"{human_bytes(done)} at {human_bytes(rate)}/s"
        columns = shutil.get_terminal_size((80, 24)).columns
        line = f"{self.label} {bar}{detail}"
        self.stream.write("\r\x1b[2K" + line[: columns - 1])
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            # After a SIGHUP the terminal may be gone: nothing to clear then.
            with contextlib.suppress(OSError, ValueError):
                self.stream.write("\r\x1b[2K")
                self.stream.flush()


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name == "push":
        p.add_argument("paths", nargs="+", metavar="PATH")
        p.add_argument(
            "--to",
            default=WORKSPACE,
            metavar="CONTAINER_DIR",
            help="directory in the session (default: /workspace)",
        )
    else:
        p.add_argument(
            "paths",
            nargs="*",
            metavar="CONTAINER_PATH [DEST_DIR]",
            help="paths in the session (relative ones are under /workspace), then "
            "the host directory to write into (default: .; made if missing); none on a "
            "terminal: pick from a list of /workspace",
        )
    p.add_argument("--name", metavar="NAME", help=SESSION_HELP)
    p.add_argument("--force", "-f", action="store_true", help="overwrite existing files")


def _report(report: TransferReport, verb: str) -> int:
    if len(report.written) <= 10:
        for path in report.written:
            print(f"{verb} {path}")
    else:
        print(f"{verb} {len(report.written)} entries ({human_bytes(report.bytes)})")
    for path in report.skipped:
        output.warn(f"skipped {path}: it exists (use --force to overwrite)")
    for reason in report.refused:
        output.error(f"refused {reason}")
    return 1 if report.refused else 0


def _agent_owner(session: labels.SessionInfo) -> tuple[int, int]:
    uid, _, gid = session.labels.get(labels.AGENT_UID, "1000:1000").partition(":")
    return int(uid), int(gid or uid)


def run_push(args: argparse.Namespace) -> int:
    client = connect()
    session = Sessions(client).resolve(args.name)
    uid, gid = _agent_owner(session)
    progress = ByteProgress(f"push → {session.name}")
    try:
        with interruptions_cancel():  # SIGTERM, SIGHUP: the same cleanup as Ctrl-C
            report = push(
                client.api,
                session.id,
                args.paths,
                args.to,
                uid=uid,
                gid=gid,
                force=args.force,
                progress=progress,
            )
    except KeyboardInterrupt:
        raise Cancelled from None  # staged files were removed; nothing half-written stays
    finally:
        progress.close()
    return _report(report, "pushed")


def _parse_choice(text: str, count: int) -> list[int]:
    """`1 3 5-7` (1-based) into indexes; a UsageError for anything else."""
    picked: list[int] = []
    for part in text.replace(",", " ").split():
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise UsageError(f"not a number or range: {part!r}")
        lo, hi = int(first), int(last or first)
        if not 1 <= lo <= hi <= count:
            raise UsageError(f"out of range: {part!r} (1-{count})")
        picked += [i - 1 for i in range(lo, hi + 1) if i - 1 not in picked]
    return picked


def _describe(entry: DirEntry) -> str:
    if entry.kind == "dir":
        return f"{entry.name}/"
    if entry.kind == "link":
        return f"{entry.name}@"
    return f"{entry.name}  ({human_bytes(entry.size)})"


def pick_paths(api: APIClient, session: labels.SessionInfo) -> list[str]:
    """Numbered list of /workspace; the user types numbers, ranges, or a path."""
    try:
        entries = list_dir(api, session.id, WORKSPACE)
    except SessionNotRunning:
        raise UsageError(
            f"session {session.name} is not running, so its files cannot be listed",
            "name the paths to pull: `claudex pull CONTAINER_PATH... [DEST_DIR]` works on "
            "stopped sessions",
        ) from None
    if not entries:
        raise UsageError(f"{WORKSPACE} is empty in session {session.name}")
    print(f"{WORKSPACE} in {session.name}:", file=sys.stderr)
    for i, entry in enumerate(entries, 1):
        print(f"  {i:3}  {_describe(entry)}", file=sys.stderr)
    try:
        answer = input("pull which? (numbers like 1 3 5-7, or a path; empty to stop) ").strip()
    except EOFError:
        answer = ""
    if not answer:
        return []
    if not answer.replace(",", " ").replace("-", "").replace(" ", "").isdigit():
        return [container_path(answer)]
    return [f"{WORKSPACE}/{entries[i].name}" for i in _parse_choice(answer, len(entries))]


def run_pull(args: argparse.Namespace) -> int:
    paths = list(args.paths)
    dest = Path(paths.pop()) if len(paths) > 1 else Path(".")
    client = connect()
    session = Sessions(client).resolve(args.name)
    if not paths:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise UsageError("name what to pull: claudex pull CONTAINER_PATH... [DEST_DIR]")
        paths = pick_paths(client.api, session)
        if not paths:
            return 0
    made = _make_destination(dest)
    status = 0
    try:
        status = _pull_each(client.api, session, paths, dest, args.force)
    finally:
        if made:
            _remove_empty(dest, made)
    sys.stdout.flush()
    return status


def _make_destination(dest: Path) -> Path | None:
    """Creates a missing destination folder; the topmost one made, to remove if unused."""
    if dest.exists():
        return None
    top = dest
    while not top.parent.exists():
        top = top.parent
    try:
        dest.mkdir(parents=True)
    except OSError as exc:
        raise UsageError(f"cannot create the destination {dest}: {exc.strerror}") from None
    output.info(f"created {dest}")
    return top


def _remove_empty(dest: Path, top: Path) -> None:
    """Nothing landed: the folders this pull made go again, from `dest` up to `top`."""
    folder = dest
    while not any(folder.iterdir()):
        folder.rmdir()
        if folder == top:
            return
        folder = folder.parent


def _pull_each(
    api: APIClient, session: labels.SessionInfo, paths: list[str], dest: Path, force: bool
) -> int:
    status = 0
    for path in paths:
        progress = ByteProgress(f"pull ← {session.name}")
        try:
            with interruptions_cancel():
                report = pull(api, session.id, path, dest, force=force, progress=progress)
        except KeyboardInterrupt:
            raise Cancelled from None  # the file being written was removed
        finally:
            progress.close()
        status |= _report(report, "pulled")
    return status
