"""The built image: agent CLIs inside, staleness reported, missing image explained, update."""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from pathlib import Path

import docker

from container import labels
from tests.conftest import HOST_CA
from tests.integration.conftest import CLI, exec_in


def _run(engine: docker.DockerClient, image: str, *cmd: str) -> str:
    out = engine.containers.run(image, list(cmd), entrypoint=[], remove=True)
    return out.decode().strip()


def test_agent_clis_run_inside_the_image(engine: docker.DockerClient, image: str):
    assert "Claude Code" in _run(engine, image, "claude", "--version")
    assert "codex" in _run(engine, image, "codex", "--version").lower()
    # Claude Code declares Node.js >= 22 (Debian's own is 18).
    assert int(_run(engine, image, "node", "-p", "process.versions.node.split('.')[0]")) >= 22
    # Nothing in the image lets the agent become root.
    assert _run(engine, image, "bash", "-c", "command -v sudo || echo none") == "none"


def test_editors_work_in_a_session(cli: CLI, project: Path, engine: docker.DockerClient):
    """vim and nano are there for the agent (AGENTS.md says so), and vim edits a mounted file."""
    res = cli(str(project), "-d", "--agent", "shell")
    assert res.code == 0, res.text
    name = res.out.strip()
    try:
        code, out = exec_in(engine, name, "vim --version; nano --version", user="4242")
        assert code == 0, out
        assert "VIM - Vi IMproved" in out and "GNU nano" in out
        script = "vim -es -c 'normal! Gohi from vim' -c wq /workspace/proj/README.md"
        code, out = exec_in(engine, name, script, user="4242")
        assert code == 0, out
        assert (project / "README.md").read_text() == "hello\nhi from vim\n"
        code, out = exec_in(engine, name, "cat /etc/claudex/AGENTS.md", user="4242")
        assert "`vim`" in out and "`nano`" in out
    finally:
        cli("destroy", "--name", name, "--force")


def _config(tmp_path: Path, image: str) -> dict[str, str]:
    conf = tmp_path / "xdg" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'image = "{image}"\n')
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def test_stale_image_is_reported(
    cli: CLI, project: Path, tmp_path: Path, engine: docker.DockerClient, image: str
):
    old = (
        f"claudextest-old-image-{uuid.uuid4().hex[:8]}"  # this run's: another may share the engine
    )
    dockerfile = f"FROM {image}\nLABEL {labels.VERSION}=0.0.1\n".encode()
    engine.images.build(fileobj=io.BytesIO(dockerfile), tag=old, rm=True)
    try:
        res = cli(str(project), "-d", "--agent", "shell", env=_config(tmp_path, old))
        assert res.code == 0, res.text
        assert "out of date" in res.err and "0.0.1" in res.err and "claudex build" in res.err
    finally:
        cli("destroy", "--name", res.out.strip(), "--force")
        engine.images.remove(old, force=True)


def test_missing_image_is_explained(cli: CLI, project: Path, tmp_path: Path):
    res = cli(str(project), "-d", env=_config(tmp_path, "claudextest-no-such-image"))
    assert res.code != 0
    assert "image 'claudextest-no-such-image' is missing" in res.err
    assert "claudex build" in res.err and "Traceback" not in res.text


def test_build_is_skipped_when_up_to_date(cli: CLI):
    ca = ["--ca-cert", HOST_CA] if os.path.exists(HOST_CA) else []
    res = cli("build", *ca)
    assert res.code == 0 and "up to date" in res.err


def test_update_refreshes_the_agent_clis(
    cli: CLI, engine: docker.DockerClient, image: str, tmp_path: Path
):
    # Built under a name of this run's: the shared image stays as it is for every other test
    # (and test run) using it. The build cache is the shared image's, so only the refresh can
    # make the result differ from it.
    mine = f"claudextest-update-{uuid.uuid4().hex[:8]}"
    before = engine.api.inspect_image(image)["Id"]
    ca = ["--ca-cert", HOST_CA] if os.path.exists(HOST_CA) else []
    try:
        res = cli("update", *ca, env=_config(tmp_path, mine), timeout=900)
        assert res.code == 0, res.text
        assert "built image" in res.err
        after = engine.api.inspect_image(mine)
        assert after["Id"] != before  # the npm layer ran again
        assert "Claude Code" in _run(engine, mine, "claude", "--version")
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine.images.remove(mine, force=True)
