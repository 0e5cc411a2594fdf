"""`claudex push` and `claudex pull`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from claudex_tui import output
from container.engine import connect
from container.sessions import Sessions
from container.transfer import TransferReport, pull, push


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class ByteProgress:
    """Bytes, rate and time left on a TTY; silent otherwise."""

    def __init__(self, label: str) -> None:
        self.bar = output.Progress(label)
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.bar.tty or now - self.last < 0.1:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        left = f", {(total - done) / rate:.0f}s left" if total and rate else ""
        detail = f"{_human(done)}" + (f" of {_human(total)}" if total else "")
        self.bar.update(done if total else 0, total, f"{detail} at {_human(rate)}/s{left}")

    def close(self) -> None:
        self.bar.close()


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name == "push":
        p.add_argument("paths", nargs="+", metavar="PATH")
        p.add_argument(
            "--to",
            default="/workspace",
            metavar="CONTAINER_DIR",
            help="directory in the session (default: /workspace)",
        )
    else:
        p.add_argument(
            "paths",
            nargs="+",
            metavar="CONTAINER_PATH [DEST_DIR]",
            help="paths in the session (relative ones are under /workspace), then "
            "the host directory to write into (default: .)",
        )
    p.add_argument("--name", help="session (default: the one for the current directory)")
    p.add_argument("--force", "-f", action="store_true", help="overwrite existing files")


def _report(report: TransferReport, verb: str) -> int:
    if len(report.written) <= 10:
        for path in report.written:
            print(f"{verb} {path}")
    else:
        print(f"{verb} {len(report.written)} entries ({_human(report.bytes)})")
    for path in report.skipped:
        output.warn(f"skipped {path}: it exists (use --force to overwrite)")
    for reason in report.refused:
        output.error(f"refused {reason}")
    return 1 if report.refused else 0


def run_push(args: argparse.Namespace) -> int:
    client = connect()
    sessions = Sessions(client)
    session = sessions.resolve(args.name)
    uid, _, gid = session.labels.get("com.claudex.agent-uid", "1000:1000").partition(":")
    progress = ByteProgress(f"push → {session.name}")
    try:
        report = push(
            client.api,
            session.id,
            args.paths,
            args.to,
            uid=int(uid),
            gid=int(gid or uid),
            force=args.force,
            progress=progress,
        )
    finally:
        progress.close()
    return _report(report, "pushed")


def run_pull(args: argparse.Namespace) -> int:
    paths = list(args.paths)
    dest = Path(paths.pop()) if len(paths) > 1 else Path(".")
    client = connect()
    session = Sessions(client).resolve(args.name)
    status = 0
    for path in paths:
        progress = ByteProgress(f"pull ← {session.name}")
        try:
            report = pull(client.api, session.id, path, dest, force=args.force, progress=progress)
        finally:
            progress.close()
        status |= _report(report, "pulled")
    sys.stdout.flush()
    return status
