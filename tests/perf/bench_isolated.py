"""Benchmark of isolated sessions on the host; prints same-run figures and ratios.

    .venv/bin/python tests/perf/bench_isolated.py [--files 20000] [--mb 200] [--changed 500]

1. The copy step of `--isolated` (`container.isolated.make_copy`: the session's copy and the
   base `claudex apply` compares with) on a FILES-file, MB-megabyte git repository with a few
   uncommitted files, against `git clone --shared` of it; and on the same tree as a plain
   directory against `cp -a`. Same file system, page cache warm, RUNS pairs (each run right
   after its floor; the median of the pairs' ratios). Target: <= 1.5.
2. Comparing the copy with the user's directory after CHANGED files were modified in the copy
   (what the Changes tab and `claudex apply --check` do). Target: <= 1 s.
3. Applying them (comparing, staging and writing). Target: <= 2 s. Then the Changes tab's list
   of them with +/- counts (isolated_review.review), for information.
No engine is needed: the copy step, comparing and applying all run on the host.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from container import labels
from container.isolated import base_of, isolated_root, make_copy
from container.isolated_apply import compare, write
from container.isolated_review import review

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "u",
    "GIT_AUTHOR_EMAIL": "u@x",
    "GIT_COMMITTER_NAME": "u",
    "GIT_COMMITTER_EMAIL": "u@x",
}


def make_tree(root: Path, files: int, total_mb: int, git: bool) -> None:
    size = total_mb * 1024 * 1024 // files
    per_dir = 200
    for i in range(files):
        d = root / f"pkg{i // per_dir:03}"
        if i % per_dir == 0:
            d.mkdir(parents=True)
        # Text that compresses like source code does (not all zeros, not random bytes).
        line = f"def function_{i}(x): return x * {i} + {os.urandom(8).hex()}\n"
        (d / f"m{i:05}.py").write_text(line * (size // len(line) + 1))
    if not git:
        return
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=GIT_ENV)
    commit = ["git", "-C", str(root), "-c", "gc.auto=0", "commit", "-qm", "tree"]
    subprocess.run(commit, check=True, env=GIT_ENV)
    # Uncommitted work, as a user has: a few edits and an untracked file.
    for i in range(min(50, files // per_dir)):
        (root / f"pkg{i:03}" / f"m{i * 200:05}.py").write_text(f"edited {i}\n")
    (root / "untracked.txt").write_text("new\n")


def paired(
    runs: int, setup: Callable[[], None], floor: Callable[[], None], ours: Callable[[], None]
) -> list[tuple[float, float]]:
    """(floor, ours) times of each run, one right after the other: the machine's load (the
    disk's writeback above all) moves both alike, so each pair's ratio is the figure."""
    pairs = []
    for _ in range(runs):
        times = []
        for step in (floor, ours):
            setup()
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        pairs.append((times[0], times[1]))
    return pairs


def copy_figures(tmp: Path, src: Path, runs: int, git: bool) -> float:
    out = isolated_root() / "bench"  # claudex's layout: the tab reads it by its label

    def clean() -> None:
        shutil.rmtree(out, ignore_errors=True)
        (out / "work").mkdir(parents=True)
        (out / "base").mkdir()
        subprocess.run(["sync"], check=True)

    def floor() -> None:
        if git:
            cmd = ["git", "clone", "-q", "--shared", str(src), str(out / "work" / "0-src")]
        else:
            cmd = ["cp", "-a", str(src), str(out / "work" / "0-src")]
        subprocess.run(cmd, check=True, env=GIT_ENV)

    def ours() -> None:
        make_copy(str(src), str(out / "work" / "0-src"), str(out / "base" / "0-src"), "bench")

    pairs = paired(runs, clean, floor, ours)
    label, what = ("git", "git clone --shared") if git else ("plain", "cp -a")
    ratio = statistics.median(o / f for f, o in pairs)
    shown = ", ".join(f"{f:.2f}/{o:.2f}" for f, o in pairs)
    print(f"{label}: {what} / isolated copy step, each run: {shown} s")
    print(f"{label}: ratio copy/{what.split()[0]}: median {ratio:.2f} (target <= 1.5)")
    return ratio


def change_figures(tmp: Path, src: Path, changed: int) -> tuple[float, float]:
    out = isolated_root() / "bench"  # claudex's layout: the tab reads it by its label
    work = out / "work" / "0-src"
    # Not the first file of a folder: the user edited some of those (they would conflict).
    files = [p for p in sorted(work.rglob("m*.py")) if int(p.stem[1:]) % 200][::7][:changed]
    for p in files:
        p.write_text(p.read_text() + "# changed by the session\n")
    staging = tmp / "staging"
    staging.mkdir(exist_ok=True)
    start = time.perf_counter()
    found = compare(str(src), str(work), base_of(str(work)), None)
    compare_t = time.perf_counter() - start
    assert len(found.by_state("apply")) == len(files), len(found.changes)
    print(f"compare {len(files)} changed files (Changes tab, apply --check): {compare_t:.2f}s")
    start = time.perf_counter()
    found = compare(str(src), str(work), base_of(str(work)), str(staging))
    written = write([found])
    apply_t = time.perf_counter() - start
    assert written == len(files), written
    print(f"apply {written} changed files: {apply_t:.2f}s")
    for p in files:  # changed again, for the tab's list (with its +/- counts)
        p.write_text(p.read_text() + "# again\n")
    start = time.perf_counter()
    listed = review("bench", {labels.ISOLATED: json.dumps({str(src): str(work)})})
    review_t = time.perf_counter() - start
    assert len(listed) == len(files), len(listed)
    print(f"Changes tab list of {len(listed)} files with +/- counts: {review_t:.2f}s")
    print(f"targets: compare <= 1 s, apply <= 2 s: {compare_t:.2f}s, {apply_t:.2f}s")
    return compare_t, apply_t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--changed", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    base = os.environ.get("XDG_DATA_HOME") or None
    for git in (True, False):
        with tempfile.TemporaryDirectory(prefix="bench-isolated-", dir=base) as t:
            tmp = Path(t)
            os.environ["XDG_DATA_HOME"] = str(tmp / "data")
            src = tmp / "src"
            began = time.perf_counter()
            make_tree(src, args.files, args.mb, git)
            kind = "git repository" if git else "plain directory"
            print(
                f"tree: {args.files} files, {args.mb} MB, {kind} "
                f"(made in {time.perf_counter() - began:.1f}s)"
            )
            copy_figures(tmp, src, args.runs, git)
            if git:
                change_figures(tmp, src, args.changed)


if __name__ == "__main__":
    main()
