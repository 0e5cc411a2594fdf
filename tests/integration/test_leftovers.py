"""Nothing is left behind: transfers ended by a signal, a destroy or a stop leave no staged
file on either side and never a paused session; every terminal claudex opens in a session
ends when its user goes (detach, quit, close, crash).

Each interruption is a real signal to a real `claudex` process on a terminal, sent once
bytes are moving (its progress bar counts MiB, or the staged file grows)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
import pytest
from ptyprocess import PtyProcessUnicode

from tests.integration.conftest import CLI, GIB, REPO, exec_in
from tests.integration.tmux_pane import Pane
from tests.security.conftest import wait_for

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
AGENT_PROMPT = "agent@proj:"
CLAUDEX = [sys.executable, "-m", "claudex_tui.cli"]


@pytest.fixture
def session(cli: CLI, project: Path) -> str:
    res = cli(str(project), "-d", "--agent", "shell", "--host-network")
    assert res.code == 0, res.text
    return res.out.strip()


def _spawn(*args: str) -> PtyProcessUnicode:
    return PtyProcessUnicode.spawn(
        [sys.executable, "-m", "claudex_tui.cli", *args],
        cwd=str(REPO),
        env=dict(os.environ),
        dimensions=(40, 160),
    )


def _read_until(proc: PtyProcessUnicode, test: Callable[[str], bool], what: str) -> str:
    screen = ""
    deadline = time.monotonic() + 60
    while not test(screen):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; it printed: {screen!r}")
        try:
            screen += proc.read(4096)
        except EOFError:
            raise AssertionError(f"it ended before {what}: {screen!r}") from None
    return screen


def _finish(proc: PtyProcessUnicode, screen: str = "") -> tuple[int, str]:
    """Everything it prints until it ends, and its exit status (or -signal)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            screen += proc.read(4096)
        except EOFError:
            break
    proc.wait()
    code = proc.exitstatus if proc.exitstatus is not None else -(proc.signalstatus or 0)
    return code, screen


def _moving(screen: str) -> bool:
    return " MiB of " in screen


def _staged_on_host(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".claudex-" in n)


def _staged_in_session(engine: docker.DockerClient, name: str) -> list[str]:
    _, out = exec_in(
        engine, name, "find /workspace /tmp /home/agent -name '*.claudex-*' 2>/dev/null", "root"
    )
    return out.split()


def _staged_in_tree(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*.claudex-*")]


def _state(engine: docker.DockerClient, name: str) -> str:
    return str(engine.api.inspect_container(name)["State"]["Status"])


def _growing(path_of: Callable[[], Path | None]) -> Callable[[], bool]:
    """True once the staged file exists and has grown since the last look."""
    seen = {"size": -1}

    def check() -> bool:
        path = path_of()
        if path is None:
            return False
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        grew = seen["size"] >= 0 and size > seen["size"] > 0
        seen["size"] = size
        return grew

    return check


def _host_part(folder: Path, pattern: str) -> Callable[[], Path | None]:
    def find() -> Path | None:
        found = sorted(folder.glob(pattern))
        return found[0] if found else None

    return find


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_push_into_a_mount_ended_by_a_signal_leaves_nothing(
    sig: signal.Signals,
    session: str,
    project: Path,
    engine: docker.DockerClient,
    big_file: Path,
) -> None:
    """The staged file lands in the user's own folder (the mount): a signal while the engine
    writes it (the session paused) removes it there, and the session runs again."""
    proc = _spawn("push", "--name", session, "--to", "/workspace/proj", str(big_file))
    screen = _read_until(proc, _moving, "bytes moving")
    wait_for(
        "the staged file growing in the project",
        _growing(_host_part(project, ".claudex-part-*")),
    )
    proc.kill(sig)
    code, screen = _finish(proc, screen)
    assert code == 130, screen
    assert "transfer cancelled" in screen and "Traceback" not in screen
    assert _state(engine, session) == "running"  # never left paused
    assert _staged_on_host(project) == []
    assert not (project / "big.bin").exists()
    assert _staged_in_session(engine, session) == []


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_push_into_the_session_ended_by_a_signal_leaves_nothing(
    sig: signal.Signals, session: str, engine: docker.DockerClient, big_file: Path
) -> None:
    """Into the container's own files (not a mount): cleaned in the session, as the agent."""
    proc = _spawn("push", "--name", session, "--to", "/home/agent", str(big_file))
    screen = _read_until(proc, _moving, "bytes moving")
    proc.kill(sig)
    code, screen = _finish(proc, screen)
    assert code == 130, screen
    assert "Traceback" not in screen
    assert _state(engine, session) == "running"
    assert _staged_in_session(engine, session) == []
    assert exec_in(engine, session, "test -e /home/agent/big.bin")[0] == 1


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_pull_ended_by_a_signal_leaves_nothing(
    sig: signal.Signals, session: str, engine: docker.DockerClient, tmp_path: Path
) -> None:
    code, out = exec_in(engine, session, "head -c 1073741824 /dev/urandom > ~/big.bin", "4242")
    assert code == 0, out
    dest = tmp_path / "out"
    dest.mkdir()
    proc = _spawn("pull", "--name", session, "/home/agent/big.bin", str(dest))
    screen = _read_until(proc, _moving, "bytes moving")
    wait_for("the pulled file growing", _growing(_host_part(dest, ".big.bin.claudex-part-*")))
    proc.kill(sig)
    code, screen = _finish(proc, screen)
    assert code == 130, screen
    assert "Traceback" not in screen
    assert os.listdir(dest) == []
    assert _staged_in_session(engine, session) == []


def _push_in_background(session: str, big_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLAUDEX, "push", "--name", session, "--to", "/workspace/proj", str(big_file)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _bundle_paths(bundle: Path, tmp: Path) -> list[str]:
    repo = tmp / "audit"
    subprocess.run(["git", "clone", "-q", "--mirror", str(bundle), str(repo)], check=True)
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--all", "--name-only", "--format="],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted({line for line in out.splitlines() if line})


def test_destroy_during_a_push_leaves_nothing(
    session: str,
    project: Path,
    engine: docker.DockerClient,
    big_file: Path,
    cli: CLI,
    tmp_path: Path,
) -> None:
    """Destroy while a push writes, with the staging of a push killed outright (SIGKILL: no
    cleanup ran) lying there too: nothing staged stays in the user's folder, and none of it is
    in the audit bundle."""
    stale = "mkdir -p sub && echo x > .claudex-part-0123456789ab-0 && echo y > "
    stale += "sub/.claudex-part-0123456789ab-1 && echo z > .claudex-manifest-0123456789ab"
    assert exec_in(engine, session, f"cd /workspace/proj && {stale}", "4242")[0] == 0

    proc = _push_in_background(session, big_file)

    def pushed() -> Path | None:
        found = [p for p in project.glob(".claudex-part-*") if "0123456789ab" not in p.name]
        return found[0] if found else None

    wait_for("the staged file growing", _growing(pushed))
    res = cli("destroy", "--force", "--name", session, timeout=600)
    assert res.code == 0, res.text
    out, _ = proc.communicate(timeout=120)
    assert "Traceback" not in out
    assert _staged_in_tree(project) == []
    bundles = sorted((Path(os.environ["XDG_STATE_HOME"]) / "claudex" / "audit").glob("*.bundle"))
    assert bundles, res.text
    paths = _bundle_paths(bundles[-1], tmp_path)
    assert not [p for p in paths if ".claudex-" in p], paths


@pytest.mark.parametrize("how", ["stop", "remove"])
def test_session_stopped_or_removed_during_a_push(
    how: str, session: str, project: Path, engine: docker.DockerClient, big_file: Path
) -> None:
    """The session goes away mid-way: the cleanup on the host needs no session."""
    proc = _push_in_background(session, big_file)
    wait_for("the staged file growing", _growing(_host_part(project, ".claudex-part-*")))
    if how == "stop":
        engine.api.stop(session, timeout=1)
    else:
        engine.api.remove_container(session, force=True)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Traceback" not in out, out
    assert "during the push" in out, out
    assert _staged_on_host(project) == []
    if how == "stop":
        assert _state(engine, session) == "exited"


def test_session_removed_during_a_pull(
    session: str, engine: docker.DockerClient, tmp_path: Path
) -> None:
    exec_in(engine, session, "head -c 1073741824 /dev/urandom > ~/big.bin", "4242")
    dest = tmp_path / "out"
    dest.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "claudex_tui.cli", "pull", "--name", session, "/home/agent/big.bin"],
        cwd=dest,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for("the pulled file growing", _growing(_host_part(dest, ".big.bin.claudex-part-*")))
    engine.api.remove_container(session, force=True)
    out, _ = proc.communicate(timeout=120)
    assert "Traceback" not in out, out
    # The engine may finish sending the file before it removes the session: whole or nothing.
    if proc.returncode == 0:
        assert os.listdir(dest) == ["big.bin"] and (dest / "big.bin").stat().st_size == GIB
    else:
        assert os.listdir(dest) == [], out


# -- terminals -----------------------------------------------------------------------------


def _clients(engine: docker.DockerClient, name: str) -> str:
    return exec_in(engine, name, "tmux list-clients 2>&1", "4242")[1].strip()


def _process_count(engine: docker.DockerClient, name: str) -> int:
    # counted by the same exec each time; a process that ends between the glob and ls is
    # reported on stderr (merged into the output) and not counted
    _, out = exec_in(engine, name, "ls -d /proc/[0-9]* 2>/dev/null | wc -l", "root")
    return int(out.strip())


def _wait_until_ready(engine: docker.DockerClient, name: str) -> None:
    wait_for(
        "the agent's tmux session",
        lambda: exec_in(engine, name, "tmux has-session -t agent", "4242")[0] == 0,
    )


def _kill_newest(pattern: str) -> None:
    pid = subprocess.run(
        ["pgrep", "-f", "-n", pattern], capture_output=True, text=True
    ).stdout.strip()
    assert pid, f"no process matches {pattern!r}"
    os.kill(int(pid), signal.SIGKILL)


def _clear(pane: Pane) -> None:
    """A clean pane, so the next wait sees only what the next command shows."""
    pane.keys("clear", "Enter")
    pane.wait_until(
        lambda screen: AGENT_PROMPT not in screen and "detached from" not in screen,
        "a cleared pane",
    )


def test_twenty_terminal_cycles_leave_no_client_and_no_process(
    pane: Pane,
    session: str,
    engine: docker.DockerClient,
) -> None:
    """The dashboard's terminal channel opened and closed 20 times, then `claudex attach`
    left with Ctrl-] 20 times (on a real terminal: tmux), then an attach killed outright (a
    crash, an SSH drop): no tmux client stays and the session has as many processes as
    before."""
    from container.session_attach import session_channel
    from container.sessions import Sessions
    from widgets.terminal.channel import ChannelPump

    _wait_until_ready(engine, session)
    wait_for("no client yet", lambda: _clients(engine, session) == "")
    baseline = _process_count(engine, session)

    info = Sessions(engine).resolve(session)
    for _ in range(20):
        got: list[bytes] = []
        pump = ChannelPump(session_channel(engine, info)(), got.append, print)
        pump.start(40, 120)
        wait_for("the terminal's first bytes", got.copy)
        pump.close()
        pump.join(5)

    attach = f"{sys.executable} -m claudex_tui.cli attach {session}"
    for _ in range(20):
        _clear(pane)
        pane.keys(attach, "Enter")
        pane.wait_for(AGENT_PROMPT, timeout=60)
        pane.keys("C-]")
        pane.wait_for("detached from")

    _clear(pane)
    pane.keys(attach, "Enter")
    pane.wait_for(AGENT_PROMPT, timeout=60)
    _kill_newest(f"claudex_tui.cli attach {session}")
    pane.wait_until(pane.at_prompt, "the shell prompt after the kill", timeout=20)

    wait_for("no tmux client left", lambda: _clients(engine, session) == "")
    wait_for(
        f"the process count back to {baseline}",
        lambda: _process_count(engine, session) == baseline,
    )


def _quit_dashboard(pane: Pane) -> None:
    """Ctrl-] then q; again if the dashboard focused its terminal once more meanwhile (a
    late refresh selects the session and focuses it: the q then reached the agent)."""
    for _ in range(5):
        pane.keys("C-]")
        pane.keys("q")
        try:
            pane.wait_until(pane.at_prompt, "the shell prompt after quitting", timeout=5)
            return
        except AssertionError:
            continue
    raise AssertionError(f"the dashboard never quit:\n{pane.text()}")


def test_dashboard_quit_or_killed_leaves_nothing_running(
    pane: Pane,
    session: str,
    project: Path,
    engine: docker.DockerClient,
) -> None:
    """A real dashboard, quit with q, then one killed outright: its terminal's tmux client
    and its waiting watcher end both times."""
    _wait_until_ready(engine, session)
    baseline = _process_count(engine, session)
    command = f"{sys.executable} -m claudex_tui.cli {project} --agent shell --host-network"
    for how in ("quit", "kill"):
        pane.keys(command, "Enter")
        pane.wait_for(AGENT_PROMPT, timeout=60)
        wait_for("the dashboard's client", lambda: _clients(engine, session) != "")
        if how == "quit":
            _quit_dashboard(pane)
        else:
            _kill_newest(f"claudex_tui.cli {project}")
        if how == "kill":
            pane.keys("reset; echo back-$((6*7))", "Enter")
            pane.wait_for("back-42", timeout=20)
        else:
            pane.wait_until(pane.at_prompt, "the shell prompt", timeout=20)
        wait_for("no tmux client left", lambda: _clients(engine, session) == "")
        wait_for(
            f"the process count back to {baseline}",
            lambda: _process_count(engine, session) == baseline,
        )


def test_bundle_helper_reads_a_bundle(tmp_path: Path) -> None:
    """`_bundle_paths` sees the files of every commit (so the destroy test can trust it)."""
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".claudex-part-abc").write_text("x")
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"}
    who |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True, env={**os.environ, **who})
    bundle = tmp_path / "b.bundle"
    subprocess.run([*git, "bundle", "create", "-q", str(bundle), "--all"], check=True)
    assert _bundle_paths(bundle, tmp_path) == [".claudex-part-abc"]
