"""A host's files seen through the helper container (what a remote engine's picker and
session planning use), on the real engine and image: here the "remote" host is this one, so
every answer can be checked against the local file system."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from container.errors import ClaudexError
from container.host_entries import HostEntry
from container.host_fs import HELPER_LABEL, EngineFS
from container.local_fs import LOCAL
from container.mounts import plan_mounts


@pytest.fixture
def fs(engine: docker.DockerClient, image: str) -> Iterator[EngineFS]:
    remote = EngineFS(engine, image, "test")
    yield remote
    remote.close()


def _helpers(engine: docker.DockerClient) -> list[dict[str, object]]:
    return engine.api.containers(all=True, filters={"label": [HELPER_LABEL]})


def _tree(root: Path) -> Path:
    (root / "proj" / "src").mkdir(parents=True)
    (root / "proj" / ".env").write_text("SECRET=1\n")
    (root / "proj" / ".env.local").write_text("SECRET=2\n")
    (root / "proj" / "README.md").write_text("hi\n")
    (root / "proj" / ".claudex.toml").write_text('[firewall]\nallow = ["example.com"]\n')
    # An absolute link names a path of the host, not of the helper: resolved under /host.
    (root / "abs-link").symlink_to(root / "proj")
    (root / "proj" / "up").symlink_to("../proj/src")
    os.chown(root / "proj", 4242, 4343)
    return root


def test_answers_match_the_local_file_system(fs: EngineFS, tmp_path: Path) -> None:
    root = _tree(tmp_path)
    for path in (root / "proj", root / "abs-link", root / "proj" / "up", root / "nope"):
        assert fs.stat(str(path)) == LOCAL.stat(str(path)), path
    st = fs.stat(str(root / "abs-link"))
    assert st is not None and st.real == str(root / "proj") and (st.uid, st.gid) == (4242, 4343)

    listing = sorted(fs.list_dir(str(root / "proj")), key=lambda e: e.name)
    assert listing == sorted(LOCAL.list_dir(str(root / "proj")), key=lambda e: e.name)
    assert HostEntry("up", "link", True) in listing and HostEntry("src", "dir") in listing
    assert fs.read_text(str(root / "abs-link" / "README.md")) == "hi\n"
    assert fs.read_text(str(root / "proj" / "missing.txt")) is None
    with pytest.raises(ClaudexError, match="No such file"):
        fs.list_dir(str(root / "nope"))
    with pytest.raises(ClaudexError, match=f"^{root / 'proj'}: Is a directory"):
        fs.read_text(str(root / "proj"))


def test_a_session_is_planned_from_the_remote_host(fs: EngineFS, tmp_path: Path) -> None:
    root = _tree(tmp_path)
    plan = plan_mounts(
        [str(root / "abs-link")], empty_file="/dev/null", extra=[("/etc", True)], fs=fs
    )
    assert plan.dirs == [str(root / "proj")]
    assert (plan.uid, plan.gid) == (4242, 4343)  # the owner, as that host tells it
    assert plan.hidden_env_files == [str(root / "proj" / ".env"), str(root / "proj" / ".env.local")]
    masks = {m.target: m.source for m in plan.mounts if m.role == "env-mask"}
    assert masks == {"/workspace/proj/.env": "/dev/null", "/workspace/proj/.env.local": "/dev/null"}
    # This machine's login files and the config's extra mounts are not that host's.
    assert not [m for m in plan.mounts if m.role in ("login", "extra")]
    assert any("extra mounts" in w for w in plan.warnings)
    with pytest.raises(ClaudexError, match="directory not found on engine test"):
        plan_mounts([str(root / "nope")], fs=fs)
    with pytest.raises(ClaudexError, match="absolute path"):
        plan_mounts(["relative/dir"], fs=fs)


def test_the_helper_is_read_only_offline_and_goes_away(
    engine: docker.DockerClient, fs: EngineFS, tmp_path: Path
) -> None:
    fs.list_dir(str(tmp_path))
    helper = fs._helper
    assert helper is not None
    info = engine.api.inspect_container(helper)
    assert info["HostConfig"]["NetworkMode"] == "none"
    assert info["HostConfig"]["CapDrop"] == ["ALL"] and info["HostConfig"]["ReadonlyRootfs"]
    run = engine.api.exec_create(helper, ["sh", "-c", f"touch /host{tmp_path}/x"], user="0:0")
    engine.api.exec_start(run["Id"])
    assert engine.api.exec_inspect(run["Id"])["ExitCode"] != 0
    assert not (tmp_path / "x").exists()

    # Gone (its time ran out, or someone removed it): the next question makes a new one.
    engine.api.remove_container(helper, force=True)
    assert fs.list_dir(str(tmp_path)) == []
    assert fs._helper not in (None, helper)
    fs.close()
    assert not [c for c in _helpers(engine) if c["Id"] in (helper, fs._helper)]


def test_browsing_starts_at_the_ssh_users_home(engine: docker.DockerClient, image: str) -> None:
    as_root = EngineFS(engine, image, "test", user="root")
    nobody = EngineFS(engine, image, "test", user="no-such-user-here")
    try:
        assert as_root.home() == "/root"
        assert nobody.home() in ("/", "/home") or nobody.home().startswith("/home/")
    finally:
        as_root.close()
        nobody.close()


def test_an_engine_without_the_image_says_how_to_get_it(engine: docker.DockerClient) -> None:
    fs = EngineFS(engine, "claudex-no-such-image:never", "far")
    with pytest.raises(ClaudexError) as err:
        fs.list_dir("/")
    assert "not on engine far" in err.value.message
    assert err.value.hint == "build it there first: claudex build --engine far"


def test_a_project_allow_list_there_is_trusted_apart_from_one_here(
    fs: EngineFS, tmp_path: Path
) -> None:
    from container import firewall

    root = _tree(tmp_path)
    (there,) = firewall.read_project_allow([str(root / "proj")], fs)
    (here,) = firewall.read_project_allow([str(root / "proj")])
    assert there.entries == here.entries == ("example.com",)
    assert there.where == f"{root / 'proj' / '.claudex.toml'} on engine test"
    firewall.trust(there)
    assert firewall.is_trusted(there) and not firewall.is_trusted(here)
