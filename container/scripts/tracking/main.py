"""The entry point: `COMMAND [ARGS...]`, exit 0 ok, 2 failure (message on stderr), 3 no
baseline yet."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

from .commands import (
    cmd_baseline,
    cmd_bundle,
    cmd_changes,
    cmd_checkpoint,
    cmd_diff,
    cmd_log,
    cmd_outside,
    cmd_repos,
    cmd_revert,
    cmd_status,
)
from .errors import Failure, NoBaseline

COMMANDS: dict[str, Callable[..., None]] = {
    "status": cmd_status,
    "baseline": cmd_baseline,
    "changes": cmd_changes,
    "diff": cmd_diff,
    "checkpoint": cmd_checkpoint,
    "log": cmd_log,
    "revert": cmd_revert,
    "bundle": cmd_bundle,
    "outside": cmd_outside,
    "repos": cmd_repos,
}


def _end_with_stdin() -> None:
    """With CLAUDEX_TRACK_HANGUP=1 (container/tracking.py's execs), end when stdin ends: the
    engine closes an exec's stdin when its client goes (gave up after its deadline, quit,
    crashed), and a run nobody reads would hold the lock for the next ones. Its gits go too."""
    if os.environ.get("CLAUDEX_TRACK_HANGUP") != "1":
        return

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        me = str(os.getpid())
        for entry in os.listdir("/proc"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as fh:
                    parent = fh.read().rsplit(")", 1)[1].split()[1]
                if parent == me:
                    os.kill(int(entry), 9)
        os._exit(2)

    import threading

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(f"usage: COMMAND [ARGS...]; commands: {', '.join(COMMANDS)}\n")
        return 2
    _end_with_stdin()
    try:
        COMMANDS[argv[0]](*argv[1:])
    except NoBaseline as exc:
        sys.stderr.write(f"{exc}\n")
        return 3
    except Failure as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"{exc.strerror}: {exc.filename}\n")
        return 2
    return 0
