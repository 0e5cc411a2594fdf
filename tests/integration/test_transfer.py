"""push/pull round trips through the Engine API, with ownership and overwrite rules."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import docker

from tests.integration.conftest import CLI, exec_in


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
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
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


def test_round_trip(cli: CLI, project: Path, tmp_path: Path, engine: docker.DockerClient):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    src = _sample(tmp_path)
    res = cli("push", "--name", name, str(src), "--to", "/workspace")
    assert res.code == 0, res.text
    _, out = exec_in(engine, name, "stat -c '%u:%g' /workspace/payload "
                        "/workspace/payload/bin.dat; readlink /workspace/payload/link")
    owner_lines = out.split()
    assert owner_lines[:2] == ["4242:4242", "4242:4242"]  # the agent user owns pushed files
    assert owner_lines[2] == "sub/deeper/x.txt"

    back = tmp_path / "back"
    back.mkdir()
    res = cli("pull", "--name", name, "payload", str(back))
    assert res.code == 0, res.text
    assert _tree_digest(back / "payload") == _tree_digest(src)
    assert (back / "payload" / "bin.dat").stat().st_uid == os.getuid()


def test_overwrite_rules(cli: CLI, project: Path, tmp_path: Path):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    f = tmp_path / "note.txt"
    f.write_text("one")
    assert cli("push", "--name", name, str(f)).code == 0
    f.write_text("two")
    res = cli("push", "--name", name, str(f))
    assert res.code == 0 and "skipped /workspace/note.txt" in res.err
    out = tmp_path / "out"
    out.mkdir()
    assert cli("pull", "--name", name, "note.txt", str(out)).code == 0
    assert (out / "note.txt").read_text() == "one"
    assert cli("push", "--name", name, str(f), "--force").code == 0
    res = cli("pull", "--name", name, "note.txt", str(out))
    assert "skipped" in res.err and (out / "note.txt").read_text() == "one"
    assert cli("pull", "--name", name, "note.txt", str(out), "--force").code == 0
    assert (out / "note.txt").read_text() == "two"


def test_pull_from_a_stopped_session(cli: CLI, project: Path, tmp_path: Path,
                                     engine: docker.DockerClient):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    exec_in(engine, name, "echo kept > /workspace/result.txt", user="4242")
    engine.api.stop(name, timeout=1)
    out = tmp_path / "out"
    out.mkdir()
    res = cli("pull", "--name", name, "/workspace/result.txt", str(out))
    assert res.code == 0, res.text
    assert (out / "result.txt").read_text() == "kept\n"


def test_hostile_container_content_refused(cli: CLI, project: Path, tmp_path: Path,
                                          engine: docker.DockerClient):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    code, out = exec_in(engine, name, "mkdir /workspace/evil && cd /workspace/evil && "
                        "ln -s /etc/passwd abs && ln -s ../../../../etc/shadow up && "
                        "mkfifo fifo && echo fine > ok.txt")
    assert code == 0, out
    # Sessions have no CAP_MKNOD, so the engine itself places the device node.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dev = tarfile.TarInfo("dev")
        dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
        tar.addfile(dev)
    assert engine.api.put_archive(name, "/workspace/evil", buf.getvalue())
    out = tmp_path / "out"
    out.mkdir()
    res = cli("pull", "--name", name, "evil", str(out))
    assert res.code != 0
    for member in ("abs", "up", "dev", "fifo"):
        assert f"evil/{member}:" in res.err
    assert sorted(os.listdir(out / "evil")) == ["ok.txt"]
    assert sorted(os.listdir(tmp_path)) == sorted(["out", "proj"])


def test_missing_paths_are_clear(cli: CLI, project: Path, tmp_path: Path):
    name = cli(str(project), "-d", "--agent", "shell").out.strip()
    res = cli("pull", "--name", name, "nope.txt", str(tmp_path))
    assert res.code != 0 and "/workspace/nope.txt does not exist" in res.err
    res = cli("push", "--name", name, str(tmp_path / "nope"))
    assert res.code != 0 and "no such file or directory" in res.err
    res = cli("push", "--name", name, str(project / "README.md"), "--to", "/nowhere")
    assert res.code != 0 and "/nowhere does not exist" in res.err
    res = cli("push", "--name", "no-such-session", str(project / "README.md"))
    assert res.code != 0 and "no claudex session named" in res.err
