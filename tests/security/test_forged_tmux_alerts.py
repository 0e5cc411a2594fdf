"""The dashboard reads a hidden session's bell and output from its agent's tmux (a reader in
the session, as the agent: container/tmux_alerts.py). The agent owns that reader: it writes
what it likes into the reader's output, here megabytes of junk, markup, escapes and forged
tokens, without end. The user must see none of it, and typing into the dashboard is answered
while it goes on."""

from __future__ import annotations

import threading
from pathlib import Path

import docker

from claudex_tui.app import ClaudexApp
from claudex_tui.config import Config
from claudex_tui.screens.dashboard_base import terminal_id
from tests.security.conftest import CLI, as_agent
from tests.waiting import until
from widgets.terminal.widget import TerminalWidget

# As the agent: find the alerts reader (`bash -c SCRIPT claudex-alerts EVERY`) ...
FIND = r"""
for p in /proc/[0-9]*; do
  mapfile -d '' -t argv < "$p/cmdline" 2>/dev/null || continue
  if [ "${argv[0]}" = bash ] && [ "${argv[3]}" = claudex-alerts ]; then pid=${p#/proc/}; fi
done
[ -n "$pid" ] || { echo "no reader"; exit 3; }
"""
# ... and write into its standard output, as any process of the agent's uid may.
FORGE = (
    FIND
    + r"""
for i in $(seq 200); do
  printf '[bold red]PWNED[/] \033[2J\033]0;PWNED\007 1:99999999999 0:%s junk\n' "$i"
done > "/proc/$pid/fd/1"
# Then random bytes, a megabyte at a time, until the test says stop.
while [ ! -e /tmp/stop-forging ]; do head -c 1000000 /dev/urandom; done > "/proc/$pid/fd/1"
echo forged
"""
)


async def test_forged_alerts_show_nothing_and_slow_nothing(
    cli: CLI, project: Path, engine: docker.DockerClient
) -> None:
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    app = ClaudexApp(config=Config(), client_factory=lambda: engine, select=name)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session_list.selected == name, "the session selected")
        app.dashboard.action_open_terminal()
        term = app.query_one(f"#{terminal_id(name)}", TerminalWidget)
        await until(pilot, lambda: "agent@proj" in term.screen_text, "the agent's prompt", 60)

        def reader_runs() -> bool:
            return as_agent(engine, name, FIND)[0] == 0

        await until(pilot, reader_runs, "the alerts reader running")
        forged: list[tuple[int, str]] = []
        agent = threading.Thread(target=lambda: forged.append(as_agent(engine, name, FORGE)))
        agent.start()
        # Typed while the forgery floods in (it goes on until told): answered as ever.
        await pilot.press(*"echo typed-$((6*7))", "enter")
        await until(pilot, lambda: "typed-42" in term.screen_text, "typing still answered", 10)
        assert agent.is_alive(), forged  # still flooding
        as_agent(engine, name, "touch /tmp/stop-forging")
        await until(pilot, lambda: not agent.is_alive(), "the forgery stopped", 60)
        assert forged[0][0] == 0 and "forged" in forged[0][1], forged
        await pilot.press(*"echo after-$((6*7))", "enter")
        await until(pilot, lambda: "after-42" in term.screen_text, "typing after it", 10)
        await pilot.pause()
        shown = app.export_screenshot()
        assert "PWNED" not in shown and "99999999999" not in shown
        assert not any("PWNED" in str(n.message) for n in app._notifications)
        assert app.is_running and app.screen is app.dashboard
