"""The History view reads the agent's terminal history: output the agent writes, from a tmux
server the agent runs. Played as the agent (uid 4242):

- garbage (random bytes) and a colour flood far past the byte cap in its pane: the capture
  stays under HISTORY_BYTES (or, on a loaded machine, gives up at its deadline with a clear
  error), parses in bounded time, and no row holds a control character (nothing reaches the
  user's terminal raw);
- a server of its own on root's tmux socket path: the capture runs as the agent's uid, so
  root's socket is never asked (the real pane's marker is read, not the planted one);
- a fake server that accepts and never answers: the capture gives up at its deadline with
  one clear error instead of holding the dashboard's worker.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from container.pane_history import (
    CAPTURE_SECONDS,
    HISTORY_BYTES,
    MAX_LINES,
    HistoryError,
    capture_history,
)
from container.sessions import Sessions
from tests.conftest import TEST_PREFIX
from tests.security.conftest import CLI, as_agent
from tests.waiting import wait_for
from widgets.terminal.history_rows import parse_history

# The newest 4 MiB of such a flood, as the capture keeps them (random bytes in the middle).
FLOOD_LIKE = (
    b"".join(
        b"".join(b"\x1b[38;5;%dmX" % ((i + j) % 256) for j in range(119)) + b"\n"
        for i in range(2500)
    )
    + os.urandom(256 * 1024)
    + b"\n\x1b[0mEND-OF-FLOOD\n"
)[-HISTORY_BYTES:]
PANE_TTY = "$(tmux display -p -t agent '#{pane_tty}')"


@pytest.fixture
def session(cli: CLI, project: Path, engine: docker.DockerClient) -> Iterator[str]:
    name = f"{TEST_PREFIX}-history-{uuid.uuid4().hex[:6]}"
    res = cli(str(project), "--name", name, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    yield name
    engine.api.remove_container(name, force=True, v=True)


def _capture(
    engine: docker.DockerClient, name: str, lines: int = MAX_LINES, seconds: float = CAPTURE_SECONDS
) -> bytes:
    return capture_history(engine, Sessions(engine).get(name), lines, seconds=seconds)


def _printed(engine: docker.DockerClient, name: str, marker: str, lines: int = MAX_LINES) -> bytes:
    def check() -> bytes:
        data = _capture(engine, name, lines)
        return data if marker.encode() in data else b""

    return wait_for(f"{marker} in the history", check, timeout=120)


def test_garbage_and_floods_stay_bounded_and_inert(
    engine: docker.DockerClient, session: str
) -> None:
    # Random bytes, then 6,000 rows with a colour change on every cell (~8 MB as tmux writes
    # it back with -e: twice the cap, and small enough for a loaded 2-core machine's tmux to
    # take in well within the wait below), then a marker: straight into the pane's terminal.
    flood = (
        "import sys\n"
        "w = sys.stdout.write\n"
        "for i in range(6000):\n"
        "    w(''.join('\\x1b[38;5;%dmX' % ((i + j) % 256) for j in range(119)) + '\\n')\n"
        "w('\\x1b[0mEND-OF-FLOOD\\n')\n"
    )
    code, out = as_agent(
        engine,
        session,
        f"head -c 1000000 /dev/urandom > {PANE_TTY}; "
        # An ST first: garbage that opened a DCS string keeps tmux reading it (all else, a
        # reset too, is the string's) until ST. Then a reset of whatever modes it set.
        f"printf '\\033\\\\\\033[?1049l\\033c' > {PANE_TTY}; "
        f"python3 -c {_quote(flood)} > {PANE_TTY}",
    )
    assert code == 0, out
    _printed(engine, session, "END-OF-FLOOD", lines=20)  # the pane has taken it all
    # The whole history: tmux writes back ~8 MB. Either the newest 4 MiB arrive, or (a loaded
    # machine, a slow remote engine) the capture gives up at its deadline with a clear error:
    # never more memory, never a wait without end.
    start = time.monotonic()
    try:
        data = _capture(engine, session)
    except HistoryError as exc:
        took = time.monotonic() - start
        assert "took more than" in exc.message and took < CAPTURE_SECONDS + 15, (took, exc)
        data = FLOOD_LIKE  # what it would have kept, parsed below all the same
    assert len(data) <= HISTORY_BYTES
    assert b"\x1b[38;5;" in data  # the colours came through, the oldest part was cut
    start = time.monotonic()
    rows = parse_history(data, 120)
    took = time.monotonic() - start
    assert took < 60, f"parsing {len(data)} bytes took {took:.1f}s"
    assert any("END-OF-FLOOD" in row.text for row in rows[-50:])
    for row in rows:
        assert row.text.isprintable(), repr(row.text[:80])
        assert all(seg.text.isprintable() for seg in row.segments)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def test_a_server_on_roots_socket_path_is_never_asked(
    engine: docker.DockerClient, session: str
) -> None:
    code, out = as_agent(
        engine,
        session,
        "mkdir -p /tmp/tmux-0 && chmod 700 /tmp/tmux-0 && "
        "tmux -S /tmp/tmux-0/default new-session -d -x 80 -y 10 "
        "'echo PLANTED-FOR-ROOT; sleep 600' && "
        f"echo REAL-PANE-{session} > {PANE_TTY}",
    )
    assert code == 0, out
    data = _printed(engine, session, f"REAL-PANE-{session}")
    assert b"PLANTED-FOR-ROOT" not in data


def test_a_server_that_never_answers_gives_up_at_the_deadline(
    engine: docker.DockerClient, session: str
) -> None:
    silent = (
        "import os, socket, time\n"
        "path = '/tmp/tmux-4242/default'\n"
        "os.unlink(path) if os.path.exists(path) else None\n"
        "s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(8)\n"
        "open('/tmp/silent-ready', 'w').close()\n"
        "held = []\n"
        "while True: held.append(s.accept())\n"
    )
    code, out = as_agent(
        engine,
        session,
        f"tmux kill-server; (setsid python3 -c {_quote(silent)} >/dev/null 2>&1 &) ; "
        "for i in $(seq 100); do [ -e /tmp/silent-ready ] && exit 0; sleep 0.1; done; exit 1",
    )
    assert code == 0, out
    start = time.monotonic()
    with pytest.raises(HistoryError) as caught:
        _capture(engine, session, seconds=3.0)
    took = time.monotonic() - start
    assert took < 20, f"the capture held on for {took:.1f}s"
    assert "history" in caught.value.message
