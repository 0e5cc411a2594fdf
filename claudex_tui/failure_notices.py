"""Failures in the dashboard as notices the user can read, never a traceback on screen (the
app and the dashboard screen each dispatch their own messages and run their own workers)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from textual.app import App
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from container.errors import ClaudexError


def worker_failed(node: App[Any] | Widget, event: Worker.StateChanged) -> None:
    """Tell the user a background task failed (its error's message, no traceback)."""
    if event.state == WorkerState.ERROR and event.worker.error is not None:
        error = event.worker.error
        text = error.message if isinstance(error, ClaudexError) else str(error)
        node.notify(
            f"{event.worker.name or 'background task'} failed: {text}",
            severity="error",
            timeout=10,
        )


def handler_failed(node: App[Any] | Widget, error: Exception) -> None:
    """A handler's exception as a notice; its traceback in the state folder's log. Under
    tests (headless) run_test raises it at the end: no bug passes as a notice."""
    import traceback

    from container.state import state_dir

    where = ""
    with contextlib.suppress(OSError):
        log = state_dir() / "dashboard-errors.log"
        with log.open("a", encoding="utf-8") as out:
            out.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n")
            out.write("".join(traceback.format_exception(error)))
        where = f"\n(details in {log})"
    node.notify(
        f"Something failed: {type(error).__name__}: {error}{where}",
        severity="error",
        timeout=15,
    )
    app = node.app
    fail_tests = getattr(app, "handler_errors_fail_tests", False)
    if app.is_headless and fail_tests and app._exception is None:
        app._exception = error
