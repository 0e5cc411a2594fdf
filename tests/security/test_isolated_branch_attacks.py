"""Attack: `claudex apply --branch` brings an isolated session's commits into the user's
repository, and everything about them is the agent's: its clone's hooks and config, its
other branches and tags, the objects themselves. Only branch claudex/<session> may land,
with well-formed objects, and nothing of the clone may run on the host."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import docker
import pytest

from container.errors import ClaudexError
from container.isolated_branch import fetch_bundle
from tests.security.conftest import CLI, as_agent

GIT = ["git", "-c", "safe.directory=*", "-c", "user.name=me", "-c", "user.email=me@x"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _refs(repo: Path) -> dict[str, str]:
    out = _git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines())


def _meta(repo: Path) -> dict[str, bytes]:
    """The user's `.git` but its objects, logs and refs (HEAD, config, index, hooks...)."""
    root = repo / ".git"
    skip = ("objects", "logs", "refs")
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] not in skip
    }


@pytest.fixture
def user(tmp_path: Path) -> Path:
    repo = tmp_path / "user"
    repo.mkdir()
    (repo / "a.txt").write_text("a\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "init")
    return repo


def _agent_clone(user: Path, tmp_path: Path, session: str) -> Path:
    """What the agent's clone can hold: the session's branch and anything else."""
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--shared", str(user), str(clone))
    _git(clone, "checkout", "-q", "-b", f"claudex/{session}")
    (clone / "a.txt").write_text("session\n")
    _git(clone, "commit", "-qam", "session work")
    return clone


def test_a_bundle_holding_other_refs_writes_only_the_branch(user: Path, tmp_path: Path) -> None:
    session = "claudextest-br-refs"
    clone = _agent_clone(user, tmp_path, session)
    tip = _git(clone, "rev-parse", "HEAD").strip()
    # Other refs the agent would like to land: the user's main moved, a tag, a note, a stash.
    _git(clone, "checkout", "-q", "main")
    (clone / "evil.txt").write_text("evil\n")
    _git(clone, "add", ".")
    _git(clone, "commit", "-qm", "evil")
    _git(clone, "tag", "v1-evil")
    _git(clone, "update-ref", "refs/remotes/origin/main", "HEAD")
    _git(clone, "update-ref", "refs/notes/commits", "HEAD")
    bundle = tmp_path / "hostile.bundle"
    _git(clone, "bundle", "create", str(bundle), "--all")
    refs, meta = _refs(user), _meta(user)
    work = tmp_path / "work"
    work.mkdir()

    fetch_bundle(str(user), str(bundle), session, str(work))

    assert _refs(user) == {**refs, f"refs/heads/claudex/{session}": tip}
    assert _meta(user) == meta  # HEAD, config, index, hooks, no FETCH_HEAD
    assert (user / "a.txt").read_text() == "a\n"  # the user's files are not touched
    assert list(work.iterdir()) == []  # the quarantine is gone


def test_a_malformed_object_is_refused_and_nothing_lands(user: Path, tmp_path: Path) -> None:
    session = "claudextest-br-bad"
    clone = _agent_clone(user, tmp_path, session)
    tree = _git(clone, "write-tree").strip()
    head = _git(clone, "rev-parse", "HEAD").strip()
    bad = subprocess.run(
        [*GIT, "hash-object", "-t", "commit", "--literally", "-w", "--stdin"],
        cwd=clone,
        input=f"tree {tree}\nparent {head}\nauthor x <x@y> not-a-date +0000\n"
        "committer x <x@y> 1 +0000\n\nbad\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    _git(clone, "update-ref", f"refs/heads/claudex/{session}", bad)
    bundle = tmp_path / "bad.bundle"
    _git(clone, "bundle", "create", str(bundle), f"claudex/{session}", "--not", "main")
    _git(user, "config", "fetch.fsckObjects", "false")  # would win over transfer.fsckObjects
    refs, meta = _refs(user), _meta(user)
    work = tmp_path / "work"
    work.mkdir()

    with pytest.raises(ClaudexError, match="refused, nothing was written") as caught:
        fetch_bundle(str(user), str(bundle), session, str(work))

    assert "bad date" in str(caught.value.hint)
    assert _refs(user) == refs and _meta(user) == meta
    missing = subprocess.run([*GIT, "cat-file", "-e", bad], cwd=user, capture_output=True)
    assert missing.returncode != 0  # the bad object never reached the user's repository
    assert list(work.iterdir()) == []


def test_a_bundle_that_is_not_one_is_a_clear_error(user: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "junk.bundle"
    bundle.write_bytes(b"# v2 git bundle\n" + os.urandom(4096))
    refs = _refs(user)
    with pytest.raises(ClaudexError, match="cannot be read"):
        fetch_bundle(str(user), str(bundle), "claudextest-br-junk", str(tmp_path))
    assert _refs(user) == refs


def test_the_sessions_hooks_refs_and_config_never_act_on_the_host(
    cli: CLI, engine: docker.DockerClient, project: Path, tmp_path: Path
) -> None:
    (project / "a.txt").write_text("a\n")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "init")
    marker = tmp_path / "ran"
    # The user's own hook that a ref update would run: claudex's git runs with hooks off.
    hook = project / ".git" / "hooks" / "reference-transaction"
    hook.write_text(f"#!/bin/sh\ntouch {marker}-user\n")
    hook.chmod(0o755)
    for p in [project, *project.rglob("*")]:
        os.lchown(p, 4242, 4242)
    name = f"claudextest-isobr-{uuid.uuid4().hex[:8]}"
    r = cli(str(project), "--isolated", "--name", name, "--agent", "shell", "-d")
    assert r.code == 0, r.text
    git = "git -c user.name=a -c user.email=a@b"
    script = "\n".join(
        [
            "set -e",
            "cd /workspace/proj",
            # Hooks and config in the clone that the host would run if it ran git there.
            "mkdir -p .git/hooks",
            "for h in pre-auto-gc post-checkout reference-transaction pre-push; do "
            f"printf '#!/bin/sh\\ntouch {marker} 2>/dev/null\\nexit 0\\n' > .git/hooks/$h; "
            "chmod +x .git/hooks/$h; done",
            f"git config core.fsmonitor 'touch {marker}' || true",
            f"git config uploadpack.packObjectsHook 'touch {marker}' || true",
            # Its other refs: main moved, a tag, a branch named like the user's.
            "echo evil > evil.txt",
            f"{git} add evil.txt && {git} commit -qm evil",
            "git update-ref refs/heads/main HEAD && git tag v9",
            "git reset -q --hard HEAD~1 && rm -f evil.txt",
            # The session's real work, then a malformed commit on top of it.
            f"echo session > a.txt && {git} commit -qam work",
            "git rev-parse HEAD > /tmp/good",
            "bad=$(printf 'tree %s\\nparent %s\\nauthor x <x@y> nope +0000\\n"
            "committer x <x@y> 1 +0000\\n\\nbad\\n' $(git write-tree) $(cat /tmp/good) "
            "| git hash-object -t commit --literally -w --stdin)",
            "git update-ref HEAD $bad",
        ]
    )
    code, out = as_agent(engine, name, script)
    assert code == 0, out
    refs, meta = _refs(project), _meta(project)

    r = cli("apply", "--branch", "--name", name, cwd=project)
    assert r.code != 0 and "refused" in r.text and "bad date" in r.text, r.text
    assert _refs(project) == refs and _meta(project) == meta

    code, out = as_agent(engine, name, "cd /workspace/proj && git update-ref HEAD $(cat /tmp/good)")
    assert code == 0, out
    _c, good = as_agent(engine, name, "cat /tmp/good")
    r = cli("apply", "--branch", "--name", name, cwd=project)
    assert r.code == 0, r.text

    assert _refs(project) == {**refs, f"refs/heads/claudex/{name}": good.strip()}
    assert _meta(project) == meta
    assert (project / "a.txt").read_text() == "a\n"
    assert not marker.exists() and not Path(f"{marker}-user").exists()
