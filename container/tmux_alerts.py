"""Bell and output of a session whose terminal nobody reads: from its agent's tmux, not from
its output (a hidden terminal is detached: widgets/terminal/widget.py, `detach_hidden`).

A reader in the session, as the agent (scripts/tmux_alerts.sh), prints each window's bell
flag and last output time when they change; tmux sets a window's bell flag only while no
client shows it, which is exactly when the dashboard is not reading. The agent owns its tmux
and that reader, so what comes back is hostile: only well-formed `FLAG:TIME` tokens count,
and all they can do is what output or a bell of the agent's could do anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from container import scripts
from container.watch import WaitingWatcher

if TYPE_CHECKING:
    import docker

EVERY_SECONDS = 2  # how often the reader asks tmux (a tmux client each time)
_SCRIPT = scripts.source("tmux_alerts.sh")
_TOKEN = re.compile(r"([01]):([0-9]{1,12})")

BELL = "bell"
ACTIVITY = "activity"


class AlertParser:
    """Turns the reader's lines into `bell` (a window's flag came up) and `activity` (a window
    wrote output since the last line) calls; the first line is only where things stand."""

    def __init__(self, on_alert: Callable[[str], None]) -> None:
        self.on_alert = on_alert
        self._bell = False
        self._activity: int | None = None

    def line(self, text: str) -> None:
        tokens = [_TOKEN.fullmatch(t) for t in text.split()]
        found = [m for m in tokens if m is not None]
        if not found:
            return
        bell = any(m.group(1) == "1" for m in found)
        activity = max(int(m.group(2)) for m in found)
        first = self._activity is None
        rang = bell and not self._bell
        wrote = self._activity is not None and activity != self._activity
        self._bell, self._activity = bell, activity
        if first:
            return
        if wrote:
            self.on_alert(ACTIVITY)
        if rang:
            self.on_alert(BELL)


class AlertsWatcher(WaitingWatcher):
    """Calls `on_alert(BELL or ACTIVITY)` for the agent's tmux of a session; like the waiting
    watcher it runs as the agent (a session without that label is not watched) and ends when
    stopped (its reader sees its stdin end)."""

    def __init__(
        self,
        client: docker.DockerClient,
        container_id: str,
        on_alert: Callable[[str], None],
        every: float = EVERY_SECONDS,
    ) -> None:
        super().__init__(client, container_id, AlertParser(on_alert).line)
        self.every = every
        self._thread.name = "claudex-alerts"

    def command(self) -> list[str]:
        return ["bash", "-c", _SCRIPT, "claudex-alerts", str(self.every)]
