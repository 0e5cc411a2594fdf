"""`claudex apply`: bring an isolated session's changes into the user's directories."""

from __future__ import annotations

import argparse
import os

from claudex_tui import output
from claudex_tui.commands.session_arg import add_session_arguments
from container.engine import connect
from container.engines import current_engine
from container.errors import ClaudexError, SessionNotFound, UsageError
from container.isolated import copies_of
from container.isolated_branch import fetch_branch
from container.isolated_ops import apply_copies
from container.isolated_remote import EngineCopies
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


def _selection(paths: list[str], dirs: list[str], remote: bool = False) -> dict[str, list[str]]:
    """Each directory -> the relative paths asked for in it ({} : everything). On a remote
    engine, paths are absolute paths on its host, taken as written."""
    chosen: dict[str, list[str]] = {}
    for raw in paths:
        if remote:
            if not os.path.isabs(raw):
                raise UsageError(
                    f"{raw}: name files by their absolute path on the engine's host", None
                )
            host = os.path.normpath(raw)
        else:
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


def run(args: argparse.Namespace) -> int:
    engine = current_engine()
    client = connect()
    sessions = Sessions(client)
    session = _session(sessions, args.name)
    far = None
    if engine.is_remote:
        from claudex_tui.config import load_config

        far = EngineCopies(client, load_config().image, engine.name)
    if args.branch:
        if args.paths or args.check:
            raise UsageError("--branch takes no PATH and no --check", "it fetches commits only")
        if far is not None:
            far.fetch_branch(session, output.info)
        else:
            fetch_branch(client, session, output.info)
        return 0
    copies = copies_of(session.labels)
    chosen = _selection(args.paths, sorted(copies), remote=far is not None)
    if far is None:
        conflicts, todo, written = apply_copies(session.name, copies, chosen, args.check, print)
    else:
        conflicts, todo, written = far.apply(session.name, copies, chosen, args.check, print)
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
    elif not todo:
        output.info("nothing to apply")
    else:
        output.info(f"applied {written} change(s) from {session.name}")
    return 0
