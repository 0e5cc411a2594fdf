"""The tracking repository itself: made once, locked per operation, its baseline,
trees and commits."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator

from . import layout
from .errors import Failure, NoBaseline
from .git_run import git, git_env

# Every attribute unspecified for every path (`binary` is a macro for -diff -merge -text).
ATTRIBUTES = (
    b"* !diff !text !eol !crlf !filter !ident !working-tree-encoding !merge !binary !delta\n"
)


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One operation at a time (the dashboard refreshes while the CLI runs)."""
    ensure_repo()
    with open(layout.LOCK_FILE, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def ensure_repo() -> None:
    os.makedirs(layout.ROOT, mode=0o700, exist_ok=True)
    os.chmod(layout.ROOT, 0o700)
    if os.path.exists(f"{layout.GIT_DIR}/HEAD"):
        _write_attributes(layout.GIT_DIR)  # repositories made before it existed get it too
        return
    tmp = f"{layout.GIT_DIR}.new"
    shutil.rmtree(tmp, ignore_errors=True)
    env = {k: v for k, v in git_env(tree=False).items() if k != "GIT_DIR"}
    git("init", "-q", "--bare", "-b", "main", tmp, env=env, cwd="/")
    for key, value in (("core.bare", "false"), ("core.logAllRefUpdates", "true")):
        git("config", "-f", f"{tmp}/config", key, value, env=env, cwd="/")
    _write_attributes(tmp)
    os.rename(tmp, layout.GIT_DIR)


def _write_attributes(git_dir: str) -> None:
    path = f"{git_dir}/info/attributes"
    with contextlib.suppress(OSError), open(path, "rb") as fh:
        if fh.read() == ATTRIBUTES:
            return
    os.makedirs(f"{git_dir}/info", exist_ok=True)
    with open(f"{path}.tmp", "wb") as fh:
        fh.write(ATTRIBUTES)
    os.replace(f"{path}.tmp", path)


def baseline() -> str:
    try:
        with open(layout.BASELINE_FILE) as fh:
            return fh.read().strip()
    except FileNotFoundError:
        raise NoBaseline("no baseline yet") from None


def write_tree() -> str:
    return git("write-tree").decode().strip()


def rev(name: str) -> str | None:
    try:
        return git("rev-parse", "-q", "--verify", name).decode().strip()
    except Failure:
        return None


def commit(tree: str, message: str, parent: str | None) -> str:
    args = ["commit-tree", tree, "-m", message]
    if parent:
        args += ["-p", parent]
    return git(*args).decode().strip()


def count_files() -> int:
    return git("ls-files", "-z").count(b"\0")
