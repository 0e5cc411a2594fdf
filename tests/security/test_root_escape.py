"""No root for the agent: not through the dashboard's watcher, the init, claudex's own scripts,
pushes, or any other place root works in a session (container/context/README.md lists them).

Each test plays the agent (uid 4242, `as_agent`) on the real engine and image, then checks what
a user cares about: no root-owned file changed owner, mode or contents; the session still
starts and its firewall still refuses egress to a server this module started; a session whose
scripts were changed does not start at all. The traffic goes only to this module's network.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from container.errors import ClaudexError, UsageError
from container.exec_channel import DockerExec
from container.session_attach import AGENT_TMUX
from container.sessions import Sessions
from container.transfer import push as transfer_push
from container.watch import WaitingWatcher
from tests.integration.conftest import REPO, Result
from tests.security.conftest import (
    AGENT,
    as_agent,
    as_root,
    blocked_server,
    wait_for,
)

TAG = secrets.token_hex(3)
# Not the shared test prefix: a parallel pytest run removes those containers when it ends.
PREFIX = f"claudexroot-{TAG}"
NET = PREFIX
PORT = 8000
# Root's files an escape would touch first (owner, mode, links and contents are compared).
ROOT_FILES = [
    "/etc/python3.11/sitecustomize.py",
    "/etc/passwd",
    "/etc/shadow",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/lib/claudex",
    "/usr/local/lib/claudex/init.sh",
    "/usr/local/lib/claudex/firewall.sh",
    "/usr/local/lib/claudex/notify.sh",
    "/etc/claudex",
    "/etc/claudex/tmux.conf",
    "/etc/claude-code/managed-settings.json",
]


def run_cli(*args: str, timeout: float = 180) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "claudex_tui.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def net(engine: docker.DockerClient, image: str) -> Iterator[dict[str, Any]]:
    """Our own network with a server that sessions must not reach (`blocked.test`)."""
    with blocked_server(engine, image, PREFIX, PORT) as (address, server):
        yield {"blocked": address, "server": server}


@pytest.fixture
def session(
    net: dict[str, Any], tmp_path: Path, engine: docker.DockerClient
) -> Iterator[tuple[str, Path]]:
    """A fresh session (firewall on, agent a plain shell) on our network; its project dir."""
    proj = tmp_path / "proj"
    proj.mkdir()
    os.chown(proj, int(AGENT), int(AGENT))
    name = f"{PREFIX}-{secrets.token_hex(3)}"
    res = run_cli(str(proj), "--name", name, "-d", "--agent", "shell", "--network", NET)
    assert res.code == 0, res.text
    yield name, proj
    with contextlib.suppress(docker.errors.NotFound):
        engine.api.remove_container(name, force=True, v=True)


def start_again(name: str, proj: Path) -> Result:
    """What the user types to come back to a stopped session."""
    return run_cli(str(proj), "--name", name, "-d", "--agent", "shell", "--network", NET)


def root_files(engine: docker.DockerClient, name: str) -> dict[str, str]:
    """Owner, mode, link count and digest of each of root's files."""
    code, out = as_root(
        engine,
        name,
        "for f in " + " ".join(ROOT_FILES) + "; do "
        'printf \'%s %s \' "$f" "$(stat -c \'%u:%g %a %h %F\' "$f")"; '
        '[ -f "$f" ] && sha256sum <"$f" | cut -c1-16 || echo dir; done',
    )
    assert code == 0, out
    return dict(line.split(" ", 1) for line in out.splitlines())


def egress_refused(engine: docker.DockerClient, name: str, address: str) -> str:
    """What the agent gets when it connects to the blocked server by address."""
    code, out = as_agent(
        engine,
        name,
        "python3 -c 'import socket\n"
        "try:\n"
        f'    socket.create_connection(("{address}", {PORT}), timeout=5); print("connected")\n'
        "except OSError as e:\n"
        "    print(type(e).__name__)'",
    )
    assert code == 0, out
    return out.strip()


def agent_python(engine: docker.DockerClient, name: str, code: str) -> tuple[int, str]:
    return as_agent(engine, name, f"python3 - <<'EOF'\n{code}\nEOF")


def firewall_mode(name: str) -> str:
    import json

    res = run_cli("firewall", "status", name, "--format", "json")
    return str(json.loads(res.out)["mode"]) if res.out.strip().startswith("{") else res.text


def init_status(engine: docker.DockerClient, name: str) -> str:
    return as_root(engine, name, "cat /run/claudex/status")[1].strip()


def processes(engine: docker.DockerClient, name: str, pattern: str) -> list[tuple[str, str]]:
    """(pid, uid) of the processes whose command line holds `pattern` (a regex; its first
    character bracketed so that the shell running pgrep does not match itself)."""
    regex = f"[{pattern[0]}]{pattern[1:]}"
    _code, out = as_root(engine, name, f"pgrep -f -- {regex!r} | xargs -r ps -o pid=,uid= -p")
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]  # type: ignore[misc]


# -- 1. the dashboard's waiting watcher ------------------------------------------------------


def test_the_waiting_watcher_runs_as_the_agent_and_follows_no_link(
    session: tuple[str, Path], engine: docker.DockerClient
):
    name, _ = session
    before = root_files(engine, name)
    # The attack: the watcher used to `chmod 0666` this path as root.
    code, out = as_agent(
        engine,
        name,
        "mkdir -p /tmp/claudex && ln -sfn /etc/python3.11/sitecustomize.py /tmp/claudex/waiting"
        " && ln /etc/python3.11/sitecustomize.py /tmp/claudex/hard",
    )
    # protected_hardlinks: no hard link to a root file the agent cannot write.
    assert code != 0 and "Operation not permitted" in out, out

    lines: list[str] = []
    watcher = WaitingWatcher(engine, engine.api.inspect_container(name)["Id"], lines.append)
    watcher.start()
    try:
        readers = wait_for(
            "the watcher's reader in the session",
            lambda: processes(engine, name, "/tmp/claudex/waiting"),
        )
        assert [uid for _, uid in readers] == [AGENT]  # type: ignore[attr-defined]
        # A FIFO at the path: nobody opens it to block on; then a normal notification.
        as_agent(engine, name, "rm /tmp/claudex/waiting; mkfifo /tmp/claudex/waiting")
        code, out = as_agent(
            engine, name, "sleep 1; rm /tmp/claudex/waiting; /usr/local/lib/claudex/notify.sh stop"
        )
        assert code == 0, out
        wait_for("the notification", lambda: any(line.endswith(" stop") for line in lines))

        # Bounded: a flood of lines, one of a megabyte, escape sequences; then a marker.
        flood = (
            "import sys\n"
            "f = open('/tmp/claudex/waiting', 'a')\n"
            "for i in range(20000): f.write(f'line {i}\\n')\n"
            "f.write('x' * 1000000 + '\\n')\n"
            "f.write('end \\x1b]0;title\\x07 \\x1b[31mred\\n')\n"
        )
        count = len(lines)
        code, out = agent_python(engine, name, flood)
        assert code == 0, out
        wait_for("the marker line", lambda: any(line.startswith("end") for line in lines))
        assert len(lines) - count <= 3, lines[count:]
        assert all(len(line) <= 200 and "\x1b" not in line for line in lines), lines
    finally:
        watcher.stop()
    # Its connection closed, the reader in the session ends (the engine keeps execs running).
    wait_for(
        "the reader to end with the dashboard's connection",
        lambda: not processes(engine, name, "/tmp/claudex/waiting"),
        timeout=10,
    )
    assert root_files(engine, name) == before
    code, out = as_root(engine, name, "stat -c '%u %a' /tmp/claudex")
    assert out.split()[0] == AGENT  # root never made it world-writable


def test_the_watchers_reader_ends_when_the_dashboard_process_dies(
    session: tuple[str, Path], engine: docker.DockerClient
):
    name, _ = session
    dashboard = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, docker\n"
            "from container.watch import WaitingWatcher\n"
            "WaitingWatcher(docker.from_env(), sys.argv[1], print).start()\n"
            "time.sleep(600)\n",
            engine.api.inspect_container(name)["Id"],
        ],
        cwd=REPO,
    )
    try:
        wait_for("the reader", lambda: processes(engine, name, "/tmp/claudex/waiting"))
    finally:
        dashboard.kill()  # no stop(), no cleanup: the process is just gone
        dashboard.wait()
    wait_for(
        "the reader to end with the dead dashboard's connection",
        lambda: not processes(engine, name, "/tmp/claudex/waiting"),
        timeout=10,
    )


# -- 2. the init, at every start ---------------------------------------------------------------


def test_links_planted_in_the_home_and_tmp_do_not_reach_roots_files_at_restart(
    session: tuple[str, Path], engine: docker.DockerClient, net: dict[str, Any]
):
    name, proj = session
    before = root_files(engine, name)
    # Control: the blocked server listens (reachable from its own network), refused from here.
    assert net["server"].exec_run(["bash", "-c", f": </dev/tcp/127.0.0.1/{PORT}"]).exit_code == 0
    assert egress_refused(engine, name, net["blocked"]) == "ConnectionRefusedError"

    code, out = as_agent(
        engine,
        name,
        "cd ~ && rm -rf .profile .bashrc .config AGENTS.md /tmp/tmux-4242"
        " && ln -s /etc/passwd .profile"  # was chowned to the agent
        " && ln -s /etc/claudex-planted .bashrc"  # dangling: cp -n created it as root
        " && ln -s /usr/local/lib/claudex .config"  # install -d -o chowned the target
        " && ln -s /etc/shadow AGENTS.md"
        " && ln -s /usr/local/lib/claudex /tmp/tmux-4242"
        " && { ln /usr/local/lib/claudex/firewall.sh /tmp/hard 2>&1 || true; }",
    )
    assert code == 0, out
    assert "Operation not permitted" in out  # protected_hardlinks refuses the hard link

    engine.api.stop(name, timeout=2)
    res = start_again(name, proj)
    assert res.code == 0, res.text
    assert init_status(engine, name) == "ready"
    assert root_files(engine, name) == before
    assert as_root(engine, name, "test -e /etc/claudex-planted")[0] != 0
    assert firewall_mode(name) == "enforcing"
    assert egress_refused(engine, name, net["blocked"]) == "ConnectionRefusedError"
    # The agent's own terminal is back, as the agent.
    tmux = processes(engine, name, "tmux -f /etc/claudex/tmux.conf new-session")
    assert [uid for _, uid in tmux] == [AGENT]


# -- 3. claudex's own scripts, verified at every start -----------------------------------------


def test_a_session_whose_scripts_were_changed_does_not_start(
    session: tuple[str, Path], engine: docker.DockerClient
):
    name, proj = session
    # As if an escape to root had happened: a firewall that "applies" nothing.
    code, out = as_root(
        engine,
        name,
        "printf '#!/bin/sh\\ntouch /stub-ran; echo enforcing\\n' "
        "> /usr/local/lib/claudex/firewall.sh",
    )
    assert code == 0, out
    engine.api.stop(name, timeout=2)

    res = start_again(name, proj)
    assert res.code != 0
    assert "/usr/local/lib/claudex/firewall.sh" in res.err and "--replace" in res.err, res.err
    assert "Traceback" not in res.text
    assert engine.api.inspect_container(name)["State"]["Running"] is False

    # The dashboard's start and restart go through the same check.
    sessions = Sessions(engine)
    with pytest.raises(ClaudexError, match=r"firewall\.sh"):
        sessions.start_existing(sessions.get(name))
    assert engine.api.inspect_container(name)["State"]["Running"] is False

    # Started behind claudex's back (`docker start`), the image's init refuses on its own.
    engine.api.start(name)
    status = wait_for(
        "the init's verdict",
        lambda: (s := init_status(engine, name)) not in ("", "starting") and s,
    )
    assert str(status).startswith("failed: claudex's own files"), status
    assert not processes(engine, name, "tmux")  # the agent never started
    assert as_root(engine, name, "test -e /stub-ran")[0] != 0  # nor did the stub run


def test_loose_modes_on_claudex_files_also_refuse_the_start(
    session: tuple[str, Path], engine: docker.DockerClient
):
    name, proj = session
    as_root(engine, name, "chmod 0666 /etc/claudex/tmux.conf; touch /etc/claudex/extra")
    engine.api.stop(name, timeout=2)
    res = start_again(name, proj)
    assert res.code != 0
    assert "/etc/claudex/tmux.conf" in res.err and "/etc/claudex/extra" in res.err, res.err


def test_restarting_an_untouched_session_still_works_and_is_checked_quickly(
    session: tuple[str, Path], engine: docker.DockerClient
):
    from container import integrity

    name, _ = session
    sessions = Sessions(engine)
    s = sessions.get(name)
    assert integrity.FILES_LABEL in s.labels  # the image carries its manifest
    # Many files in the agent's home and /tmp cost nothing here (the engine's diff walks them).
    code, out = as_agent(engine, name, "mkdir ~/many && cd ~/many && seq 20000 | xargs touch")
    assert code == 0, out
    engine.api.stop(name, timeout=2)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        assert integrity.check(engine.api, s.id, s.labels) == []
        times.append(time.perf_counter() - start)
    assert min(times) < 1.0, times  # two small archives (~0.1 s)
    sessions.restart(sessions.get(name))
    sessions.wait_ready(s.id, name)


# -- 4. pushes: the engine writes as root into the agent's folders ------------------------------


@pytest.mark.parametrize("swapped", ["dest", "merged"])
def test_a_push_never_lands_in_roots_folders_when_the_agent_swaps_a_folder_for_a_link(
    session: tuple[str, Path], engine: docker.DockerClient, monkeypatch: pytest.MonkeyPatch,
    swapped: str,
):  # fmt: skip
    name, _ = session
    before = root_files(engine, name)
    cid = engine.api.inspect_container(name)["Id"]
    as_agent(engine, name, "mkdir -p /workspace/proj/inbox/share")
    # The user pushes a folder `bin` (into inbox) or `share/bin` (merging into inbox/share).
    src = Path(tempfile.mkdtemp())
    top = src / ("bin" if swapped == "dest" else "share")
    inner = top if swapped == "dest" else top / "bin"
    inner.mkdir(parents=True)
    (inner / "python3").write_text("#!/bin/sh\necho planted\n")
    # The agent swaps the folder for a link right after claudex checked it (deterministic
    # here; a loop of renameat2(RENAME_EXCHANGE) won this race in 2 pushes before the fix).
    target = "/workspace/proj/inbox" + ("" if swapped == "dest" else "/share")
    real_existing = transfer_push._existing

    def existing_then_swap(*args: Any, **kwargs: Any) -> dict[str, str]:
        found = real_existing(*args, **kwargs)
        code, out = as_agent(
            engine, name, f"mv {target} {target}.real && ln -s /usr/local {target}"
        )
        assert code == 0, out
        return found

    monkeypatch.setattr(transfer_push, "_existing", existing_then_swap)
    with pytest.raises(UsageError, match="no longer a directory"):
        transfer_push.push(engine.api, cid, [str(top)], "/workspace/proj/inbox", uid=4242, gid=4242)
    assert root_files(engine, name) == before
    _code, out = as_root(engine, name, "ls -A /usr/local/bin | grep -c claudex-part || true")
    assert out.strip() == "0"
    assert engine.api.inspect_container(name)["State"]["Status"] == "running"  # unpaused


# -- 5. the next attacks -----------------------------------------------------------------------


def test_roots_python_never_imports_from_folders_the_agent_writes(
    session: tuple[str, Path], engine: docker.DockerClient
):
    name, _proj = session
    modules = ["json", "subprocess", "hashlib", "tarfile", "tempfile", "shutil", "stat", "re"]
    plant = "; ".join(
        f"for d in /workspace/proj /workspace /tmp ~; do "
        f'echo \'open("/tmp/imported-{m}", "w")\' > $d/{m}.py; done'
        for m in modules
    )
    code, out = as_agent(engine, name, plant)
    assert code == 0, out
    for args in (("diff", name), ("diff", name, "--stat"), ("firewall", "status", name)):
        res = run_cli(*args)
        assert "Traceback" not in res.text, res.text
    Sessions(engine).read_status(engine.api.inspect_container(name)["Id"])
    code, out = as_root(engine, name, "ls /tmp | grep imported- || true")
    assert out.strip() == ""


def test_the_agent_cannot_read_or_trace_roots_processes(
    session: tuple[str, Path], engine: docker.DockerClient
):
    name, _ = session
    # A root helper as claudex runs them (docker exec as root), alive while we try.
    helper = engine.api.exec_create(name, ["sleep", "31"], user="root", workdir="/")["Id"]
    engine.api.exec_start(helper, detach=True)
    found = wait_for("the root helper", lambda: processes(engine, name, "sleep 31"))
    pid = found[0][0]  # type: ignore[index]
    dns = processes(engine, name, "dnsmasq --conf-file")
    probe = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for pid in (1, {pid}, {dns[0][0] if dns else 1}):
    for what in ("environ", "mem", "fd/0"):
        try:
            open(f"/proc/{{pid}}/{{what}}", "rb").read(1); print(pid, what, "READ")
        except OSError as e:
            print(pid, what, type(e).__name__)
    rc = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
    print(pid, "ptrace", "ATTACHED" if rc == 0 else os.strerror(ctypes.get_errno()))
"""
    code, out = agent_python(engine, name, probe)
    assert code == 0, out
    assert "READ" not in out and "ATTACHED" not in out, out
    assert out.count("Operation not permitted") == 3, out
    # No core files from root's programs: their soft limit is 0 and the agent cannot raise it.
    code, out = as_root(engine, name, f"grep 'core file' /proc/1/limits /proc/{pid}/limits")
    assert all(line.split()[-3] == "0" for line in out.splitlines()), out
    code, out = as_agent(engine, name, f"prlimit --pid {pid} --core=unlimited")
    assert code != 0


def test_the_agent_cannot_change_what_root_or_the_hooks_read(
    session: tuple[str, Path], engine: docker.DockerClient
):
    name, _ = session
    for path in (
        "/run/claudex/status",
        "/run/claudex/new-file",
        "/etc/claude-code/managed-settings.json",
        "/usr/local/lib/claudex/notify.sh",
        "/etc/claudex/firewall/allow",
    ):
        code, out = as_agent(engine, name, f"echo x >> {path}")
        assert code != 0 and "Permission denied" in out, (path, out)
    code, out = as_root(engine, name, "stat -c '%U %a' /run/claudex /etc/claude-code")
    assert out.split() == ["root", "755", "root", "755"], out


def test_the_dashboards_terminal_attaches_as_the_agent(
    session: tuple[str, Path], engine: docker.DockerClient
):
    name, _ = session
    from claudex_tui.commands.shell import agent_user

    s = Sessions(engine).get(name)
    channel = DockerExec(engine, s.id, AGENT_TMUX, user=agent_user(s))
    channel.start(24, 80)
    try:
        clients = wait_for(
            "the attach client", lambda: processes(engine, name, "attach-session -t agent")
        )
        assert [uid for _, uid in clients] == [AGENT]  # type: ignore[attr-defined]
    finally:
        channel.close()


def test_a_directory_owned_by_group_root_gives_the_agent_another_group(
    net: dict[str, Any], tmp_path: Path, engine: docker.DockerClient
):
    proj = tmp_path / "proj"
    proj.mkdir()
    os.chown(proj, int(AGENT), 0)
    name = f"{PREFIX}-{secrets.token_hex(3)}"
    res = run_cli(str(proj), "--name", name, "-d", "--agent", "shell", "--network", NET)
    assert res.code == 0, res.text
    assert "group root" in res.err
    tmux = processes(engine, name, "tmux -f /etc/claudex/tmux.conf new-session")
    _code, out = as_root(engine, name, f"grep -E '^(Uid|Gid|Groups)' /proc/{tmux[0][0]}/status")
    fields = {line.split(":")[0]: line.split()[1:] for line in out.splitlines()}
    assert fields["Uid"][0] == AGENT and fields["Gid"][0] == AGENT, out
    assert "0" not in fields.get("Groups", []), out
