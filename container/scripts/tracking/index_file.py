"""Reading and writing git's index (version 2, SHA-1) to merge the indexes that
parallel `update-index` runs wrote."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

from .errors import Failure

INDEX_ENTRY_FIXED = 62  # stat data, mode, ids, size, object id and flags, before the path


def read_index_entries(path: str) -> list[tuple[bytes, bytes]] | None:
    """(path, raw entry) pairs of a version 2 index with SHA-1 ids, sorted as git sorts them.

    None when the file is anything else (another version, a required extension, a bad
    checksum): the caller then lets git do the work. Optional extensions (the cache tree,
    the untracked cache) are dropped; git rebuilds them when it needs them.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 32 or data[:4] != b"DIRC" or int.from_bytes(data[4:8], "big") != 2:
        return None
    if hashlib.sha1(data[:-20]).digest() != data[-20:]:
        return None
    count = int.from_bytes(data[8:12], "big")
    entries = []
    pos = 12
    for _ in range(count):
        end = data.index(b"\0", pos + INDEX_ENTRY_FIXED)
        name = data[pos + INDEX_ENTRY_FIXED : end]
        size = (INDEX_ENTRY_FIXED + len(name) + 8) // 8 * 8
        entries.append((name, data[pos : pos + size]))
        pos += size
    while pos < len(data) - 20:  # extensions: 4-byte signature, 4-byte length, data
        signature = data[pos : pos + 4]
        if not b"A" <= signature[:1] <= b"Z":
            return None  # required to read the index right (a split index, say)
        pos += 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
    return entries


def write_index(path: str, entries: Iterator[tuple[bytes, bytes]]) -> None:
    body = bytearray()
    count = 0
    last = None
    for name, raw in entries:
        if name == last:
            raise Failure(f"index merge: {os.fsdecode(name)} twice")
        body += raw
        last = name
        count += 1
    data = b"DIRC" + (2).to_bytes(4, "big") + count.to_bytes(4, "big") + bytes(body)
    tmp = f"{path}.claudex-merge"
    with open(tmp, "wb") as fh:
        fh.write(data + hashlib.sha1(data).digest())
    os.replace(tmp, path)
