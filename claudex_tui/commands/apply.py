"""`claudex apply`: bring an isolated session's changes into the user's directories."""

from __future__ import annotations

import argparse
import os
import tempfile

from claudex_tui import output
from claudex_tui.commands.session_arg import add_session_arguments
from container.diff_text import display_path, printable
from container.engine import connect
from container.errors import ClaudexError, SessionNotFound, UsageError
from container.isolated import base_of, check_copy_path, copies_of, session_folder
from container.isolated_apply import DirChanges, compare, three_way, write
from container.isolated_branch import fetch_branch
from container.isolated_review import merge_conflicts
from container.labels import SessionInfo
from container.sessions import Sessions


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    add_session_arguments(p, positional=False)
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="only these files or folders (paths in your directories; default: everything)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="list what would be applied and the conflicts, write nothing (exit 1 on a conflict)",
    )
    p.add_argument(
        "--branch",
        action="store_true",
        help="fetch the session's commits into your repository as branch claudex/SESSION "
        "(your files are not touched)",
    )


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _session(sessions: Sessions, name: str | None) -> SessionInfo:
    if name:
        found = sessions.get(name)
        if not copies_of(found.labels):
            raise UsageError(
                f"session {name} is not isolated: it works on your directories themselves",
                "nothing to apply",
            )
        return found
    here = os.path.realpath(os.getcwd())
    candidates = [
        s for s in sessions.list_sessions() if any(_inside(here, d) for d in copies_of(s.labels))
    ]
    if not candidates:
        raise SessionNotFound(
            f"no isolated session works on {here}", "name one with --name (see `claudex list`)"
        )
    if len(candidates) > 1:
        raise UsageError(
            f"several isolated sessions work on {here}: " + ", ".join(s.name for s in candidates),
            "name one with --name",
        )
    return candidates[0]


def _selection(paths: list[str], dirs: list[str]) -> dict[str, list[str]]:
    """Each directory -> the relative paths asked for in it ({} : everything)."""
    chosen: dict[str, list[str]] = {}
    for raw in paths:
        host = os.path.abspath(raw)
        # The folder holding it may be reached through a link; the name itself may be gone.
        host = os.path.join(os.path.realpath(os.path.dirname(host)), os.path.basename(host))
        for d in dirs:
            if _inside(host, d):
                chosen.setdefault(d, []).append(os.path.relpath(host, d))
                break
        else:
            raise UsageError(
                f"{raw} is not in the session's directories ({', '.join(dirs)})",
                "name files by their path in your directory",
            )
    return chosen


def _show(results: list[DirChanges], check: bool) -> int:
    conflicts = 0
    verb = "would apply" if check else "to apply"
    for d in results:
        for c in d.changes:
            where = display_path(os.path.join(d.directory, c.path))
            if c.state == "apply":
                note = f" ({c.reason})" if c.reason else ""
                print(f"{verb:<12} {c.what:<9} {where}{note}")
            elif c.state == "there":
                print(f"{'unchanged':<12} {c.what:<9} {where} (already in your directory)")
            elif c.state == "refused":
                print(f"{'not applied':<12} {c.what:<9} {where}: {printable(c.reason)}")
            else:
                conflicts += 1
                print(f"{'CONFLICT':<12} {c.what:<9} {where}: {printable(c.reason)}")
                for line in three_way(d, c).splitlines():
                    print("    " + printable(line))
    return conflicts


def run(args: argparse.Namespace) -> int:
    client = connect()
    sessions = Sessions(client)
    session = _session(sessions, args.name)
    if args.branch:
        if args.paths or args.check:
            raise UsageError("--branch takes no PATH and no --check", "it fetches commits only")
        fetch_branch(client, session, output.info)
        return 0
    copies = copies_of(session.labels)
    for copy in copies.values():
        check_copy_path(session.name, copy)
        if not os.path.isdir(copy) or not os.path.isdir(base_of(copy)):
            raise ClaudexError(
                f"the copies of session {session.name} are gone ({copy})", "nothing to apply"
            )
    chosen = _selection(args.paths, sorted(copies))
    dirs = [d for d in sorted(copies) if not chosen or d in chosen]
    for d in dirs:
        if not os.path.isdir(d):
            raise ClaudexError(f"{d} is not there any more", "nothing was written")
    folder = session_folder(session.name)
    with tempfile.TemporaryDirectory(prefix="apply-", dir=folder) as staging:
        results = [
            compare(d, copies[d], base_of(copies[d]), staging, chosen.get(d, [])) for d in dirs
        ]
        for found in results:
            merge_conflicts(found)  # other lines than yours: merged, as the Changes tab does
        conflicts = _show(results, args.check)
        todo = sum(len(d.by_state("apply")) for d in results)
        if conflicts:
            output.error(
                ClaudexError(
                    f"{conflicts} conflict(s): nothing was written",
                    "bring the conflicting files in by hand (or undo your own change), then "
                    "apply again; `claudex apply PATH...` applies some files only",
                )
            )
            return 1
        if args.check:
            output.info(f"{todo} change(s) to apply, no conflict")
            return 0
        if not todo:
            output.info("nothing to apply")
            return 0
        written = write(results)
        output.info(f"applied {written} change(s) from {session.name}")
    return 0
