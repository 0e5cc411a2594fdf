"""Where the tracking repository and its records are, and the refs it keeps.

Other modules read these as `layout.NAME` at each use, so one place (a test) can
point them all elsewhere."""

from __future__ import annotations

import os

ROOT = os.environ.get("CLAUDEX_TRACK_ROOT", "/var/lib/claudex")
WORK_TREE = os.environ.get("CLAUDEX_TRACK_WORK_TREE", "/workspace")
GIT_DIR = f"{ROOT}/track.git"
BASELINE_FILE = f"{ROOT}/baseline"
LOCK_FILE = f"{ROOT}/lock"
NO_INDEX = f"{ROOT}/no-index"  # never created: an empty index, to list a nested repo's files
EXCLUDES = f"{ROOT}/excludes"  # the baseline's ignore rules, one file per listing root
REPOS_FILE = f"{ROOT}/repos.json"  # the mounted repositories at the baseline
REFUSED_FILE = f"{ROOT}/refused.json"  # names git would not record, from the last refresh
MAIN = "refs/heads/main"
BASELINE_REF = "refs/claudex/baseline"
ZERO = "0" * 40
