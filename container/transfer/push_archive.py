"""The host side of a push: what to send (`plan`) and the tar archive of it (`PushArchive`),
made as it is sent, never a whole file in memory."""

from __future__ import annotations

import io
import posixpath
import stat
import tarfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from container.errors import ClaudexError
from container.transfer.common import CHUNK, TEMP_PREFIX, TransferReport


@dataclass
class Item:
    """One member of a push: host path, name relative to dest, temp name for regular files."""

    path: Path
    arcname: str
    temp: str | None = None


def _children(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise ClaudexError(f"cannot read {path}: {exc.strerror}") from None


def plan(
    tops: list[tuple[Path, str]], existing: dict[str, str], force: bool, token: str
) -> tuple[list[Item], TransferReport, int]:
    """What to send: new things, and existing files only with force. Returns items, report
    (skipped/refused filled in), total payload bytes."""
    report = TransferReport()
    items: list[Item] = []
    total = 0
    counter = 0
    stack = [(p, name) for p, name in reversed(tops)]
    while stack:
        path, arcname = stack.pop()
        try:
            st = path.lstat()
        except OSError as exc:
            raise ClaudexError(f"cannot read {path}: {exc.strerror}") from None
        there = existing.get(arcname)
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir:
            if there is not None and there != "d":
                if force:
                    report.refused.append(f"{arcname}: a file is in the way of this directory")
                else:
                    report.skipped.append(arcname)
                continue
            if there is None:
                items.append(Item(path, arcname))
            stack.extend((c, f"{arcname}/{c.name}") for c in reversed(_children(path)))
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            report.refused.append(f"{arcname}: not a regular file, directory or link")
            continue
        if there is not None:
            if not force:
                report.skipped.append(arcname)
                continue
            if there == "d":
                report.refused.append(f"{arcname}: a directory is in the way")
                continue
        item = Item(path, arcname)
        if stat.S_ISREG(st.st_mode):
            parent = posixpath.dirname(arcname)
            item.temp = posixpath.join(parent, f"{TEMP_PREFIX}{token}-{counter}")
            counter += 1
            total += st.st_size
        items.append(item)
    return items, report, total


class PushArchive:
    """The archive of `items`, owned by uid:gid, made as it is sent.

    Its length is known before the first byte goes (the headers are made once to count and
    again to send), so the request carries a Content-Length: chunked encoding would copy every
    megabyte once more. File data is read straight from disk into one reused buffer (tarfile's
    own writer copies every byte several times and was twice as slow as `docker cp`)."""

    def __init__(
        self,
        items: list[Item],
        manifest: tuple[str, bytes] | None,
        uid: int,
        gid: int,
        advance: Callable[[int], None],
    ) -> None:
        self.items, self.uid, self.gid, self.advance = items, uid, gid, advance
        self.sizes = array("q")  # bytes of each member, header and padding included
        for _item, header, size in self._members():
            self.sizes.append(len(header) + size + _padding(size))
        self.trailer = b""
        if manifest:
            name, data = manifest
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o600, uid, gid
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            self.trailer = header + data + bytes(_padding(len(data)))
        written = sum(self.sizes) + len(self.trailer)
        end = 2 * tarfile.BLOCKSIZE
        end += -(written + end) % tarfile.RECORDSIZE
        self.trailer += bytes(end)
        self.length = written + end

    def __len__(self) -> int:
        return self.length

    def _members(self) -> Iterator[tuple[Item, bytes, int]]:
        # gettarinfo on a TarFile remembers inodes, so a second name of a file already sent
        # becomes a hard link to the first one's staged name; both are renamed into place.
        tar = tarfile.TarFile(fileobj=io.BytesIO(), mode="w", format=tarfile.PAX_FORMAT)
        for item in self.items:
            try:
                info = tar.gettarinfo(str(item.path), item.temp or item.arcname)
            except OSError as exc:
                raise ClaudexError(f"cannot read {item.path}: {exc.strerror}") from None
            info.uid, info.gid, info.uname, info.gname = self.uid, self.gid, "", ""
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            yield item, header, info.size if info.isreg() else 0

    def __iter__(self) -> Iterator[bytes | memoryview]:
        buffer = memoryview(bytearray(CHUNK))
        for (item, header, size), planned in zip(self._members(), self.sizes, strict=True):
            if len(header) + size + _padding(size) != planned:
                raise ClaudexError(
                    f"{item.path} changed while it was being pushed",
                    "push it again once nothing is writing it",
                )
            yield header
            if size:
                yield from _file_data(item.path, size, buffer, self.advance)
            if pad := _padding(size):
                yield bytes(pad)
        yield self.trailer


def _padding(size: int) -> int:
    return -size % tarfile.BLOCKSIZE


def _file_data(
    path: Path, size: int, buffer: memoryview, advance: Callable[[int], None]
) -> Iterator[memoryview]:
    """Exactly `size` bytes of the file (its size in the header already went out), in
    `buffer`: each piece is sent before the next is read."""
    try:
        with open(path, "rb", buffering=0) as fh:
            left = size
            while left:
                n = fh.readinto(buffer[: min(len(buffer), left)])
                if not n:
                    raise ClaudexError(
                        f"{path} shrank while it was being pushed",
                        "push it again once nothing is writing it",
                    )
                left -= n
                advance(n)
                yield buffer[:n]
    except OSError as exc:
        raise ClaudexError(f"cannot read {path}: {exc.strerror}") from None
