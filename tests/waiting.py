"""Waiting for a condition, with a deadline and a message saying what was awaited.

Never "long enough": a fixed sleep is too short on a loaded machine and wasted time on an idle
one. `wait_for` is for plain threads, `until` for Pilot tests (it lets the app run between
checks)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual.pilot import Pilot
from textual.worker import WorkerState

T = TypeVar("T")


def _timed_out(what: str, timeout: float, last: object) -> AssertionError:
    seen = f" (last seen: {last!r})" if last not in (None, False, "") else ""
    return AssertionError(f"timed out after {timeout:g}s waiting for {what}{seen}")


def wait_for(what: str, check: Callable[[], T], timeout: float = 30.0) -> T:
    """Until `check()` is truthy (its value), or fail saying what was awaited."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(what, timeout, value)
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


async def until(pilot: Pilot[Any], check: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """Until `check()` is truthy (its value); the app handles its pending messages between
    checks (`pilot.pause()`), so a condition that needs the app to act can become true."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(what, timeout, value)
        await pilot.pause()


def steady(check: Callable[[], object]) -> Callable[[], bool]:
    """True when `check()` held at this call and at the one before: with `until`, the app has
    handled everything in between, so what held is not about to change by itself (a worker that
    just finished has had its message handled, and any work that message started is seen)."""
    held = [False]

    def both() -> bool:
        now = bool(check())
        before, held[0] = held[0], now
        return now and before

    return both


async def settled(pilot: Pilot[Any], what: str, timeout: float = 30.0) -> None:
    """Until no worker is pending or running at two checks in a row (a DirectoryTree's loader,
    which never ends, aside: it is idle while no listing of its own runs)."""
    app = pilot.app
    working = (WorkerState.PENDING, WorkerState.RUNNING)

    def idle() -> bool:
        return not [w for w in app.workers if w.group != "_loader" and w.state in working]

    await until(pilot, steady(idle), what, timeout)
