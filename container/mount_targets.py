"""Where picked directories go in a session: `/workspace/<name>` targets and their conflicts.

Path strings only (no file system, no engine), so the mount picker can check targets as the
user types them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

WORKSPACE = "/workspace"


def default_targets(dirs: Sequence[str]) -> dict[str, str]:
    """`/workspace/<basename>`, made distinct with the parent's name, then a number."""
    by_base: dict[str, list[str]] = {}
    for d in dirs:
        by_base.setdefault(Path(d).name or "root", []).append(d)
    targets: dict[str, str] = {}
    used: set[str] = set()
    for base, group in by_base.items():
        for d in group:
            name = base if len(group) == 1 else f"{Path(d).parent.name or 'root'}-{base}"
            candidate, n = name, 2
            while candidate in used:
                candidate, n = f"{name}-{n}", n + 1
            used.add(candidate)
            targets[d] = f"{WORKSPACE}/{candidate}"
    return targets


def target_problem(target: str) -> str | None:
    """Why `target` cannot hold a picked directory, or None when it can."""
    if not target.startswith(f"{WORKSPACE}/"):
        return f"target must be under {WORKSPACE}/"
    parts = target[len(WORKSPACE) + 1 :].split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "target must be a plain path (no empty, . or .. parts)"
    return None


def _inside(path: str, parent: str) -> bool:
    return path != parent and path.startswith(parent.rstrip("/") + "/")


def mount_conflicts(targets: Mapping[str, str]) -> dict[str, str]:
    """The problem of each source -> target pair that cannot be mounted as asked, by source.

    Besides bad targets: a target used twice; a target inside another (Docker would create
    the inner mount point in the outer host directory); a directory inside another picked
    one (the same files would be mounted twice).
    """
    problems: dict[str, str] = {}
    items = sorted(targets.items())
    for src, target in items:
        problem = target_problem(target)
        if problem:
            problems[src] = problem
            continue
        for other, other_target in items:
            if other == src:
                continue
            if other_target == target:
                problems[src] = f"same target as {other}"
            elif _inside(target, other_target):
                problems[src] = f"target inside {other_target} (of {other})"
            elif _inside(src, other):
                problems[src] = f"inside {other}, which is picked too"
            elif _inside(other, src):
                problems[src] = f"contains {other}, which is picked too"
            else:
                continue
            break
    return problems
