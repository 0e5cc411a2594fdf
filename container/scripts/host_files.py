"""Runs in the files helper container (container/host_fs.py: EngineFS), as
`python3 -c SOURCE OP ARGS...`, with the engine host's `/` bound read-only at /host; prints one
JSON document. Standard library only (the image's Python 3.11).

Links are resolved by hand under /host: an absolute link target names a path of the host,
which the helper sees under /host, not at its own root.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
from typing import Any

ROOT = "/host"


def real(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    out: list[str] = []
    hops = 0
    while parts:
        p = parts.pop(0)
        if p == ".":
            continue
        if p == "..":
            if out:
                out.pop()
            continue
        here = ROOT + "/" + "/".join([*out, p])
        if os.path.islink(here):
            hops += 1
            if hops > 40:
                raise OSError(40, "too many levels of symbolic links", path)
            target = os.readlink(here)
            if target.startswith("/"):
                out = []
            parts = [x for x in target.split("/") if x] + parts
            continue
        out.append(p)
    return "/" + "/".join(out)


def kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISLNK(mode):
        return "link"
    return "other"


def op_stat(*paths: str) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    for path in paths:
        try:
            r = real(path)
            st = os.stat(ROOT + r)
            out.append({"real": r, "kind": kind(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})
        except OSError:
            out.append(None)
    return out


def op_list(path: str) -> list[list[Any]]:
    r = real(path)
    entries: list[list[Any]] = []
    with os.scandir(ROOT + r) as it:
        for e in it:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            k = kind(st.st_mode)
            to_dir = False
            if k == "link":
                with contextlib.suppress(OSError):
                    to_dir = stat.S_ISDIR(os.stat(ROOT + real(r + "/" + e.name)).st_mode)
            entries.append([e.name, k, to_dir])
    return entries


def regular(st: os.stat_result, limit: int) -> None:
    # As LocalFS.read_text: a regular file of at most `limit` bytes, else why not.
    if stat.S_ISDIR(st.st_mode):
        raise OSError(errno.EISDIR, "Is a directory")
    if not stat.S_ISREG(st.st_mode):
        what = {"link": "a symbolic link", "socket": "a socket"}.get(kind(st.st_mode))
        if what is None:
            what = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device"
        raise OSError(errno.EINVAL, "not a regular file (" + what + ")")
    if st.st_size > limit:
        raise OSError(errno.EFBIG, f"too large (more than {limit >> 10} KiB)")


def op_read(path: str, limit_text: str) -> str | None:
    # The last component is not followed (nor waited on: FIFOs, devices), like LocalFS.
    limit = int(limit_text)
    parent, _, name = path.rstrip("/").rpartition("/")
    here = ROOT + real(parent or "/").rstrip("/") + "/" + name
    try:
        regular(os.lstat(here), limit)
    except FileNotFoundError:
        return None
    fd = os.open(here, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        regular(os.fstat(fd), limit)
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"too large (more than {limit >> 10} KiB)")
    return data.decode("utf-8", "surrogateescape")


OPS: dict[str, Any] = {"stat": op_stat, "list": op_list, "read": op_read}


def main() -> None:
    try:
        result = OPS[sys.argv[1]](*sys.argv[2:])
    except OSError as exc:
        sys.stderr.write(f"{exc.strerror or exc}\n")
        sys.exit(2)
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
