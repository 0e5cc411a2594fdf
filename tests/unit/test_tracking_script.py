"""The tracking script with the host's git in temporary folders, and the pure helpers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from container.errors import UsageError
from container.scripts.tracking import git_run, index_file, layout, refresh
from container.scripts.tracking import ignores as ignore_rules
from container.tracking import _script, mount_targets, workspace_path
from container.tracking_model import parse_changes

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


class Box:
    """A fake /workspace and /var/lib/claudex for the script (run as sent to a session: the
    bootstrap and every module's text, with `python3 -I -c`)."""

    def __init__(self, tmp: Path) -> None:
        self.ws = tmp / "workspace"
        self.ws.mkdir()
        self.root = tmp / "state"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        env = {
            **os.environ,
            "CLAUDEX_TRACK_ROOT": str(self.root),
            "CLAUDEX_TRACK_WORK_TREE": str(self.ws),
        }
        proc = subprocess.run(
            [sys.executable, "-I", "-c", _script(), *args], env=env, capture_output=True
        )
        if check:
            assert proc.returncode == 0, proc.stderr.decode()
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def changes(self) -> dict[str, tuple[str, int, int, bool]]:
        return {
            c.path: (c.status, c.added, c.removed, c.binary)
            for c in parse_changes(self.run("changes").stdout)
        }


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=u", "-c", "user.email=u@x", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def dir_digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        h.update(str(p).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path)


def test_no_baseline_is_exit_3(box: Box):
    assert box.run("changes", check=False).returncode == 3


def test_nested_repositories_are_tracked_file_by_file(box: Box):
    proj = box.ws / "proj"
    proj.mkdir()
    (proj / ".gitignore").write_text("out/\n")
    (proj / "a.txt").write_text("a\n")
    (proj / "out").mkdir()
    (proj / "out" / "ignored").write_text("x\n")
    git(proj, "init", "-q")
    git(proj, "add", "-A")
    git(proj, "commit", "-qm", "i")
    inner = proj / "inner"  # a repository inside the mounted one
    inner.mkdir()
    (inner / "i.txt").write_text("i\n")
    git(inner, "init", "-q")
    git(inner, "add", "-A")
    git(inner, "commit", "-qm", "i")
    empty = proj / "empty"  # no commit: `git add -A` would fail on it
    empty.mkdir()
    (empty / "e.txt").write_text("e\n")
    git(empty, "init", "-q")
    (box.ws / "top.md").write_text("outside the mounts\n")
    user_git = dir_digest(proj / ".git"), dir_digest(inner / ".git"), dir_digest(empty / ".git")

    made = box.json("baseline")
    assert made["created"] and made["files"] == 5  # .gitignore a.txt inner/i.txt empty/e.txt top
    tracked = subprocess.run(
        ["git", f"--git-dir={box.root}/track.git", "ls-tree", "-r", "--name-only", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked == [
        "proj/.gitignore",
        "proj/a.txt",
        "proj/empty/e.txt",
        "proj/inner/i.txt",
        "top.md",
    ]
    assert box.json("baseline")["created"] is False

    (inner / "i.txt").write_text("i\nmore\n")
    (empty / "new.txt").write_text("n\n")
    (proj / "a.txt").unlink()
    (proj / "out" / "more").write_text("ignored too\n")
    assert box.changes() == {
        "proj/a.txt": ("deleted", 0, 1, False),
        "proj/empty/new.txt": ("added", 1, 0, False),
        "proj/inner/i.txt": ("modified", 1, 0, False),
    }
    assert (dir_digest(proj / ".git"), dir_digest(inner / ".git"), dir_digest(empty / ".git")) == (
        user_git
    )


def _index_listing(box: Box) -> list[str]:
    env = {**os.environ, "GIT_DIR": f"{box.root}/track.git", "GIT_WORK_TREE": str(box.ws)}
    run = ["git", "-c", "safe.directory=*"]
    # Stat data kept: nothing needs hashing again, and the index is one git reads as valid.
    dirty = subprocess.run([*run, "diff-files", "--name-only"], env=env, capture_output=True)
    assert dirty.returncode == 0 and dirty.stdout == b"", dirty.stderr
    return subprocess.run(
        [*run, "ls-files", "-s"], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()


def test_many_new_files_are_hashed_in_parallel_and_merged(box: Box):
    """Over PARALLEL_MIN new files: slices hashed side by side, merged with the main index."""
    (box.ws / "early.txt").write_text("tracked before the flood\n")
    (box.ws / "zz-late.txt").write_text("sorts after it\n")
    assert box.json("baseline")["files"] == 2
    count = refresh.PARALLEL_MIN + 500
    for i in range(count):
        d = box.ws / "flood" / f"d{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.txt").write_text(f"file {i}\n")
    made = box.json("checkpoint", "flood")
    assert made["created"]
    listing = _index_listing(box)
    assert len(listing) == count + 2
    paths = [line.split("\t", 1)[1] for line in listing]
    assert paths == sorted(paths) and paths[0] == "early.txt" and paths[-1] == "zz-late.txt"
    assert not list(box.root.glob("track.git/index.part*"))
    assert len(box.changes()) == count

    # The same entries as plain git makes of the same tree (ids, modes, order).
    plain = box.ws.parent / "plain.git"
    git(box.ws.parent, "init", "-q", "--bare", str(plain))
    run = ["git", f"--git-dir={plain}", f"--work-tree={box.ws}"]
    subprocess.run([*run, "add", "-A"], check=True)
    assert subprocess.run([*run, "ls-files", "-s"], capture_output=True, text=True).stdout == (
        "\n".join(listing) + "\n"
    )


def test_an_index_the_merge_does_not_know_is_left_to_git(tmp_path: Path):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "a").write_text("a\n")
    git(repo, "init", "-q")
    git(repo, "add", "a")
    index = str(repo / ".git" / "index")
    assert [name for name, _raw in index_file.read_index_entries(index) or []] == [b"a"]
    git(repo, "update-index", "--index-version", "4")
    assert index_file.read_index_entries(index) is None


def test_renames_and_binaries_are_parsed(box: Box):
    (box.ws / "long.txt").write_text("".join(f"{i}\n" for i in range(40)))
    (box.ws / "b.bin").write_bytes(b"\0" * 10)
    box.run("baseline")
    (box.ws / "long.txt").rename(box.ws / "moved.txt")
    (box.ws / "b.bin").write_bytes(b"\0" * 11)
    changes = {c.path: c for c in parse_changes(box.run("changes").stdout)}
    assert changes["moved.txt"].status == "renamed" and changes["moved.txt"].old_path == "long.txt"
    assert changes["b.bin"].binary and changes["b.bin"].added == 0
    patch = box.run("diff", "patch", "never", "pattern", b"b.bin".hex()).stdout.decode()
    assert "Binary files" in patch


def test_baseline_is_private_and_fixed(box: Box):
    (box.ws / "f").write_text("1\n")
    base = box.json("baseline")["commit"]
    assert stat.S_IMODE(box.root.stat().st_mode) == 0o700
    assert stat.S_IMODE((box.root / "baseline").stat().st_mode) == 0o600
    (box.ws / "f").write_text("2\n")
    box.json("checkpoint", "cp")
    log = box.json("log")
    assert isinstance(log, list) and [e["baseline"] for e in log] == [False, True]
    assert log[-1]["commit"] == base
    assert box.changes() == {"f": ("modified", 1, 1, False)}  # still against the baseline


@pytest.mark.skipif(os.geteuid() != 0, reason="writes as another uid")
def test_revert_writes_as_the_agent_and_follows_no_symlink_out(tmp_path: Path):
    reachable = Path(tempfile.mkdtemp(prefix="claudex-track-"))  # uid 4242 can enter it
    reachable.chmod(0o755)
    box = Box(reachable)
    d = box.ws / "d"
    d.mkdir()
    (d / "f.txt").write_text("good\n")
    os.chown(box.ws, 4242, 4242)
    os.chown(d, 4242, 4242)
    box.run("baseline")
    box.json("checkpoint", "cp")
    (d / "f.txt").write_text("bad\n")
    (d / "new.txt").write_text("new\n")
    plan = box.json("revert", "4242", "4242", "1", "d")
    assert plan == {"restored": ["d/f.txt"], "deleted": ["d/new.txt"], "matched": True}
    assert (d / "f.txt").read_text() == "bad\n"  # a dry run changes nothing
    box.json("revert", "4242", "4242", "0", "d")
    assert (d / "f.txt").read_text() == "good\n" and not (d / "new.txt").exists()
    assert (d / "f.txt").stat().st_uid == 4242

    # The agent swaps the folder for a link to a root-only place: the write is refused.
    secret = tmp_path / "root-only"
    secret.mkdir(mode=0o700)
    shutil.rmtree(d)
    d.symlink_to(secret)
    proc = box.run("revert", "4242", "4242", "0", "d/f.txt", check=False)
    assert proc.returncode != 0 and not (secret / "f.txt").exists()
    shutil.rmtree(reachable)


def test_outside_lists_files_beside_the_mounts(box: Box):
    (box.ws / "proj").mkdir()
    (box.ws / "proj" / "in.txt").write_text("x")
    (box.ws / "notes").mkdir()
    (box.ws / "notes" / "n.md").write_text("x")
    (box.ws / "spec.md").write_text("x")
    assert box.json("outside", "proj") == {"files": ["spec.md", "notes/n.md"]}


def test_parse_changes_of_raw_and_numstat():
    raw = (
        b":100644 100644 aaaa bbbb M\0a.txt\0"
        b":100644 100644 cccc cccc R090\0old name.txt\0new name.txt\0"
        b":000000 100644 0000 dddd A\0img.png\0"
        b"3\t1\ta.txt\0"
        b"1\t1\t\0old name.txt\0new name.txt\0"
        b"-\t-\timg.png\0"
    )
    changes = parse_changes(raw)
    assert [(c.path, c.status, c.added, c.removed, c.binary, c.old_path) for c in changes] == [
        ("a.txt", "modified", 3, 1, False, None),
        ("new name.txt", "renamed", 1, 1, False, "old name.txt"),
        ("img.png", "added", 0, 0, True, None),
    ]
    assert parse_changes(b"") == []


def test_workspace_paths():
    mounts = {"/home/u/proj": "/workspace/proj", "/srv/data": "/workspace/data"}
    assert workspace_path("src/a.py", mounts, cwd="/home/u/proj") == "proj/src/a.py"
    assert workspace_path("/home/u/proj", mounts, cwd="/") == "proj"
    assert workspace_path("/workspace/spec.md", mounts) == "spec.md"
    assert workspace_path("data/x", mounts, cwd="/elsewhere") == "data/x"
    with pytest.raises(UsageError):
        workspace_path("/etc/passwd", mounts, cwd="/")
    attrs = {
        "Mounts": [
            {"Type": "bind", "Source": "/home/u/proj", "Destination": "/workspace/proj"},
            {"Type": "bind", "Source": "/s/empty", "Destination": "/workspace/proj/.env"},
            {"Type": "bind", "Source": "/h/.claude", "Destination": "/home/agent/.claude"},
        ]
    }
    assert mount_targets(attrs) == {"/home/u/proj": "/workspace/proj"}


# -- the agent cannot blind the diff -----------------------------------------------------------


def test_ignore_patterns_are_rewritten_to_mean_the_same_from_the_top():
    rewrite = ignore_rules.rewrite_ignore
    data = (
        b"\xef\xbb\xbf# comment\n\nbuild/\n/only-here\na/b\n!keep.log\n*.log  \nsp\\ \r\n\\#hash\n"
    )
    assert rewrite(b"", data) == [
        b"build/", b"/only-here", b"a/b", b"!keep.log", b"*.log", b"sp\\ ", b"\\#hash"
    ]  # fmt: skip
    assert rewrite(b"sub/d[1]", data) == [
        b"/sub/d\\[1]/**/build/",
        b"/sub/d\\[1]/only-here",
        b"/sub/d\\[1]/a/b",
        b"!/sub/d\\[1]/**/keep.log",
        b"/sub/d\\[1]/**/*.log",
        b"/sub/d\\[1]/**/sp\\ ",
        b"/sub/d\\[1]/**/\\#hash",
    ]
    assert rewrite(b"new\nline", b"*\n") == []  # cannot be written: ignores nothing
    assert rewrite(b"d", b"/\n!\n  \n") == []


def _listing(work: Path, git_dir: Path, *rules: str) -> list[str]:
    env = {**os.environ, "GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(work)}
    out = subprocess.run(
        ["git", "ls-files", "-o", "-z", *rules],
        cwd=work,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    return sorted(os.fsdecode(p) for p in out.split(b"\0") if p)


def test_the_recorded_rules_ignore_what_the_gitignore_files_did(tmp_path: Path):
    """The flattened exclude file lists exactly what git lists with the .gitignore files."""
    work = tmp_path / "w"
    files = {
        ".gitignore": "*.log\nbuild/\n/top-only.txt\ndocs/*.tmp\n!important.log\n",
        "a.txt": "", "x.log": "", "important.log": "", "top-only.txt": "", "build/o": "",
        "docs/n.tmp": "", "docs/keep.md": "", "docs/deep/n.tmp": "",
        "src/.gitignore": "gen/\n*.out\n!keep.out\n/local.txt\nsub/*.c\n",
        "src/top-only.txt": "", "src/local.txt": "", "src/lib/local.txt": "", "src/a.out": "",
        "src/keep.out": "", "src/gen/g.py": "", "src/lib/gen/g.py": "", "src/sub/x.c": "",
        "src/lib/sub/x.c": "", "src/x.log": "", "src/important.log": "",
        "src/lib/.gitignore": "!*.log\n", "src/lib/y.log": "", "we*rd/.gitignore": "*.md\n",
        "we*rd/r.md": "", "weXrd/r.md": "",
    }  # fmt: skip
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "list.git")], check=True)
    ignores = [
        (os.fsencode(name[: -len(".gitignore")].rstrip("/")), (work / name).read_bytes())
        for name in sorted(files, key=lambda n: (n.count("/"), n))
        if name.endswith(".gitignore")
    ]
    (tmp_path / "ex").write_bytes(ignore_rules.exclude_rules(b"", ignores))
    lister = tmp_path / "list.git"
    expected = _listing(work, lister, "--exclude-standard")
    assert "we*rd/r.md" not in expected and "weXrd/r.md" in expected  # the test sees globs
    assert "src/lib/y.log" in expected and "src/keep.out" in expected
    assert _listing(work, lister, f"--exclude-from={tmp_path / 'ex'}") == expected
    # From inside src/ (a nested repository is listed from its own top).
    inner = ignore_rules.exclude_rules(b"src/", ignores)
    (tmp_path / "ex-src").write_bytes(inner)
    expected = _listing(work / "src", lister, "--exclude-standard")
    assert _listing(work / "src", lister, f"--exclude-from={tmp_path / 'ex-src'}") == expected


def test_ignore_and_attribute_files_written_later_hide_nothing(box: Box):
    proj = box.ws / "proj"
    proj.mkdir()
    (proj / ".gitignore").write_text("build/\n")
    (proj / "app.py").write_text("def main():\n    return 1\n")
    inner = proj / "dep"  # a repository inside: its rules apply from its own top
    inner.mkdir()
    (inner / ".gitignore").write_text("*.tmp\n")
    (inner / "d.py").write_text("D = 1\n")
    git(inner, "init", "-q")
    box.run("baseline")
    (proj / ".gitignore").write_text("*\n")
    (proj / ".gitattributes").write_text("* -diff\n*.py binary\n")
    (box.ws / ".gitattributes").write_text("[attr]x -diff -text\n* x\n")
    (proj / "app.py").write_text("def main():\n    return 2\n")
    (proj / "new.py").write_text("evil()\n")
    (proj / "build").mkdir()
    (proj / "build" / "x.o").write_text("still ignored\n")
    (inner / ".gitignore").write_text("*\n")
    (inner / "e.py").write_text("E = 1\n")
    (inner / "x.tmp").write_text("still ignored\n")
    (inner / "new").mkdir()  # a repository made after the baseline: listed too
    (inner / "new" / "n.py").write_text("N = 1\n")
    git(inner / "new", "init", "-q")
    assert box.changes() == {
        ".gitattributes": ("added", 2, 0, False),
        "proj/.gitattributes": ("added", 2, 0, False),
        "proj/.gitignore": ("modified", 1, 1, False),
        "proj/app.py": ("modified", 1, 1, False),
        "proj/new.py": ("added", 1, 0, False),
        "proj/dep/.gitignore": ("modified", 1, 1, False),
        "proj/dep/e.py": ("added", 1, 0, False),
        "proj/dep/new/n.py": ("added", 1, 0, False),
    }
    patch = box.run("diff", "patch", "never").stdout.decode()
    assert "Binary files" not in patch and "+evil()" in patch and "+    return 2" in patch


def test_named_pipes_neither_hang_nor_break_a_refresh(box: Box):
    (box.ws / "victim.txt").write_text("tracked\n")
    (box.ws / "keep.txt").write_text("one\n")
    box.run("baseline")
    (box.ws / "victim.txt").unlink()
    os.mkfifo(box.ws / "victim.txt")
    os.mkfifo(box.ws / ".gitattributes")  # git opens it for every path it hashes
    os.mkfifo(box.ws / "new.fifo")
    (box.ws / "keep.txt").write_text("one\ntwo\n")
    assert box.changes() == {
        "victim.txt": ("deleted", 0, 1, False),
        "keep.txt": ("modified", 1, 0, False),
    }
    # A writer that never writes: git would wait for ever; the refresh stops at once.
    (box.ws / "more.txt").write_text("x\n")
    holder = os.open(box.ws / ".gitattributes", os.O_RDWR)
    try:
        began = time.monotonic()
        proc = box.run("changes", check=False)
        assert proc.returncode == 2 and b"named pipe .gitattributes" in proc.stderr
        assert time.monotonic() - began < 10
    finally:
        os.close(holder)
    assert "more.txt" in box.changes()


def test_names_git_refuses_are_reported_not_fatal(box: Box):
    (box.ws / "a.txt").write_text("a\n")
    box.run("baseline")
    (box.ws / ".GIT").mkdir()
    (box.ws / ".GIT" / "payload.sh").write_text("x\n")
    (box.ws / ".gitmodules").symlink_to("/etc/passwd")
    (box.ws / "esc\x1b[2J.txt").write_text("x\n")
    (box.ws / os.fsdecode(b"bad\xffname")).write_text("x\n")
    assert set(box.changes()) == {"esc\x1b[2J.txt", os.fsdecode(b"bad\xffname")}
    report = box.json("repos", str(os.getuid()), str(os.getgid()))
    refused = [e for e in report if "NOT in the diff" in e["text"]]
    assert refused and ".GIT/payload.sh" in refused[0]["text"] and refused[0]["danger"]
    assert ".gitmodules" in refused[0]["text"]
    # Exact names, whatever their bytes, for the Changes tab.
    patch = box.run("diff", "patch", "never", "literal", b"bad\xffname".hex()).stdout
    assert b"+x" in patch and b"esc" not in patch


def test_a_file_rewritten_while_hashed_is_recorded_from_a_copy(box: Box, monkeypatch):
    (box.ws / "a.txt").write_text("a\n")
    box.run("baseline")
    (box.ws / "big.bin").write_bytes(b"\0" * 100_000)
    (box.ws / "link").symlink_to("a.txt")
    (box.ws / "gone.txt").write_text("x\n")
    monkeypatch.setattr(layout, "ROOT", str(box.root))
    monkeypatch.setattr(layout, "GIT_DIR", f"{box.root}/track.git")
    monkeypatch.setattr(layout, "WORK_TREE", str(box.ws))
    (box.ws / "gone.txt").unlink()
    refresh._add_copies([b"big.bin", b"link", b"gone.txt"])
    listing = _index_listing_raw(box)
    assert "120000" in listing["link"] and "100644" in listing["big.bin"]
    assert "gone.txt" not in listing
    assert box.changes() == {"big.bin": ("added", 0, 0, True), "link": ("added", 1, 0, False)}


def _index_listing_raw(box: Box) -> dict[str, str]:
    env = {**os.environ, "GIT_DIR": f"{box.root}/track.git", "GIT_WORK_TREE": str(box.ws)}
    out = subprocess.run(
        ["git", "-c", "safe.directory=*", "ls-files", "-s"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split("\t", 1)[1]: line.split("\t", 1)[0] for line in out.splitlines()}


# -- the mounted repositories' report ------------------------------------------------------


def test_repository_report_names_commits_refs_and_what_runs_code(box: Box):
    proj = box.ws / "proj"
    proj.mkdir()
    (proj / "a.txt").write_text("a\n")
    git(proj, "init", "-q", "-b", "main")
    git(proj, "add", "-A")
    git(proj, "commit", "-qm", "init")
    git(proj, "branch", "old")
    git(proj, "tag", "v0")
    ids = (str(os.getuid()), str(os.getgid()))
    box.run("baseline", *ids)
    assert box.json("repos", *ids) == []
    for n in (1, 2):
        (proj / "a.txt").write_text(f"a{n}\n")
        git(proj, "commit", "-qam", f"c{n}")
    git(proj, "checkout", "-qb", "feature")
    (proj / "b.txt").write_text("b\n")
    git(proj, "add", "b.txt")
    git(proj, "commit", "-qm", "f")
    git(proj, "branch", "-D", "old")
    git(proj, "tag", "v1")
    report = box.json("repos", *ids)
    texts = {(e["repo"], e["text"], e["danger"]) for e in report}
    assert ("proj", "2 commits on branch main since the start", False) in texts
    assert ("proj", "branch feature created (3 commits since the start)", False) in texts
    assert ("proj", "HEAD moved from main to feature", False) in texts
    assert any(r == "proj" and t.startswith("branch old deleted (was ") for r, t, _ in texts)
    assert ("proj", "tag v1 created", False) in texts
    assert not any(d for _, _, d in texts)

    (proj / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\ntouch /tmp/x\n")
    (proj / ".git" / "commondir").write_text("../elsewhere\n")
    (box.ws / "other").mkdir()
    git(box.ws / "other", "init", "-q")
    report = box.json("repos", *ids)
    texts = {(e["repo"], e["text"], e["danger"]) for e in report}
    dangers = {t.split(" (")[0] for r, t, d in texts if d}
    assert dangers == {
        "the agent created .git/hooks/pre-commit",
        "the agent created .git/commondir",
        "a new .git appeared in the session: its config and hooks are the agent's, and git "
        "commands run there can run programs",
    }


def test_a_watched_git_gets_all_its_input_however_slow_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watch looks in while git runs (a timeout on communicate()); git must still get every
    byte of its input and its end: a half-written pipe once left `update-index --stdin` waiting
    forever with many new files."""
    monkeypatch.setattr(layout, "ROOT", str(tmp_path))
    data = b"path\0" * (2 << 20)  # 10 MiB: far more than a pipe holds
    reader = "import sys, time; time.sleep(0.3); print(len(sys.stdin.buffer.read()))"
    result: list[tuple[int, bytes, bytes]] = []
    run = threading.Thread(
        target=lambda: result.append(
            git_run._watched([sys.executable, "-c", reader], dict(os.environ), str(tmp_path), data)
        ),
        daemon=True,
    )
    run.start()
    run.join(60)
    assert result, "the reader never got the end of its input"
    code, out, _err = result[0]
    assert code == 0 and int(out) == len(data)


def test_a_pushs_staging_files_are_never_recorded(box: Box):
    """`.claudex-part-<token>-<n>` and `.claudex-manifest-<token>` (a push in flight) stay out
    of the baseline, the changes and every checkpoint, even where a .gitignore says `!`."""
    token = "0123456789ab"
    staging = [f".claudex-part-{token}-0", f".claudex-manifest-{token}"]
    proj = box.ws / "proj"
    (proj / "inner").mkdir(parents=True)
    (proj / ".gitignore").write_text("!.claudex-*\n")
    (proj / "inner" / "i.txt").write_text("i\n")
    git(proj / "inner", "init", "-q")  # a repository of its own: listed from the inside
    git(proj / "inner", "add", "-A")
    git(proj / "inner", "commit", "-qm", "i")
    for where in (box.ws, proj, proj / "inner"):
        for name in staging:
            (where / name).write_text("half a push\n")
    box.json("baseline")
    for where in (proj, proj / "inner"):
        (where / f".claudex-part-{'f' * 12}-12").write_text("another push\n")
    (proj / ".claudex-part-notes.txt").write_text("not a staging name\n")
    assert box.changes() == {"proj/.claudex-part-notes.txt": ("added", 1, 0, False)}
    box.run("checkpoint", "after")
    recorded = subprocess.run(
        ["git", f"--git-dir={box.root}/track.git", "log", "--all", "--name-only", "--format="],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(set(recorded)) == [
        "proj/.claudex-part-notes.txt",
        "proj/.gitignore",
        "proj/inner/i.txt",
    ]
