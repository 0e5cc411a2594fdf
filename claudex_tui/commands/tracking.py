"""`claudex diff`, `checkpoint`, `log` and `revert`: the session's change tracking."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from claudex_tui import output
from claudex_tui.commands.session_arg import SESSION_HELP, add_session_arguments
from container.diff_text import DiffPrinter, display_path
from container.engine import connect
from container.errors import ClaudexError, SessionNotFound, UsageError
from container.labels import SessionInfo
from container.sessions import Sessions
from container.tracking import Tracker, workspace_path
from container.tracking_model import DiffMode, Since


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name in ("diff", "revert"):
        p.add_argument(
            "targets",
            nargs="*" if name == "diff" else "+",
            metavar="[NAME] PATH",
            help="a session name first (optional), then files or directories: host paths in a "
            "mounted directory, or paths relative to /workspace",
        )
        p.add_argument("--name", metavar="NAME", help=SESSION_HELP)
    else:
        add_session_arguments(p)
    if name == "diff":
        how = p.add_mutually_exclusive_group()
        how.add_argument("--stat", action="store_true", help="a summary per file")
        how.add_argument("--name-only", action="store_true", help="only the changed paths")
        p.add_argument(
            "--since-checkpoint",
            action="store_true",
            help="changes since the last checkpoint (what `claudex revert` would undo), "
            "not since the session started",
        )
    if name == "checkpoint":
        p.add_argument("-m", "--message", help="what this checkpoint is")
    if name == "revert":
        p.add_argument("--yes", "-y", action="store_true", help="do not ask")


def _session_for_cwd(sessions: Sessions) -> SessionInfo:
    """The session for this directory, or else one mounting a directory that contains it."""
    try:
        return sessions.resolve(None)
    except SessionNotFound:
        here = os.path.realpath(os.getcwd())
        for s in sessions.list_sessions():
            if any(here == m or here.startswith(m.rstrip("/") + "/") for m in s.mounts):
                return s
        raise


def _resolve(
    sessions: Sessions, name: str | None, targets: list[str]
) -> tuple[SessionInfo, list[str]]:
    """NAME PATH... or PATH...: a first word naming an existing session is the session."""
    if name:
        return sessions.get(name), targets
    if targets:
        names = {s.name for s in sessions.list_sessions()}
        if targets[0] in names:
            return sessions.get(targets[0]), targets[1:]
    try:
        return _session_for_cwd(sessions), targets
    except SessionNotFound:
        first = targets[0] if targets else ""
        if first and "/" not in first and not os.path.exists(first):
            # Meant as a session name, most likely: say so rather than talk of the cwd.
            raise SessionNotFound(
                f"no claudex session named {first!r}",
                f"and none for {os.getcwd()}; see `claudex list` for session names",
            ) from None
        raise


def _tracker(name: str | None, targets: list[str]) -> tuple[Tracker, list[str]]:
    sessions = Sessions(connect())
    session, paths = _resolve(sessions, name, targets)
    tracker = Tracker(sessions.api, session)
    tracker.require()
    sessions.require_running(session)
    mounts = tracker.mounts() if paths else {}
    return tracker, [workspace_path(p, mounts) for p in paths]


def run_diff(args: argparse.Namespace) -> int:
    tracker, paths = _tracker(args.name, args.targets)
    mode: DiffMode = "stat" if args.stat else "name-only" if args.name_only else "patch"
    out = sys.stdout.buffer
    # On a terminal, names and contents are shown escaped (an escape sequence in them must
    # not redraw what is shown) and coloured here; a pipe gets git's exact output.
    printer = None
    if sys.stdout.isatty():
        printer = DiffPrinter(mode, color=not os.environ.get("NO_COLOR"))
    wrote = False

    def sink(chunk: bytes) -> None:
        nonlocal wrote
        wrote = True
        out.write(printer.feed(chunk) if printer else chunk)

    since: Since = "checkpoint" if args.since_checkpoint else "start"
    tracker.diff(paths, mode=mode, sink=sink, since=since)
    if printer:
        out.write(printer.close())
    out.flush()
    if not wrote:
        what = "the last checkpoint" if args.since_checkpoint else "the baseline"
        output.info(f"no changes in {tracker.session.name} since {what}")
    report_repositories(tracker)  # last: what is left on the screen
    return 0


def report_repositories(tracker: Tracker) -> None:
    """Commits and ref moves in the mounted repositories, and loudly anything that makes the
    host's git run what the agent wrote (on stderr: the diff on stdout stays a patch)."""
    try:
        events = tracker.repo_report()
    except ClaudexError as exc:
        output.warn(f"the mounted repositories could not be read: {exc.message}")
        return
    for event in events:
        (output.warn if event.danger else output.info)(str(event))


def run_checkpoint(args: argparse.Namespace) -> int:
    tracker, _ = _tracker(args.name, [])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    commit, created = tracker.checkpoint(args.message or f"checkpoint {stamp}")
    if created:
        print(f"checkpoint {commit[:12]} recorded in {tracker.session.name}")
    else:
        print(f"nothing changed since the last checkpoint ({commit[:12]})")
    return 0


def run_log(args: argparse.Namespace) -> int:
    tracker, _ = _tracker(args.name, [])
    rows = [
        [
            c.short,
            c.time.strftime("%Y-%m-%d %H:%M:%S"),
            ("(baseline) " if c.baseline else "") + c.message,
        ]
        for c in tracker.log()
    ]
    print(output.table(["COMMIT", "WHEN", "MESSAGE"], rows))
    return 0


def run_revert(args: argparse.Namespace) -> int:
    tracker, paths = _tracker(args.name, args.targets)
    if not paths:
        raise UsageError("name the files or directories to revert", "see `claudex revert --help`")
    plan = tracker.revert(paths, dry_run=True)
    if not plan.matched:
        raise UsageError(
            f"no tracked file matches {' '.join(paths)}",
            "paths are host paths in a mounted directory, or relative to /workspace "
            "(see `claudex diff --name-only`)",
        )
    if plan.empty:
        print("nothing to revert: the files are as in the last checkpoint")
        return 0
    if sys.stdin.isatty() and not args.yes:
        for path in plan.restored:
            print(f"  restore  {display_path(path)}")
        for path in plan.deleted:
            print(f"  delete   {display_path(path)}")
        if not output.confirm(f"Revert {len(plan.restored) + len(plan.deleted)} file(s)?"):
            print("nothing reverted")
            return 1
    done = tracker.revert(paths)
    for path in done.restored:
        print(f"restored {display_path(path)}")
    for path in done.deleted:
        print(f"deleted {display_path(path)}")
    return 0
