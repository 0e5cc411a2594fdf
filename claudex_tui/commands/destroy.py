"""`claudex destroy`."""

from __future__ import annotations

import argparse
import fnmatch
import sys

from claudex_tui import output
from claudex_tui.commands.listing import add_filter_argument, apply_filters, parse_filters
from container.agent_home import save_home
from container.engine import connect
from container.engines import current_engine
from container.errors import ClaudexError, SessionNotFound, UsageError
from container.isolated import copies_of, discard, session_folder
from container.isolated_apply import session_differing
from container.labels import SessionInfo, agent_user
from container.lifecycle import describe_outside, outside_files, save_history
from container.sessions import Sessions, select_by_state
from container.transfer.staging import remove_staging


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--name",
        metavar="NAME",
        help="session name, a glob works too (default: the session for the current directory)",
    )
    which.add_argument("--signature", metavar="HASH", help="sessions with this signature")
    which.add_argument("--all", action="store_true", help="every session")
    which.add_argument("--prune-stopped", action="store_true", help="every stopped session")
    p.add_argument("--running", action="store_true", help="only running ones")
    p.add_argument("--stopped", action="store_true", help="only stopped ones")
    add_filter_argument(p, "narrow the selection")
    p.add_argument("--force", "-f", action="store_true", help="do not ask")


def _targets(sessions: Sessions, args: argparse.Namespace) -> list[SessionInfo]:
    if args.name:
        found = [s for s in sessions.list_sessions() if fnmatch.fnmatchcase(s.name, args.name)]
        if not found:
            glob = any(c in args.name for c in "*?[")
            raise SessionNotFound(
                f"no claudex session {'matches' if glob else 'named'} {args.name!r}",
                "see `claudex list --all`",
            )
        return found
    if args.signature:
        return sessions.list_sessions(signature_=args.signature)
    if args.all:
        return sessions.list_sessions()
    if args.prune_stopped:
        return [s for s in sessions.list_sessions() if not s.running]
    return [sessions.resolve(None)]


def run(args: argparse.Namespace) -> int:
    client = connect()
    sessions = Sessions(client)
    engine = current_engine()
    # An isolated session's copies are on its engine's host: counted and removed there.
    far = None
    if engine.is_remote:
        from claudex_tui.config import load_config
        from container.isolated_remote import EngineCopies

        far = EngineCopies(client, load_config().image, engine.name)

    def differing(s: SessionInfo) -> int | None:
        if far is None:
            return session_differing(s.name, s.labels)
        return far.differing(s.name, s.labels) if copies_of(s.labels) else None

    def folder(s: SessionInfo) -> str:
        where = str(session_folder(s.name))
        return where if far is None else f"{s.name} in volume claudex-isolated of {engine.name}"

    targets = select_by_state(_targets(sessions, args), args.running, args.stopped)
    targets = apply_filters(targets, parse_filters(args.filter))
    if not targets:
        print("nothing to destroy")
        return 0
    if not args.force:
        if not sys.stdin.isatty():
            raise UsageError(
                f"refusing to destroy {len(targets)} session(s) without confirmation",
                "stdin is not a terminal: add --force",
            )
        for s in targets:
            print(f"  {s.name}  ({s.state})  {', '.join(s.mounts)}")
            for line in describe_outside(outside_files(sessions, s)):
                print(line)
            differ = differing(s)
            if differ:
                print(
                    f"    {differ} file(s) of its isolated copies differ from your directories"
                    f" (not applied; `claudex apply --name {s.name}` first to keep them there):"
                    " they stay in its history bundle"
                )
        if not output.confirm(f"Destroy {len(targets)} session(s)?"):
            print("nothing destroyed")
            return 1
    failures = 0
    for s in targets:
        what = "agent home"
        bundle = None
        try:
            # The agent home and the tracking history go to the host first: nothing is lost
            # with the container.
            home = save_home(sessions.api, s)
            if home:
                print(f"saved the agent home of {s.name} to {home}")
            what = "history"
            user = agent_user(s.labels)
            if user:  # a killed push's staged files stay out of the bundle (if it runs)
                remove_staging(sessions.api, s.id, user)
            bundle = save_history(sessions, s)
            if bundle:
                print(f"saved the history of {s.name} to {bundle}")
        except ClaudexError as exc:
            if not args.force:
                failures += 1
                output.error(
                    ClaudexError(
                        f"not destroying {s.name}: its {what} could not be saved: {exc.message}",
                        "add --force to destroy it anyway",
                    )
                )
                continue
            output.warn(f"the {what} of {s.name} could not be saved: {exc.message}")
        try:
            sessions.remove(s.name, force=True)
        except ClaudexError as exc:
            failures += 1
            output.error(f"could not destroy {s.name}: {exc.message}")
            continue
        print(f"destroyed {s.name}")
        if copies_of(s.labels) and bundle:
            try:  # its changes are in the history bundle saved above
                if far is not None:
                    far.discard(s.name)
                else:
                    discard(s.name)
            except ClaudexError as exc:
                output.warn(f"its isolated copies ({folder(s)}) stay: {exc.message}")
                continue
            print(f"removed its isolated copies ({folder(s)})")
        elif copies_of(s.labels):
            print(f"kept its isolated copies, which no history bundle holds: {folder(s)}")
    return 1 if failures else 0
