"""Change tracking on the real engine: baseline, diffs, checkpoints, revert, audit bundles."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import docker
import pytest

from container.mounts import plan_mounts
from container.session_spec import StartRequest
from container.sessions import Sessions
from container.tracking import Tracker
from tests.integration.conftest import CLI, REPO, exec_in

AGENT = "4242:4242"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "safe.directory=*", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _chown(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, 4242, 4242)


@pytest.fixture
def repo(project: Path) -> Path:
    """The project as a git repository with a .gitignore'd build/ directory."""
    (project / ".gitignore").write_text("build/\n")
    (project / "keep.txt").write_text("one\ntwo\nthree\n")
    (project / "doomed.txt").write_text("bye\n")
    (project / "build").mkdir()
    (project / "build" / "old.o").write_text("object\n")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "init")
    _chown(project)
    return project


def _user_git_state(repo: Path) -> dict[str, str]:
    """Everything tracking must never change in the user's repository."""
    git_dir = repo / ".git"
    digest = hashlib.sha256()
    for p in sorted(git_dir.rglob("*")):
        if p.is_file():
            digest.update(str(p.relative_to(git_dir)).encode() + b"\0" + p.read_bytes())
    return {
        "head": _git(repo, "rev-parse", "HEAD"),
        "refs": _git(repo, "for-each-ref"),
        "index": hashlib.sha256((git_dir / "index").read_bytes()).hexdigest(),
        "git-dir": digest.hexdigest(),
        "status": _git(repo, "--no-optional-locks", "status", "--porcelain"),
    }


def _start(cli: CLI, *args: str) -> str:
    res = cli(*args, "-d", "--agent", "shell")
    assert res.code == 0, res.text
    return res.out.strip().splitlines()[-1]


def _tracker(engine: docker.DockerClient, name: str) -> Tracker:
    return Tracker(engine.api, Sessions(engine).get(name))


def test_mounted_repo_diff_shows_exactly_the_agents_changes(
    cli: CLI, engine: docker.DockerClient, repo: Path
):
    before_start = _user_git_state(repo)
    name = _start(cli, str(repo))
    assert _user_git_state(repo) == before_start  # the baseline did not touch the user's .git

    work = f"/workspace/{repo.name}"
    code, out = exec_in(
        engine,
        name,
        f"cd {work} && printf 'one\\nTWO\\nthree\\nfour\\n' > keep.txt && echo hi > added.txt"
        " && rm doomed.txt && echo junk > build/new.o",
        user=AGENT,
    )
    assert code == 0, out
    before_tracking = _user_git_state(repo)

    res = cli("diff", name, "--name-only")
    assert res.code == 0, res.text
    prefix = repo.name
    assert res.out.split() == [f"{prefix}/added.txt", f"{prefix}/doomed.txt", f"{prefix}/keep.txt"]

    changes = {c.path: c for c in _tracker(engine, name).changes()}
    assert set(changes) == {f"{prefix}/added.txt", f"{prefix}/doomed.txt", f"{prefix}/keep.txt"}
    keep = changes[f"{prefix}/keep.txt"]
    assert (keep.status, keep.added, keep.removed, keep.binary) == ("modified", 2, 1, False)
    assert changes[f"{prefix}/added.txt"].status == "added"
    assert changes[f"{prefix}/doomed.txt"].status == "deleted"

    patch = cli("diff", name, "keep.txt", cwd=repo)  # a host path, resolved to the mount
    assert patch.code == 0 and "+TWO" in patch.out and "-two" in patch.out
    assert "added.txt" not in patch.out and "\x1b[" not in patch.out  # no colour on a pipe
    assert cli("checkpoint", name).code == 0
    assert cli("log", name).code == 0
    assert _user_git_state(repo) == before_tracking


def test_renames_binaries_and_nested_repositories(
    cli: CLI, engine: docker.DockerClient, repo: Path
):
    sub = repo / "vendor" / "lib"
    sub.mkdir(parents=True)
    (sub / "lib.c").write_text("int x;\n")
    _git(sub, "init", "-q")
    _git(sub, "add", "-A")
    _git(sub, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "lib")
    fresh = repo / "fresh"  # a repository without any commit: `git add` would fail on it
    fresh.mkdir()
    (fresh / "f.txt").write_text("f\n")
    _git(fresh, "init", "-q")
    (repo / "blob.bin").write_bytes(b"\0\1\2" * 100)
    (repo / "moved.txt").write_text("".join(f"line {i}\n" for i in range(50)))
    _chown(repo)
    name = _start(cli, str(repo))
    work = f"/workspace/{repo.name}"
    code, out = exec_in(
        engine,
        name,
        f"cd {work} && echo 'int y;' >> vendor/lib/lib.c && echo g > fresh/g.txt"
        " && printf '\\3\\4' >> blob.bin && mv moved.txt renamed.txt",
        user=AGENT,
    )
    assert code == 0, out
    changes = {c.path: c for c in _tracker(engine, name).changes()}
    p = repo.name
    assert set(changes) == {
        f"{p}/vendor/lib/lib.c",
        f"{p}/fresh/g.txt",
        f"{p}/blob.bin",
        f"{p}/renamed.txt",
    }
    assert changes[f"{p}/vendor/lib/lib.c"].added == 1
    assert changes[f"{p}/renamed.txt"].status == "renamed"
    assert changes[f"{p}/renamed.txt"].old_path == f"{p}/moved.txt"
    assert changes[f"{p}/blob.bin"].binary
    patch = cli("diff", name, f"{p}/blob.bin")
    assert "Binary files" in patch.out and len(patch.out) < 500  # named, not dumped
    # The nested repositories' own .git directories are not tracked.
    res = cli("diff", name, "--name-only")
    assert ".git/" not in res.out


def test_checkpoint_then_revert_round_trips(cli: CLI, engine: docker.DockerClient, repo: Path):
    name = _start(cli, str(repo))
    work = f"/workspace/{repo.name}"
    exec_in(engine, name, f"echo checkpointed > {work}/keep.txt", user=AGENT)
    res = cli("checkpoint", name, "-m", "good state")
    assert res.code == 0 and "recorded" in res.out
    assert "nothing changed" in cli("checkpoint", name).out
    log = cli("log", name)
    assert "good state" in log.out and "(baseline)" in log.out

    exec_in(engine, name, f"echo broken > {work}/keep.txt && echo x > {work}/extra.txt", user=AGENT)
    res = cli("revert", name, f"{repo.name}/keep.txt", f"{repo.name}/extra.txt")
    assert res.code == 0, res.text
    assert (repo / "keep.txt").read_text() == "checkpointed\n"
    assert not (repo / "extra.txt").exists()
    assert (repo / "keep.txt").stat().st_uid == 4242  # written as the agent, not root
    # The diff is still taken against the baseline, not the checkpoint.
    assert f"{repo.name}/keep.txt" in cli("diff", name, "--name-only").out

    res = cli("revert", name, "no/such/file")
    assert res.code == 2 and "no tracked file" in res.err and "Traceback" not in res.text


def test_agent_cannot_reach_the_tracking_repository(
    cli: CLI, engine: docker.DockerClient, repo: Path
):
    name = _start(cli, str(repo))
    code, out = exec_in(engine, name, "ls /var/lib/claudex/track.git", user=AGENT)
    assert code != 0 and "Permission denied" in out
    code, out = exec_in(engine, name, "echo 0 > /var/lib/claudex/baseline", user=AGENT)
    assert code != 0
    code, out = exec_in(engine, name, "stat -c '%U %a' /var/lib/claudex")
    assert out.split() == ["root", "700"]


def test_pushed_file_outside_mounts_and_destroy_bundle(
    cli: CLI, engine: docker.DockerClient, repo: Path, tmp_path: Path
):
    name = _start(cli, str(repo))
    spec = tmp_path / "spec.md"
    spec.write_text("the spec\n")
    assert cli("push", "--name", name, str(spec)).code == 0
    exec_in(engine, name, f"echo changed >> /workspace/{repo.name}/keep.txt", user=AGENT)
    assert "spec.md" in cli("diff", name, "--name-only").out.split()
    assert _tracker(engine, name).outside_files() == ["spec.md"]

    res = cli("destroy", "--name", name, "--force")
    assert res.code == 0, res.text
    line = next(x for x in res.out.splitlines() if x.startswith("saved the history"))
    bundle = Path(line.rsplit(" to ", 1)[1])
    state = Path(os.environ["XDG_STATE_HOME"]) / "claudex" / "audit"
    assert bundle.parent == state and bundle.name.startswith(name) and bundle.exists()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(bundle), str(clone)], check=True)
    assert (clone / repo.name / "keep.txt").read_text().endswith("changed\n")
    assert (clone / "spec.md").read_text() == "the spec\n"
    log = _git(clone, "log", "--format=%s")
    assert "baseline" in log.splitlines()[-1]


def test_destroy_lists_outside_files_and_asks(
    cli: CLI, engine: docker.DockerClient, repo: Path, tmp_path: Path
):
    from ptyprocess import PtyProcessUnicode

    name = _start(cli, str(repo))
    exec_in(engine, name, "echo notes > /workspace/notes.txt", user=AGENT)
    proc = PtyProcessUnicode.spawn(
        [sys.executable, "-m", "claudex_tui.cli", "destroy", "--name", name],
        cwd=str(REPO),
        env=dict(os.environ),
    )
    seen = ""
    deadline = time.monotonic() + 60
    while "[y/N]" not in seen and time.monotonic() < deadline:
        seen += proc.read(1024)
    assert "notes.txt" in seen and "outside the mounts" in seen
    proc.write("n\n")
    while proc.isalive():
        try:
            seen += proc.read(1024)
        except EOFError:
            break
    proc.wait()
    assert "nothing destroyed" in seen
    assert Sessions(engine).get(name)  # still there


def test_no_git_session_has_no_tracking(cli: CLI, project: Path):
    name = _start(cli, str(project), "--no-git")
    res = cli("diff", name)
    assert res.code == 1 and "tracking is off" in res.err and "Traceback" not in res.text
    res = cli("destroy", "--name", name, "--force")
    assert res.code == 0 and "saved the history" not in res.out


def test_large_tree_baseline_then_quick_diffs(
    engine: docker.DockerClient, image: str, tmp_path: Path
):
    from tests.conftest import TEST_PREFIX

    tree = tmp_path / "big"
    for d in range(100):
        sub = tree / f"d{d:03}"
        sub.mkdir(parents=True)
        for f in range(200):
            (sub / f"f{f:03}.txt").write_text(f"file {d} {f}\n" * 20)
    _chown(tree)
    sessions = Sessions(engine)
    plan = plan_mounts([str(tree)], [])
    req = StartRequest(plan=plan, name=f"{TEST_PREFIX}-big-{uuid.uuid4().hex[:8]}", agent="shell")
    session = sessions.start_session(req).session

    # Times are compared with the baseline's own, so a loaded machine slows both alike.
    tracker = Tracker(engine.api, session)
    began = time.monotonic()
    result = tracker.ensure_baseline()
    baseline = time.monotonic() - began
    assert result.created and result.files == 20_000

    exec_in(engine, session.name, "echo more >> /workspace/big/d050/f100.txt", user=AGENT)
    began = time.monotonic()
    changes = tracker.changes()
    assert [c.path for c in changes] == ["big/d050/f100.txt"]
    assert time.monotonic() - began < max(2.0, baseline / 2)
    assert tracker.ensure_baseline().created is False  # never a second baseline


# Holds the tracking repository's lock, as a run that never ends would.
_HOLD_LOCK = (
    "import fcntl, time; f = open('/var/lib/claudex/lock', 'w'); "
    "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(600)"
)
# Tracking runs alive in the session (this scan's own command line does not match).
_COUNT_RUNS = (
    "import os; needle = ('CLAUDEX_TRACK_' + 'HANGUP').encode(); print(sum("
    "needle in open(f'/proc/{p}/cmdline', 'rb').read() "
    "for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()))"
)


def test_a_stuck_tracking_run_is_given_up_and_ended(
    cli: CLI, engine: docker.DockerClient, repo: Path, monkeypatch: pytest.MonkeyPatch
):
    """A tracking run that cannot finish (another holds its lock) fails after its deadline
    with a clear error instead of holding its caller (a dashboard worker, its shutdown)
    forever; and it ends in the session too, not left waiting there."""
    from container import tracking
    from container.tracking import TrackingError
    from tests.security.conftest import wait_for

    name = _start(cli, str(repo))
    tracker = _tracker(engine, name)
    assert tracker.changes() == []
    holder = engine.api.exec_create(name, ["python3", "-c", _HOLD_LOCK], user="root")["Id"]
    output = engine.api.exec_start(holder, stream=True)
    assert next(iter(output)).strip() == b"held"
    monkeypatch.setattr(tracking, "TRACKING_TIMEOUT", 3.0)
    started = time.monotonic()
    with pytest.raises(TrackingError, match=r"listing changes in .* did not finish within 3s"):
        tracker.changes()
    took = time.monotonic() - started
    assert took < 30, f"gave up after {took:.0f}s"

    def runs() -> int:
        return int(exec_in(engine, name, f'python3 -c "{_COUNT_RUNS}"')[1])

    wait_for("the given-up run gone from the session", lambda: runs() == 0, 30)

    # A dashboard closing ends the runs in flight at once (its worker threads are joined
    # when it exits), whatever their deadline.
    monkeypatch.setattr(tracking, "TRACKING_TIMEOUT", 600.0)
    ended: list[BaseException] = []

    def listing() -> None:
        try:
            tracker.changes()
        except TrackingError as exc:
            ended.append(exc)

    worker = threading.Thread(target=listing)
    worker.start()
    wait_for("the run waiting on the lock", lambda: runs() == 1, 30)
    tracking.cancel_running()
    worker.join(30)
    assert not worker.is_alive() and "claudex is closing" in str(ended[0]), ended
    wait_for("the stopped run gone from the session", lambda: runs() == 0, 30)
    os.kill(engine.api.exec_inspect(holder)["Pid"], 9)
    (repo / "keep.txt").write_text("one\n")
    assert [c.path for c in tracker.changes()] == [f"{repo.name}/keep.txt"]


def test_staging_names_are_in_no_checkpoint_nor_bundle(
    cli: CLI, engine: docker.DockerClient, repo: Path, tmp_path: Path
):
    """Files named as a push's staging (`.claudex-part-<token>-<n>`, `.claudex-manifest-<token>`)
    are never recorded, whoever wrote them: a push in flight never lands in the audit bundle."""
    token = "abcdef012345"
    (repo / f".claudex-part-{token}-0").write_text("before the baseline\n")
    _chown(repo)
    name = _start(cli, str(repo))
    work = f"/workspace/{repo.name}"
    exec_in(
        engine,
        name,
        f"mkdir -p {work}/sub && echo staged > {work}/sub/.claudex-part-{token}-3 && "
        f"echo list > /workspace/.claudex-manifest-{token} && echo real > {work}/real.txt",
        user=AGENT,
    )
    assert cli("checkpoint", name).code == 0
    assert cli("diff", name, "--name-only").out.split() == [f"{repo.name}/real.txt"]
    bundle = _tracker(engine, name).export_bundle(tmp_path / "audit")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(bundle), str(clone)], check=True)
    recorded = _git(clone, "log", "--all", "--name-only", "--format=").split()
    assert recorded and not [p for p in recorded if ".claudex-" in p], recorded
    assert (clone / repo.name / "real.txt").read_text() == "real\n"
