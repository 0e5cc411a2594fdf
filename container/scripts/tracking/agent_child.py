"""Work done in a child that runs as the agent user (never root), with its result
bounded in size and time."""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable

from .errors import Failure

AGENT_OUTPUT_MAX = 16 << 20
AGENT_SECONDS = 60.0


def as_agent(uid: int, gid: int, func: Callable[[bytes], bytes], payload: bytes) -> bytes:
    """`func(payload)` in a child running as uid:gid; its result, bounded in size and time."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(in_w)
            os.close(out_r)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            with os.fdopen(in_r, "rb") as src:
                data = src.read()
            result = func(data)
            with os.fdopen(out_w, "wb") as dst:
                dst.write(result)
        except BaseException as exc:
            sys.stderr.write(f"reading the repositories: {exc}\n")
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(in_r)
    os.close(out_w)
    try:
        with os.fdopen(in_w, "wb") as dst:
            dst.write(payload)
        result = _read_bounded(out_r, AGENT_OUTPUT_MAX, time.monotonic() + AGENT_SECONDS)
    except Failure:
        os.kill(pid, 9)
        raise
    finally:
        os.close(out_r)
        _pid, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise Failure("reading the repositories failed")
    return result


def _read_bounded(fd: int, limit: int, deadline: float) -> bytes:
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise Failure("reading the repositories took too long")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise Failure("reading the repositories gave too much")
