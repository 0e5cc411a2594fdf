"""git as the tracking repository runs it: its fixed options, its environment, and
the runs that read the work tree watched for named pipes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from typing import Any

from . import layout
from .errors import Failure
from .fifo_watch import WATCH_TICKS, FifoWatch

# Speed and predictability: no fsmonitor daemon, no auto gc in the middle of a refresh, no
# hooks, no user or system config (only this command line and the repository's own). Windows
# and macOS name rules off: only `.git` itself is a name git refuses to record.
GIT = [
    "git",
    "-c", "core.fsmonitor=false",
    "-c", "core.quotePath=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.autocrlf=false",
    "-c", "core.preloadIndex=true",
    "-c", "core.protectNTFS=false",
    "-c", "core.protectHFS=false",
    "-c", "gc.auto=0",
    "-c", "safe.directory=*",
    "-c", "user.name=claudex",
    "-c", "user.email=claudex@localhost",
    "-c", "commit.gpgSign=false",
]  # fmt: skip


def git_env(tree: bool = True, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": layout.ROOT,
        "GIT_DIR": layout.GIT_DIR,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "LC_ALL": "C",
        # glibc would hand the heap back after every file (zlib's state is freed and grows
        # again), and the page faults of growing it cost more system time than the hashing.
        "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=16777216",
    }
    if tree:
        env["GIT_WORK_TREE"] = layout.WORK_TREE
    env.update(extra)
    return env


def git(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
        cwd: str | None = None, tree: bool = False) -> bytes:  # fmt: skip
    """Run git; its stdout. `tree`: it reads the work tree (watched for named pipes);
    otherwise it runs as in a bare repository and reads nothing the agent wrote."""
    if tree:
        code, out, err = _watched([*GIT, *args], env or git_env(), cwd or layout.WORK_TREE, stdin)
    else:
        proc = subprocess.run(
            [*GIT, "-c", "core.bare=true", *args],
            input=stdin,
            env=env or git_env(tree=False),
            cwd=cwd or layout.ROOT,
            capture_output=True,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    if code:
        raise Failure(git_failed(args[0], code, err))
    return out


def git_failed(what: str, code: int, err: bytes) -> str:
    text = err.decode(errors="replace").strip()
    if code < 0:  # e.g. SIGBUS: a file it had mapped was truncated under it
        text = f"killed by signal {-code}" + (f": {text}" if text else "")
    return f"git {what} failed: {text}"


def _watched(
    cmd: list[str], env: dict[str, str], cwd: str, stdin: bytes | None
) -> tuple[int, bytes, bytes]:
    # The input comes from a file: communicate() with a timeout writes its input only on its
    # first call, so a retry after a timeout would leave git waiting on a half-written pipe.
    with contextlib.ExitStack() as stack:
        source: Any = subprocess.DEVNULL
        if stdin is not None:
            source = stack.enter_context(tempfile.TemporaryFile(dir=layout.ROOT))
            source.write(stdin)
            source.seek(0)
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    watch = FifoWatch()
    tick = WATCH_TICKS[0]
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=tick)
                return proc.returncode, out, err
            except subprocess.TimeoutExpired:
                watch.check(proc.pid)
                tick = min(tick * 2, WATCH_TICKS[1])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
