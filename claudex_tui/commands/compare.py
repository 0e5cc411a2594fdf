"""`claudex compare A B`: how two isolated sessions' results differ."""

from __future__ import annotations

import argparse

from claudex_tui import output
from container.diff_text import display_path, printable
from container.engine import connect
from container.engines import current_engine
from container.isolated_compare import MAX_LISTED, compare_sessions
from container.sessions import Sessions


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("first", metavar="A", help="an isolated session")
    p.add_argument("second", metavar="B", help="another isolated session of the same directories")
    p.add_argument("--stat", action="store_true", help="only the files that differ, no diffs")


def run(args: argparse.Namespace) -> int:
    engine = current_engine()
    client = connect()
    sessions = Sessions(client)
    a, b = sessions.get(args.first), sessions.get(args.second)
    if engine.is_remote:  # the copies are on that engine's host: compared there
        from claudex_tui.config import load_config
        from container.isolated_remote import EngineCopies

        found = EngineCopies(client, load_config().image, engine.name).compare(a, b)
    else:
        found = compare_sessions(a.name, a.labels, b.name, b.labels)
    for d in found:
        print(f"{d.what:<10} {display_path(d.path)}" if d.what == "differs" else
              f"{display_path(d.path)}: {printable(d.what)}")  # fmt: skip
        if d.text and not args.stat:
            for line in d.text.splitlines():
                print("    " + printable(line, keep="\t"))
    more = " (the first ones)" if len(found) >= MAX_LISTED else ""
    output.info(f"{len(found)} path(s) differ between {a.name} (A) and {b.name} (B){more}")
    return 0
