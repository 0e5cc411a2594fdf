"""Two real engines: the usual one and a second `dockerd` this test starts (standing for a
remote host) with its own socket, data root and networks, and no say over the host's iptables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from container import labels
from container.host_fs import HELPER_LABEL
from tests.integration.conftest import CLI, exec_in
from tests.integration.second_engine import RUN, SecondEngine
from tests.integration.tmux_pane import Pane

# This run's: another test run sharing the host has its own sessions.
PREFIX = f"claudexme{RUN}"
AGENT = "4242"


@pytest.fixture
def env(second_engine: SecondEngine, tmp_path: Path) -> dict[str, str]:
    """A config naming the second engine `d2`; sessions named with our own prefix."""
    conf = tmp_path / "xdg-config" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'[engines.d2]\nhost = "{second_engine.host}"\n')
    return {"XDG_CONFIG_HOME": str(conf.parent), "CLAUDEX_NAME_PREFIX": PREFIX}


@pytest.fixture(autouse=True, scope="module")
def _remove_our_sessions(engine: docker.DockerClient) -> Iterator[None]:
    yield
    for c in engine.api.containers(all=True, filters={"label": [labels.SIGNATURE]}):
        if any(n.lstrip("/").startswith(PREFIX) for n in c["Names"]):
            engine.api.remove_container(c["Id"], force=True, v=True)


def _listed(cli: CLI, env: dict[str, str], *args: str) -> list[dict[str, str]]:
    res = cli("list", "--format", "json", *args, env=env)
    assert res.code == 0, res.text
    return [s for s in json.loads(res.out) if s["name"].startswith(PREFIX)]


def test_sessions_on_both_engines_are_listed_with_their_engine(
    cli: CLI, env: dict[str, str], project: Path
) -> None:
    here = cli(str(project), "-d", "--agent", "shell", env=env)
    there = cli(str(project), "-d", "--agent", "shell", "--engine", "d2", env=env)
    assert here.code == 0 and there.code == 0, here.text + there.text
    name = here.out.strip()
    assert there.out.strip() == name  # same directories, same name: told apart by engine
    mine = [(s["engine"], s["state"]) for s in _listed(cli, env) if s["name"] == name]
    assert sorted(mine) == [("d2", "running"), ("default", "running")]
    assert [s["engine"] for s in _listed(cli, env, "--engine", "d2")] == ["d2"]
    table = cli("list", env=env)
    header, *rows = table.out.splitlines()
    assert "ENGINE" in header.split()
    assert {r.split()[header.split().index("ENGINE") + 1] for r in rows if name in r} == {
        "default",
        "d2",
    }
    unknown = cli("list", "--engine", "nope", env=env)
    assert unknown.code == 2 and "unknown engine 'nope' (known: default, d2)" in unknown.err


def test_diff_push_and_pull_on_the_second_engine(
    cli: CLI, env: dict[str, str], project: Path, second_engine: SecondEngine, tmp_path: Path
) -> None:
    res = cli(str(project), "-d", "--agent", "shell", "--engine", "d2", env=env)
    assert res.code == 0, res.text
    name = res.out.strip()
    d2 = second_engine.client()
    exec_in(d2, name, "echo changed >> /workspace/proj/README.md", user=AGENT)
    diff = cli("diff", name, "--engine", "d2", env=env)
    assert diff.code == 0 and "+changed" in diff.out, diff.text
    # The default engine has no such change (or no such session): the engines are not mixed.
    assert "+changed" not in cli("diff", name, env=env).out

    note = tmp_path / "note.txt"
    note.write_text("from this machine\n")
    assert cli("push", "--engine", "d2", "--name", name, str(note), env=env).code == 0
    code, out = exec_in(d2, name, "cat /workspace/note.txt")
    assert code == 0 and out == "from this machine\n"
    exec_in(d2, name, "echo from the session > /workspace/back.txt", user=AGENT)
    back = tmp_path / "back"
    back.mkdir()
    res = cli("pull", "--engine", "d2", "--name", name, "back.txt", str(back), env=env)
    assert res.code == 0, res.text
    assert (back / "back.txt").read_text() == "from the session\n"


def test_attach_on_the_second_engine(
    pane: Pane,
    cli: CLI,
    env: dict[str, str],
    project: Path,
) -> None:
    res = cli(str(project), "-d", "--agent", "shell", "--engine", "d2", env=env)
    assert res.code == 0, res.text
    setup = " ".join(f"{k}={v}" for k, v in env.items())
    pane.keys(f"{setup} {sys.executable} -m claudex_tui.cli attach --engine d2 {res.out.strip()}")
    pane.keys("Enter")
    pane.wait_for("agent@", timeout=60)
    pane.keys("echo on-d2-$((6*7))", "Enter")
    pane.wait_for("on-d2-42")
    pane.keys("C-]")
    assert "Traceback" not in pane.wait_for("detached from")


def test_a_stopped_engine_is_a_warning_then_comes_back(
    cli: CLI, env: dict[str, str], project: Path, second_engine: SecondEngine
) -> None:
    res = cli(str(project), "-d", "--agent", "shell", "--engine", "d2", env=env)
    assert res.code == 0, res.text
    name = res.out.strip()
    assert cli(str(project), "-d", "--agent", "shell", env=env).code == 0
    second_engine.stop()
    try:
        res = cli("list", "--format", "json", env=env)
        assert res.code == 0, res.text
        assert "engine d2 is not reachable" in res.err and "Traceback" not in res.err
        assert {s["engine"] for s in json.loads(res.out) if s["name"] == name} == {"default"}
        only = cli("list", "--engine", "d2", env=env)
        assert only.code == 1 and "engine d2 is not reachable" in only.err
    finally:
        second_engine.start()
    # live-restore: the session kept running while its engine was away.
    back = [s for s in _listed(cli, env, "--engine", "d2") if s["name"] == name]
    assert [s["state"] for s in back] == ["running"]


async def test_dashboard_groups_by_engine_and_survives_one_going_down(
    cli: CLI, env: dict[str, str], project: Path, second_engine: SecondEngine
) -> None:
    from claudex_tui.app import ClaudexApp
    from claudex_tui.config import Config, EngineConfig
    from tests.waiting import until
    from widgets.session_list import SessionRow

    res = cli(str(project), "-d", "--agent", "shell", "--engine", "d2", env=env)
    assert res.code == 0, res.text
    name = res.out.strip()
    assert cli(str(project), "-d", "--agent", "shell", env=env).code == 0
    remote, local = f"d2/{name}", name  # the same name on both engines: two rows
    config = Config(engines={"d2": EngineConfig(host=second_engine.host)})
    app = ClaudexApp(config=config)
    async with app.run_test(size=(120, 40)) as pilot:

        def rows() -> dict[str, SessionRow]:
            return app.session_list.rows  # replaced on each load

        await until(pilot, lambda: {remote, local} <= set(rows()), "both rows", timeout=40)
        headers = app.dashboard.engine_headers
        await until(
            pilot,
            lambda: headers["d2"].reachable and headers["d2"].version != "",
            "d2's header with its version",
        )
        assert headers["d2"].count >= 1 and headers["default"].reachable
        ids = [
            app.session_list.options.get_option_at_index(i).id
            for i in range(app.session_list.options.option_count)
        ]
        # A header row per engine, each followed by that engine's sessions.
        assert ids.index("engine:default") < ids.index(local) < ids.index("engine:d2")
        assert ids.index("engine:d2") < ids.index(remote)

        second_engine.stop()
        try:
            await until(
                pilot, lambda: rows()[remote].state == "unreachable", "d2's row unreachable"
            )
            assert headers["d2"].reachable is False and rows()[local].state == "running"
            banner = str(app.query_one("#banner").render())
            assert "engine d2" in banner and "retrying" in banner
            # The other engine stays live: a session stopped there shows as stopped.
            app.backend.clients["default"].api.stop(app.sessions[local].id, timeout=1)
            await until(pilot, lambda: rows()[local].state == "exited", "the local one exited")
        finally:
            second_engine.start()
        # Back without restarting the dashboard (live-restore kept the session running).
        await until(
            pilot, lambda: rows()[remote].state == "running", "d2's row running again", timeout=40
        )
        assert headers["d2"].reachable


# -- a remote engine: its host's directories, seen through the helper container -------------


@pytest.fixture
def far_env(second_engine: SecondEngine, tmp_path: Path) -> dict[str, str]:
    """The second engine named as another machine (`remote = true`), as an ssh:// or tcp://
    engine is: its directories are looked at on its host, through a helper container."""
    conf = tmp_path / "xdg-far" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(
        f'[engines.far]\nhost = "{second_engine.host}"\nremote = true\n'
    )
    return {"XDG_CONFIG_HOME": str(conf.parent), "CLAUDEX_NAME_PREFIX": PREFIX}


def _helpers(client: docker.DockerClient) -> list[dict[str, object]]:
    return client.api.containers(all=True, filters={"label": [HELPER_LABEL]})


def test_a_remote_engine_checks_directories_on_its_host(
    cli: CLI, far_env: dict[str, str], project: Path, second_engine: SecondEngine
) -> None:
    (project / ".env").write_text("TOKEN=secret\n")
    far = ["-d", "--agent", "shell", "--engine", "far"]
    missing = cli(str(project / "nope"), *far, env=far_env)
    assert missing.code == 2 and "directory not found on engine far" in missing.err
    relative = cli("proj", *far, cwd=project.parent, env=far_env)
    assert relative.code == 2 and "absolute path there" in relative.err, relative.text

    res = cli(str(project), *far, env=far_env)
    assert res.code == 0, res.text
    name = res.out.strip()
    d2 = second_engine.client()
    # The owner and the .env file, as that host told them through the helper.
    assert d2.containers.get(name).labels[labels.AGENT_UID] == f"{AGENT}:{AGENT}"
    code, out = exec_in(d2, name, "cat /workspace/proj/.env /workspace/proj/README.md")
    assert code == 0 and out == "hello\n"
    assert "hidden from the agent" in res.err and ".env" in res.err
    assert not _helpers(d2)  # the helper went with the command


async def test_dashboard_creates_a_session_on_a_remote_engine(
    project: Path, second_engine: SecondEngine
) -> None:
    from textual.widgets import Select

    from claudex_tui.app import ClaudexApp
    from claudex_tui.config import Config, EngineConfig
    from claudex_tui.screens.new_session import NewSessionScreen
    from tests.waiting import until
    from widgets.changes_panel import ChangesPanel
    from widgets.mount_picker import MountPicker

    config = Config(
        engines={"far": EngineConfig(host=second_engine.host, remote=True)}, agent="shell"
    )
    d2 = second_engine.client()
    app = ClaudexApp(config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: {"default", "far"} <= set(app.backend.clients), "both engines")
        await pilot.press("n")
        await until(
            pilot, lambda: isinstance(app.screen, NewSessionScreen), "the new-session window"
        )
        screen = app.screen
        assert isinstance(screen, NewSessionScreen)
        screen.query_one("#engine", Select).value = "far"

        def far_picker() -> MountPicker | None:
            found = [p for p in screen.query(MountPicker) if p.fs.remote]
            return found[0] if found else None

        picker = await until(pilot, far_picker, "the picker of engine far's host")
        assert picker is not None
        await until(
            pilot,
            lambda: picker.host_tree.border_title == "Directories on engine far",
            "the picker's title",
        )
        await until(pilot, lambda: len(_helpers(d2)) == 1, "the helper browsing that host")

        tree = picker.host_tree
        tree.path = str(project.parent)

        def project_node():  # type: ignore[no-untyped-def]
            return next((n for n in tree.nodes() if n.data and n.data.path.name == "proj"), None)

        def on_project() -> bool:
            """The cursor on the project, in the listing of its parent (a listing still
            loading puts the cursor back on its top: the folder itself)."""
            node = project_node()
            if node is None or tree.root.data is None or tree.root.data.path != project.parent:
                return False
            if tree.cursor_node is not node:
                tree.move_cursor(node)
            return tree.cursor_node is node

        await until(pilot, on_project, "the cursor on the project")
        await until(pilot, on_project, "the cursor still on the project")
        tree.focus()
        await pilot.press("space")
        assert [m.source for m in picker.marks] == [str(project)]
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: not isinstance(app.screen, NewSessionScreen),
            "the session created",
            timeout=120,
        )
        await until(
            pilot,
            lambda: app.selected is not None and app.selected.engine == "far",
            "the new session selected",
        )
        session = app.selected
        assert session is not None
        mounts = d2.api.inspect_container(session.id)["Mounts"]
        assert {(m["Source"], m["Destination"]) for m in mounts} >= {
            (str(project), "/workspace/proj")
        }
        await until(pilot, lambda: not _helpers(d2), "the helper gone with the window")

        # The rest works as on any engine: its terminal, then its changes.
        await until(
            pilot, lambda: "agent@" in app.export_screenshot(), "the agent's prompt", timeout=60
        )
        exec_in(d2, session.name, "echo remote edit >> /workspace/proj/README.md", user=AGENT)
        app.session_list.options.focus()
        await pilot.press("g")
        panel = app.query_one(ChangesPanel)
        await until(
            pilot,
            lambda: [c.path for c in panel.changes] == ["proj/README.md"],
            "the remote edit in the Changes tab",
            timeout=60,
        )


# -- an ssh:// engine: Debian's sshd on 127.0.0.1, its sessions reaching the second engine ---


@dataclass
class SshEngine:
    host: str  # ssh://root@127.0.0.1:PORT
    bin_dir: Path  # an `ssh` wrapper that uses our own client config, first on PATH


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ssh_engine(
    second_engine: SecondEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SshEngine]:
    """sshd with keys of its own, listening on 127.0.0.1 only; its sessions get DOCKER_HOST of
    the second engine, so `docker system dial-stdio` (what docker-py runs over ssh) reaches
    that engine. The ssh client is pointed at our own config by a wrapper on PATH: the user's
    ~/.ssh is never read or written."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(sshd).exists():
        pytest.fail("an ssh:// engine needs Debian's openssh-server (scripts/test.sh installs it)")
    d = tmp_path_factory.mktemp("ssh")
    for key in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True
        )
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    port = _free_port()
    host_pub = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"StrictModes no\nUsePAM no\nSetEnv DOCKER_HOST={second_engine.host}\n"
    )
    (d / "ssh_config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {d}/client_key\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
    )
    bin_dir = d / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {d}/ssh_config "$@"\n')
    wrapper.chmod(0o755)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(d / "sshd_config")],
        stdout=open(d / "sshd.log", "ab"),  # noqa: SIM115 (outlives this call)
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            probe = subprocess.run(
                [str(wrapper), "-p", str(port), "root@127.0.0.1", "true"], capture_output=True
            )
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError((d / "sshd.log").read_text()[-2000:] + probe.stderr.decode())
            time.sleep(0.2)
        yield SshEngine(f"ssh://root@127.0.0.1:{port}", bin_dir)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def ssh_env(ssh_engine: SshEngine, tmp_path: Path) -> dict[str, str]:
    conf = tmp_path / "xdg-ssh" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'[engines.overssh]\nhost = "{ssh_engine.host}"\n')
    return {
        "XDG_CONFIG_HOME": str(conf.parent),
        "CLAUDEX_NAME_PREFIX": PREFIX,
        "PATH": f"{ssh_engine.bin_dir}:{os.environ['PATH']}",
    }


def test_an_ssh_engine_runs_sessions_like_any_other(
    cli: CLI,
    ssh_env: dict[str, str],
    project: Path,
    second_engine: SecondEngine,
    tmp_path: Path,
) -> None:
    over = ["--engine", "overssh"]
    res = cli(str(project), "-d", "--agent", "shell", *over, env=ssh_env)
    assert res.code == 0, res.text
    name = res.out.strip()
    d2 = second_engine.client()  # where the ssh engine's sessions really run
    assert d2.containers.get(name).labels[labels.AGENT_UID] == f"{AGENT}:{AGENT}"
    assert not _helpers(d2)  # the directories were looked at there, and the helper is gone

    listed = [s for s in _listed(cli, ssh_env, *over) if s["name"] == name]
    assert [(s["engine"], s["state"]) for s in listed] == [("overssh", "running")]

    exec_in(d2, name, "echo over ssh >> /workspace/proj/README.md", user=AGENT)
    diff = cli("diff", name, *over, env=ssh_env)
    assert diff.code == 0 and "+over ssh" in diff.out, diff.text

    note = tmp_path / "note.txt"
    note.write_text("sent over ssh\n")
    assert cli("push", *over, "--name", name, str(note), env=ssh_env).code == 0
    assert exec_in(d2, name, "cat /workspace/note.txt") == (0, "sent over ssh\n")
    back = tmp_path / "back"
    back.mkdir()
    res = cli("pull", *over, "--name", name, "proj/README.md", str(back), env=ssh_env)
    assert res.code == 0, res.text
    assert (back / "README.md").read_text() == "hello\nover ssh\n"
