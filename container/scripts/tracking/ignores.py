"""The ignore rules of the BASELINE, rewritten into one exclude file per listing root:
the work tree's current `.gitignore` files never decide what is recorded."""

from __future__ import annotations

import functools
import hashlib
import os

from . import layout
from .git_run import git
from .repository import baseline

IGNORE_FILE_MAX = 1 << 20  # a larger .gitignore in the baseline is not used
ALWAYS_SHOWN = [b"!.gitignore", b"!.gitattributes"]  # never ignored, wherever they are


def _trim_trailing_spaces(line: bytes) -> bytes:
    """As git does: trailing spaces go unless escaped with a backslash."""
    last_space = None
    i = 0
    while i < len(line):
        c = line[i : i + 1]
        if c == b" ":
            if last_space is None:
                last_space = i
        elif c == b"\\":
            i += 1
            if i >= len(line):
                return line
            last_space = None
        else:
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def _glob_escape(path: bytes) -> bytes:
    out = bytearray()
    for byte in path:
        if byte in b"*?[\\":
            out += b"\\"
        out.append(byte)
    return bytes(out)


def rewrite_ignore(directory: bytes, data: bytes) -> list[bytes]:
    """The patterns of `directory`/.gitignore, each rewritten to mean the same from the top.

    A pattern with a slash before its end is anchored to the file's directory (`/D/pat`);
    one without matches at any depth below it (`/D/**/pat`); `!` and a trailing `/` are kept.
    A directory whose name cannot be written in a pattern (a newline) gives nothing: fewer
    ignores only ever show more.
    """
    if b"\n" in directory or b"\r" in directory:
        return []
    prefix = b"/" + _glob_escape(directory) + b"/" if directory else b""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    for raw in data.split(b"\n"):
        line = raw.split(b"\0", 1)[0]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line or line.startswith(b"#"):
            continue
        line = _trim_trailing_spaces(line)
        negate = line.startswith(b"!")
        body = line[1:] if negate else line
        stem = body[:-1] if body.endswith(b"/") else body
        if not stem:
            continue
        if prefix:
            if b"/" in stem:
                body = prefix + (body[1:] if body.startswith(b"/") else body)
            else:
                body = prefix + b"**/" + body
        out.append((b"!" if negate else b"") + body)
    return out


@functools.cache
def _baseline_ignores() -> list[tuple[bytes, bytes]]:
    """(directory, contents) of each regular .gitignore in the baseline, top first."""
    listing = git("ls-tree", "-r", "-z", baseline())  # no sizes: they would read every blob
    wanted: list[tuple[bytes, str]] = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, _kind, sha = meta.split()
        if path != b".gitignore" and not path.endswith(b"/.gitignore"):
            continue
        if mode in (b"100644", b"100755"):
            wanted.append((path[: -len(b".gitignore")].rstrip(b"/"), sha.decode()))
    blobs = _blobs([sha for _, sha in wanted])
    rules = [(directory, blobs[sha]) for directory, sha in wanted if sha in blobs]
    rules.sort(key=lambda r: (r[0].count(b"/") + 1 if r[0] else 0, r[0]))
    return rules


def _blobs(shas: list[str]) -> dict[str, bytes]:
    """The contents of these blobs, but for those over IGNORE_FILE_MAX."""
    if not shas:
        return {}
    unique = sorted(set(shas))
    stdin = "".join(f"{sha}\n" for sha in unique).encode()
    sizes = git("cat-file", "--batch-check=%(objectname) %(objectsize)", stdin=stdin)
    small = [
        fields[0].decode()
        for fields in (line.split() for line in sizes.splitlines())
        if len(fields) == 2 and fields[1].isdigit() and int(fields[1]) <= IGNORE_FILE_MAX
    ]
    if not small:
        return {}
    out = git("cat-file", "--batch", stdin="".join(f"{sha}\n" for sha in small).encode())
    blobs = {}
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        sha, _kind, size = out[pos:end].split()
        start = end + 1
        blobs[sha.decode()] = out[start : start + int(size)]
        pos = start + int(size) + 1
    return blobs


def exclude_rules(base: bytes, ignores: list[tuple[bytes, bytes]]) -> bytes:
    """An exclude file for a listing rooted at `base` ("" or "dir/"): the rules of every
    .gitignore at or below it, deeper ones later (git gives them precedence)."""
    lines: list[bytes] = []
    inner = base.rstrip(b"/")
    for directory, data in ignores:
        if base and directory != inner and not directory.startswith(base):
            continue
        lines += rewrite_ignore(directory[len(base) :] if base else directory, data)
    return b"\n".join([*lines, *ALWAYS_SHOWN]) + b"\n"


def exclude_file(base: bytes) -> str:
    """The exclude file of `base`, made once per session (the baseline never changes)."""
    path = f"{layout.EXCLUDES}/{hashlib.sha256(base).hexdigest()[:24]}"
    if not os.path.exists(path):
        os.makedirs(layout.EXCLUDES, mode=0o700, exist_ok=True)
        with open(f"{path}.tmp", "wb") as fh:
            fh.write(exclude_rules(base, _baseline_ignores()))
        os.replace(f"{path}.tmp", path)
    return path
