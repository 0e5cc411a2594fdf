"""First run on a machine: the image builds with the host's CAs and no flag (from the layer
cache of the image built with `--ca-cert <host bundle>`), the run command's engine step starts
an engine when none answers and a session on it gets ready, and a non-editable install finds
the build context and the container scripts."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import docker
import pytest

from container.image import EXTRA_CA, EXTRA_CA_LIST
from tests.integration.conftest import CLI, REPO


def _config(tmp_path: Path, image: str) -> dict[str, str]:
    conf = tmp_path / "xdg" / "claudex"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text(f'image = "{image}"\n')
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def test_the_image_builds_with_the_host_cas_and_no_flag(
    cli: CLI, engine: docker.DockerClient, image: str, tmp_path: Path
):
    """`claudex build` with no flag trusts the host's bundle: the same extra-ca/ context as
    `--ca-cert <bundle>` (what the tests' image was built with), so every layer comes from the
    cache; the label lists the CAs; afterwards the image is up to date, also with the flag."""
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    named = os.environ.get("SSL_CERT_FILE", bundle)
    if not Path(bundle).exists() or os.path.realpath(named) != bundle:
        pytest.skip("this test compares with the system bundle the tests' image was built with")
    mine = f"claudextest-hostca-{uuid.uuid4().hex[:8]}"
    env = _config(tmp_path, mine)
    try:
        res = cli("build", env=env, timeout=900)
        assert res.code == 0, res.text
        assert "the host's bundle /etc/ssl/certs/ca-certificates.crt" in res.err
        assert "built image" in res.err and "step " in res.err  # one line per step (no TTY)
        built = engine.api.inspect_image(mine)
        shared = engine.api.inspect_image(image)
        # Every layer is the tests' image's: nothing ran again (a cold build takes minutes).
        assert built["RootFS"]["Layers"] == shared["RootFS"]["Layers"]
        mine_labels, shared_labels = built["Config"]["Labels"], shared["Config"]["Labels"]
        assert mine_labels[EXTRA_CA] == shared_labels[EXTRA_CA]
        assert len(mine_labels[EXTRA_CA_LIST].split(",")) > 100  # one digest per CA

        again = cli("build", env=env)
        assert again.code == 0 and "up to date" in again.err, again.text
        with_flag = cli("build", "--ca-cert", "/etc/ssl/certs/ca-certificates.crt", env=env)
        assert with_flag.code == 0 and "up to date" in with_flag.err, with_flag.text
        # Without the host's CAs it is another build (not run here: it would be a cold one).
        from container.image import up_to_date

        assert not up_to_date(engine, mine, [], host_ca=False)
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine.api.remove_image(mine)  # only the tag: the layers are the shared image's
