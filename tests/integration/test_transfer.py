"""push/pull through the Engine API on the real engine: round trips, ownership, overwrite
rules, hostile content, cancelling, memory."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import docker
import pytest

from container.errors import UsageError
from container.transfer.cancel import Cancelled, CancelToken
from container.transfer.common import list_dir
from container.transfer.pull import pull
from container.transfer.push import push
from tests.integration.conftest import CLI, REPO, exec_in
from tests.peak_rss import MEASURED_CLAUDEX, split_peak

RSS_LIMIT = 100 * 1024 * 1024


def _digest_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _tree_digest(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = _digest_file(p)
    return out


def _sample(root: Path) -> Path:
    src = root / "payload"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "bin.dat").write_bytes(bytes(range(256)) * 4096)
    (src / "sub" / "ünïcødé ✓.txt").write_text("héllo\n")
    (src / "sub" / "deeper" / "x.txt").write_text("deep\n")
    (src / "link").symlink_to("sub/deeper/x.txt")
    return src


@pytest.fixture
def session(cli: CLI, project: Path) -> str:
    # Transfers do not need the network: --host-network keeps these tests independent of
    # the firewall (which has tests of its own).
    res = cli(str(project), "-d", "--agent", "shell", "--host-network")
    assert res.code == 0, res.text
    return res.out.strip()


def _run_measured(*args: str, cwd: Path = REPO) -> tuple[int, str, int]:
    """Run the CLI, returning exit code, stderr and its own peak RSS in bytes."""
    proc = subprocess.run(
        [*MEASURED_CLAUDEX, *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    err, peak = split_peak(proc.stderr)
    return proc.returncode, err, peak


def test_round_trip_with_a_1gb_file(
    session: str, tmp_path: Path, engine: docker.DockerClient, big_file: Path
) -> None:
    src = _sample(tmp_path)
    os.link(big_file, src / "big.bin")  # no copy: the same 1 GiB inode
    code, err, rss = _run_measured("push", "--name", session, str(src), "--to", "/workspace")
    assert code == 0, err
    assert rss <= RSS_LIMIT, f"push peak RSS {rss >> 20} MiB"
    _, out = exec_in(
        engine,
        session,
        "stat -c '%u:%g' /workspace/payload /workspace/payload/bin.dat "
        "/workspace/payload/big.bin /workspace/payload/empty; "
        "readlink /workspace/payload/link; sha256sum /workspace/payload/big.bin",
    )
    lines = out.split()
    assert lines[:4] == ["4242:4242"] * 4  # the agent user owns pushed files
    assert lines[4] == "sub/deeper/x.txt"
    assert lines[5] == _digest_file(big_file)

    back = tmp_path / "back"
    back.mkdir()
    code, err, rss = _run_measured("pull", "--name", session, "payload", str(back))
    assert code == 0, err
    assert rss <= RSS_LIMIT, f"pull peak RSS {rss >> 20} MiB"
    assert _tree_digest(back / "payload") == _tree_digest(src)
    assert (back / "payload" / "empty").is_dir()
    for p in (back / "payload").rglob("*"):
        assert p.lstat().st_uid == os.getuid()  # pulled files belong to the invoking user
    (src / "big.bin").unlink()


def test_push_into_a_mounted_directory_is_owned_by_the_user(
    session: str, cli: CLI, project: Path, tmp_path: Path
) -> None:
    f = tmp_path / "from-host.txt"
    f.write_text("hi")
    res = cli("push", "--name", session, str(f), "--to", "/workspace/proj")
    assert res.code == 0, res.text
    landed = project / "from-host.txt"
    assert landed.read_text() == "hi"
    assert (landed.stat().st_uid, landed.stat().st_gid) == (4242, 4242)


def test_push_refuses_directories_the_agent_cannot_write(session: str, cli: CLI, project: Path):
    res = cli("push", "--name", session, str(project / "README.md"), "--to", "/etc")
    assert res.code == 2
    assert "the agent user cannot write into /etc" in res.err


def test_overwrite_rules(session: str, cli: CLI, tmp_path: Path):
    f = tmp_path / "note.txt"
    f.write_text("one")
    assert cli("push", "--name", session, str(f)).code == 0
    f.write_text("two")
    res = cli("push", "--name", session, str(f))
    assert res.code == 0 and "skipped /workspace/note.txt" in res.err
    out = tmp_path / "out"
    out.mkdir()
    assert cli("pull", "--name", session, "note.txt", str(out)).code == 0
    assert (out / "note.txt").read_text() == "one"
    assert cli("push", "--name", session, str(f), "--force").code == 0
    res = cli("pull", "--name", session, "note.txt", str(out))
    assert "skipped" in res.err and (out / "note.txt").read_text() == "one"
    assert cli("pull", "--name", session, "note.txt", str(out), "--force").code == 0
    assert (out / "note.txt").read_text() == "two"


def test_merging_into_an_existing_directory_skips_existing_files(
    session: str, cli: CLI, tmp_path: Path, engine: docker.DockerClient
):
    src = _sample(tmp_path)
    assert cli("push", "--name", session, str(src)).code == 0
    exec_in(engine, session, "echo theirs > /workspace/payload/sub/deeper/x.txt", user="4242")
    (src / "sub" / "deeper" / "x.txt").write_text("mine\n")
    (src / "sub" / "new.txt").write_text("new\n")
    res = cli("push", "--name", session, str(src))
    assert res.code == 0, res.text
    assert "pushed /workspace/payload/sub/new.txt" in res.out
    assert "skipped /workspace/payload/sub/deeper/x.txt: it exists" in res.err
    assert "skipped /workspace/payload/bin.dat: it exists" in res.err
    _, out = exec_in(
        engine, session, "cat /workspace/payload/sub/deeper/x.txt /workspace/payload/sub/new.txt"
    )
    assert out == "theirs\nnew\n"
    res = cli("push", "--name", session, str(src), "--force")
    assert res.code == 0, res.text
    _, out = exec_in(
        engine,
        session,
        "cat /workspace/payload/sub/deeper/x.txt; find /workspace -name '.claudex-*' | wc -l",
    )
    assert out.split() == ["mine", "0"]  # no staged file left behind


def test_a_directory_is_never_replaced_by_a_file(
    session: str, cli: CLI, tmp_path: Path, engine: docker.DockerClient
):
    exec_in(
        engine,
        session,
        "mkdir -p /workspace/thing/inside && touch /workspace/thing/inside/f",
        user="4242",
    )
    f = tmp_path / "thing"
    f.write_text("a file now")
    res = cli("push", "--name", session, str(f), "--force")
    assert res.code == 1 and "thing: a directory is in the way" in res.err
    code, _ = exec_in(engine, session, "test -f /workspace/thing/inside/f")
    assert code == 0


def test_pull_from_a_stopped_session(
    session: str, cli: CLI, tmp_path: Path, engine: docker.DockerClient
):
    exec_in(engine, session, "echo kept > /workspace/result.txt", user="4242")
    engine.api.stop(session, timeout=1)
    out = tmp_path / "out"
    out.mkdir()
    res = cli("pull", "--name", session, "/workspace/result.txt", str(out))
    assert res.code == 0, res.text
    assert (out / "result.txt").read_text() == "kept\n"
    res = cli("push", "--name", session, str(out / "result.txt"))
    assert res.code != 0 and "not running" in res.err


def test_hostile_container_content_refused(
    session: str, cli: CLI, tmp_path: Path, engine: docker.DockerClient
):
    code, out = exec_in(
        engine,
        session,
        "mkdir /workspace/evil && cd /workspace/evil && "
        "ln -s /etc/passwd abs && ln -s ../../../../etc/shadow up && "
        "ln -s ../.. parent && mkfifo fifo && echo fine > ok.txt",
    )
    assert code == 0, out
    # Sessions have no CAP_MKNOD, so the engine itself places the device node.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dev = tarfile.TarInfo("dev")
        dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
        tar.addfile(dev)
    assert engine.api.put_archive(session, "/workspace/evil", buf.getvalue())
    out = tmp_path / "out"
    out.mkdir()
    before = sorted(os.listdir(tmp_path))
    res = cli("pull", "--name", session, "evil", str(out))
    assert res.code != 0
    for member in ("abs", "up", "parent", "dev", "fifo"):
        assert f"refused evil/{member}:" in res.err
    assert sorted(os.listdir(out / "evil")) == ["ok.txt"]
    assert sorted(os.listdir(tmp_path)) == before  # nothing written beside DEST


def test_missing_paths_are_clear(session: str, cli: CLI, project: Path, tmp_path: Path):
    res = cli("pull", "--name", session, "nope.txt", str(tmp_path))
    assert res.code != 0 and "/workspace/nope.txt does not exist" in res.err
    res = cli("push", "--name", session, str(tmp_path / "nope"))
    assert res.code != 0 and "no such file or directory" in res.err
    res = cli("push", "--name", session, str(project / "README.md"), "--to", "/nowhere")
    assert res.code != 0 and "/nowhere does not exist" in res.err
    res = cli("push", "--name", "no-such-session", str(project / "README.md"))
    assert res.code != 0 and "no claudex session named" in res.err
    res = cli("pull", "--name", session)  # no TTY: no picker
    assert res.code == 2 and "name what to pull" in res.err
    assert "Traceback" not in res.err


def _staged_leftovers(engine: docker.DockerClient, session: str) -> list[str]:
    _, out = exec_in(engine, session, "find /workspace -name '.claudex-*'")
    return out.split()


def test_cancelled_push_and_pull_leave_no_partial_file(
    session: str, tmp_path: Path, engine: docker.DockerClient, big_file: Path
):
    api = engine.api
    token = CancelToken()

    def stop_halfway(done: int, total: int) -> None:
        if done > total // 4:
            token.cancel()

    with pytest.raises(Cancelled):
        push(
            api,
            session,
            [str(big_file)],
            "/workspace",
            uid=4242,
            gid=4242,
            progress=stop_halfway,
            cancel=token,
        )
    code, _ = exec_in(engine, session, "test -e /workspace/big.bin")
    assert code == 1
    assert _staged_leftovers(engine, session) == []

    # a progress callback that raises cancels just the same
    def boom(done: int, total: int) -> None:
        if done > 64 << 20:
            raise Cancelled

    with pytest.raises(Cancelled):
        push(api, session, [str(big_file)], "/workspace", uid=4242, gid=4242, progress=boom)
    assert _staged_leftovers(engine, session) == []

    push(api, session, [str(big_file)], "/workspace", uid=4242, gid=4242)
    out = tmp_path / "out"
    out.mkdir()
    token = CancelToken()
    with pytest.raises(Cancelled):
        pull(api, session, "big.bin", out, progress=stop_halfway, cancel=token)
    assert os.listdir(out) == []


def _ctrl_c_once_copying(args: list[str]) -> tuple[int, str]:
    """Run the CLI on a terminal, press Ctrl-C once its progress bar shows bytes moving."""
    from ptyprocess import PtyProcessUnicode

    proc = PtyProcessUnicode.spawn(
        [sys.executable, "-m", "claudex_tui.cli", *args],
        cwd=str(REPO),
        env=dict(os.environ),
        dimensions=(40, 160),
    )
    screen = ""
    deadline = time.monotonic() + 60
    while " MiB of " not in screen and time.monotonic() < deadline:
        try:
            screen += proc.read(4096)
        except EOFError:
            pytest.fail(f"it ended before it could be interrupted: {screen}")
    proc.sendintr()
    while True:
        try:
            screen += proc.read(4096)
        except EOFError:
            break
    proc.wait()
    return proc.exitstatus, screen


def test_ctrl_c_cancels_cleanly(
    session: str, tmp_path: Path, engine: docker.DockerClient, big_file: Path
):
    code, screen = _ctrl_c_once_copying(["push", "--name", session, str(big_file)])
    assert code == 130, screen
    assert "transfer cancelled" in screen and "Traceback" not in screen
    code, _ = exec_in(engine, session, "test -e /workspace/big.bin")
    assert code == 1
    assert _staged_leftovers(engine, session) == []

    exec_in(engine, session, "head -c 1073741824 /dev/urandom > /workspace/big.bin", user="4242")
    out = tmp_path / "out"
    out.mkdir()
    code, screen = _ctrl_c_once_copying(["pull", "--name", session, "big.bin", str(out)])
    assert code == 130, screen
    assert "transfer cancelled" in screen and "Traceback" not in screen
    assert os.listdir(out) == []  # neither big.bin nor its temporary name


def test_list_dir(session: str, engine: docker.DockerClient) -> None:
    exec_in(
        engine,
        session,
        "mkdir -p /workspace/d/sub && echo 12345 > /workspace/d/f.txt && "
        "ln -s sub /workspace/d/to-sub",
        user="4242",
    )
    entries = {e.name: e for e in list_dir(engine.api, session, "d")}
    assert entries["sub"].kind == "dir"
    assert entries["f.txt"].kind == "file" and entries["f.txt"].size == 6
    assert entries["to-sub"].kind == "link" and entries["to-sub"].target_is_dir
    with pytest.raises(UsageError):
        list_dir(engine.api, session, "d/f.txt")


def test_interactive_picker(session: str, tmp_path: Path, engine: docker.DockerClient) -> None:
    from ptyprocess import PtyProcessUnicode

    exec_in(engine, session, "echo a > /workspace/aa.txt; echo b > /workspace/bb.txt", user="4242")
    out = tmp_path / "picked"
    out.mkdir()
    proc = PtyProcessUnicode.spawn(
        [sys.executable, "-m", "claudex_tui.cli", "pull", "--name", session],
        cwd=str(out),
        env=dict(os.environ),
        dimensions=(40, 120),
    )
    screen = ""
    deadline = time.monotonic() + 60
    while "pull which?" not in screen and time.monotonic() < deadline:
        screen += proc.read(4096)
    lines = [line for line in screen.splitlines() if "aa.txt" in line or "bb.txt" in line]
    number = next(line.split()[0] for line in lines if "bb.txt" in line)
    proc.write(f"{number}\r")
    while proc.isalive():
        try:
            screen += proc.read(4096)
        except EOFError:
            break
    proc.wait()
    assert proc.exitstatus == 0, screen
    assert os.listdir(out) == ["bb.txt"]
    assert (out / "bb.txt").read_text() == "b\n"
