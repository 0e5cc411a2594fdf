"""Attack: the Changes tab of an isolated session on a remote engine reads the agent-written
copy on that engine's host, in helper containers, and its `a` / `A` / hunk apply write the
user's directory there. The agent plants links out of its copy (to a secret of that host, to
a folder, to /etc), a pipe, and swaps the reviewed file for a link after the user saw its
hunk: the tab's reads show no secret and do not hang on the pipe, and its applies write only
the plain files, never a link, nor through one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from claudex_tui.config import Config
from claudex_tui.engine_backend import EngineBackend
from container.engines import Engine
from container.errors import ClaudexError
from container.host_fs import HELPER_LABEL
from container.labels import SessionInfo
from tests.integration.second_engine import SecondEngine
from tests.integration.test_isolated_remote import far, start_far  # noqa: F401
from tests.security.conftest import CLI, as_agent

SECRET = "HOST SECRET"


def _session(backend: EngineBackend, name: str) -> SessionInfo:
    for listing in backend.list_sessions():
        for s in listing.sessions or []:
            if s.name == name:
                return s
    raise AssertionError(f"{name} not listed")


def test_the_tab_reads_and_applies_a_hostile_remote_copy_as_data(
    cli: CLI,
    far: dict[str, str],  # noqa: F811
    project: Path,
    second_engine: SecondEngine,
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n")
    (project / "app.py").write_text("x = 1\n")
    (project / "notes.txt").write_text("a\nb\n")
    for f in ("app.py", "notes.txt"):
        os.lchown(project / f, 4242, 4242)
    name = start_far(cli, far, project)
    d2 = second_engine.client()
    engine = Engine("far", second_engine.host, "config", remote_override=True)
    backend = EngineBackend(Config(), engines=[engine])
    backend.connect(engine)

    def agent(cmd: str) -> None:
        code, out = as_agent(d2, name, f"cd /workspace/proj && {cmd}")
        assert code == 0, out

    try:
        agent("echo 'x = 2' > app.py && echo c >> notes.txt")
        agent(f"ln -s {outside}/secret.txt leak.txt && ln -s {outside} docs && ln -s /etc etc")
        agent("mkfifo pipe")
        session = _session(backend, name)

        listed = {c.path: c for c in backend.isolated_changes(session)}
        for planted in ("leak.txt", "docs", "etc", "pipe"):
            assert str(project / planted) in listed, planted  # listed, as never applied
        shown = []
        for path in [*listed, str(project / "docs" / "secret.txt")]:
            try:
                review = backend.isolated_file(session, path)
            except ClaudexError as exc:
                shown.append(f"{exc.message} {exc.hint}")
                continue
            shown.append(review.text + review.reason)
            if path.endswith(("leak.txt", "docs", "etc", "pipe")):
                assert review.state == "refused" and not review.hunks, (path, review)
        assert SECRET not in "".join(shown)

        # `a` on a link out, and on the pipe: not written.
        for planted in ("leak.txt", "docs", "pipe"):
            with contextlib.suppress(ClaudexError):
                backend.isolated_apply(session, str(project / planted))
            assert not os.path.lexists(project / planted), planted

        # The user saw notes.txt's hunk; the agent then swaps the file for a link out.
        notes = backend.isolated_file(session, str(project / "notes.txt"))
        assert len(notes.hunks) == 1 and "+c" in notes.hunks[0].text
        agent(f"rm notes.txt && ln -s {outside}/secret.txt notes.txt")
        with pytest.raises(ClaudexError):
            backend.isolated_apply(session, str(project / "notes.txt"), 0, notes.hunks[0].text)
        assert (project / "notes.txt").read_text() == "a\nb\n"
        assert not (project / "notes.txt").is_symlink()

        # `A`: the plain file only.
        backend.isolated_apply(session, None)
        assert (project / "app.py").read_text() == "x = 2\n"
        assert (project / "app.py").stat().st_uid == 4242
        for planted in ("leak.txt", "docs", "etc", "pipe"):
            assert not os.path.lexists(project / planted), planted
        assert not (project / "notes.txt").is_symlink()
        assert SECRET not in "".join(
            p.read_text(errors="replace") for p in project.rglob("*") if p.is_file()
        )
        assert (outside / "secret.txt").read_text() == SECRET + "\n"  # not written through
        assert not d2.api.containers(all=True, filters={"label": [HELPER_LABEL]})
    finally:
        backend.close()
        cli("destroy", "--name", name, "--force", "--engine", "far", env=far)
