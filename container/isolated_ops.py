"""What the CLI does with an isolated session's copies, wherever they are: called here for a
session on this machine, and run inside a helper container on a remote engine's host for a
session there (`main`, started by container.isolated_remote with these same modules), so both
make, count and apply copies with the same code.

`main(argv)` prints one JSON document per line: {"line": text} for each line of output,
{"info": text} for progress, then {"result": value} or {"error": message, "hint": hint,
"kind": the ClaudexError class}.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from container import errors, isolated_review
from container.diff_text import display_path, printable
from container.errors import ClaudexError
from container.isolated import (
    base_of,
    check_copy_path,
    discard,
    git_head,
    make_copies,
    session_folder,
    shares_objects,
)
from container.isolated_apply import DirChanges, compare, session_differing, three_way, write
from container.isolated_branch import _started_from, fetch_bundle
from container.isolated_compare import compare_sessions
from container.isolated_review import merge_conflicts

Emit = Callable[[str], None]


def shared_objects(dirs: list[str]) -> list[str]:
    """The directories whose clone shares the user's `.git/objects` (bound read-only in the
    session at its own path: `container.isolated.isolated_plan`)."""
    found = []
    for d in dirs:
        objects = os.path.join(d, ".git", "objects")
        if git_head(d) and shares_objects(d) and os.path.isdir(objects):
            found.append(d)
    return found


def branch_sources(session: str, copies: dict[str, str]) -> dict[str, list[Any]]:
    """For `apply --branch`: each git repository -> [the commit its copy started from, the
    uid and gid owning its `.git` (the fetch runs as them)]."""
    found: dict[str, list[Any]] = {}
    for d, copy in sorted(copies.items()):
        if git_head(d) is None:
            continue
        check_copy_path(session, copy)
        st = os.stat(os.path.join(d, ".git"))
        found[d] = [_started_from(d, copy), st.st_uid, st.st_gid]
    return found


def _show(results: list[DirChanges], check: bool, emit: Emit) -> int:
    conflicts = 0
    verb = "would apply" if check else "to apply"
    for d in results:
        for c in d.changes:
            where = display_path(os.path.join(d.directory, c.path))
            if c.state == "apply":
                note = f" ({c.reason})" if c.reason else ""
                emit(f"{verb:<12} {c.what:<9} {where}{note}")
            elif c.state == "there":
                emit(f"{'unchanged':<12} {c.what:<9} {where} (already in your directory)")
            elif c.state == "refused":
                emit(f"{'not applied':<12} {c.what:<9} {where}: {printable(c.reason)}")
            else:
                conflicts += 1
                emit(f"{'CONFLICT':<12} {c.what:<9} {where}: {printable(c.reason)}")
                for line in three_way(d, c).splitlines():
                    emit("    " + printable(line))
    return conflicts


def apply_copies(
    session: str, copies: dict[str, str], chosen: dict[str, list[str]], check: bool, emit: Emit
) -> tuple[int, int, int]:
    """`claudex apply`: the session's changes listed (`emit`), then written unless `check` or
    a conflict; (conflicts, changes to apply, changes written)."""
    for copy in copies.values():
        check_copy_path(session, copy)
        if not os.path.isdir(copy) or not os.path.isdir(base_of(copy)):
            raise ClaudexError(
                f"the copies of session {session} are gone ({copy})", "nothing to apply"
            )
    dirs = [d for d in sorted(copies) if not chosen or d in chosen]
    for d in dirs:
        if not os.path.isdir(d):
            raise ClaudexError(f"{d} is not there any more", "nothing was written")
    with tempfile.TemporaryDirectory(prefix="apply-", dir=session_folder(session)) as staging:
        results = [
            compare(d, copies[d], base_of(copies[d]), staging, chosen.get(d, [])) for d in dirs
        ]
        for found in results:
            merge_conflicts(found)  # other lines than yours: merged, as the Changes tab does
        conflicts = _show(results, check, emit)
        todo = sum(len(d.by_state("apply")) for d in results)
        if conflicts or check or not todo:
            return conflicts, todo, 0
        return conflicts, todo, write(results)


# -- inside a helper container on a remote engine's host ------------------------------------


def _op(op: str, args: dict[str, Any], emit: Emit, info: Emit) -> object:
    if op == "copy":
        copies = make_copies(args["session"], args["dirs"], info)
        return {"copies": copies, "shared": shared_objects(list(copies))}
    if op == "shared":
        return shared_objects(args["dirs"])
    if op == "differ":
        return session_differing(args["session"], args["labels"])
    if op == "apply":
        return apply_copies(args["session"], args["copies"], args["chosen"], args["check"], emit)
    if op == "branch-sources":
        return branch_sources(args["session"], args["copies"])
    if op == "fetch":  # the bundle was made in the session and sent into this helper
        with tempfile.TemporaryDirectory(prefix="claudex-branch-") as tmp:
            fetch_bundle(args["directory"], args["bundle"], args["session"], tmp)
        return None
    if op == "compare":
        found = compare_sessions(args["a"], args["labels_a"], args["b"], args["labels_b"])
        return [[d.path, d.what, d.text] for d in found]
    if op in REVIEW_OPS:  # the dashboard's Changes tab
        return _review_op(op, args)
    if op == "exists":
        return session_folder(args["session"]).exists()
    if op == "discard":
        discard(args["session"])
        return None
    raise ClaudexError(f"unknown operation {op!r}")


# The Changes tab's reads and applies: the same functions as for a session on this machine;
# what they give back goes out as JSON (dataclasses as dicts, read back by isolated_remote).
REVIEW_OPS = ("review", "review-file", "apply-file", "apply-hunk", "apply-all")


def _review_op(op: str, args: dict[str, Any]) -> object:
    session, session_labels = args["session"], args["labels"]
    if op == "review":
        found = isolated_review.review(session, session_labels)
        return [dataclasses.asdict(c) for c in found]
    if op == "review-file":
        shown = isolated_review.review_file(session, session_labels, args["path"])
        return dataclasses.asdict(shown)
    if op == "apply-file":
        return isolated_review.apply_file(session, session_labels, args["path"])
    if op == "apply-hunk":
        # The hunk as it was shown: sent into the helper as a file (isolated_remote.SENT).
        with open(args["shown"], encoding="utf-8", errors="surrogateescape", newline="") as fh:
            text = fh.read()
        path, index = args["path"], int(args["hunk"])
        return isolated_review.apply_hunk(session, session_labels, path, index, text)
    return isolated_review.apply_all(session, session_labels)


def main(argv: list[str]) -> int:
    def out(key: str) -> Emit:
        return lambda text: print(json.dumps({key: text}), flush=True)

    try:
        result = _op(argv[0], json.loads(argv[1]), out("line"), out("info"))
    except ClaudexError as exc:
        kind = type(exc).__name__ if hasattr(errors, type(exc).__name__) else "ClaudexError"
        print(json.dumps({"error": exc.message, "hint": exc.hint, "kind": kind}), flush=True)
        return 3
    print(json.dumps({"result": result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
