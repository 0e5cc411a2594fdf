"""A push whose session is being stopped: the engine still shows it running for a moment after
its commands were killed, and the error must still say the session went away."""

from __future__ import annotations

from typing import Any

import pytest

from container.errors import ClaudexError, SessionNotRunning
from container.transfer.push import _running_after_a_moment, _session_gone


class StoppingEngine:
    """Reports the container running for the first `running_for` inspections."""

    def __init__(self, running_for: int) -> None:
        self.left = running_for
        self.inspections = 0

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        self.inspections += 1
        self.left -= 1
        return {"State": {"Running": self.left >= 0}}


def test_a_session_that_settles_to_stopped_is_reported_gone() -> None:
    api = StoppingEngine(running_for=3)
    with pytest.raises(SessionNotRunning, match="during the push"):
        _session_gone(api, "c", ClaudexError(""))  # type: ignore[arg-type]
    assert api.inspections == 4


def test_a_session_still_running_is_not_called_gone() -> None:
    api = StoppingEngine(running_for=10**6)
    assert _running_after_a_moment(api, "c", wait=0.3)  # type: ignore[arg-type]
    _session_gone_raised = False
    try:
        _session_gone(StoppingEngine(running_for=0), "c", KeyboardInterrupt())  # type: ignore[arg-type]
    except SessionNotRunning:
        _session_gone_raised = True
    assert not _session_gone_raised  # an interruption is never blamed on the session
