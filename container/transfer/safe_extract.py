"""Extracting a pulled tar stream on the host, safely: member by member under the `data`
filter rules (no absolute paths, no `..`, no links leading out, no device files or FIFOs);
each file is written under a temporary name and renamed when complete, so an interrupted pull
leaves no partial file. Everything in the archive comes from the session: hostile input."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from container.transfer.cancel import CancelToken, uninterrupted
from container.transfer.common import CHUNK, TransferReport

# Pull reads and writes in smaller steps: while a write runs nothing reads the socket, and the
# engine, which sends 32 KiB at a time, waits; megabyte writes made pulls ~10 % slower.
PULL_CHUNK = 256 << 10


class ForwardStream:
    """A stream with forward-only seek and tell, so tarfile's plain "r:" mode can parse it
    (the stream mode "r|" joins and slices every block); file data is read with `readinto`
    into one reused buffer. On the engine's response it reads the http.client response
    under urllib3 directly: its readinto decodes chunks straight into the buffer, where
    read() allocates fresh megabytes every call (page faults cost a third more system time).

    Checks the cancel token on every read."""

    def __init__(self, raw: Any, cancel: CancelToken | None = None) -> None:
        fp = getattr(raw, "_fp", None)
        self.fp = fp if fp is not None and hasattr(fp, "readinto") else None
        self.raw = raw
        self.cancel = cancel
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        if self.cancel:
            self.cancel.check()
        source = self.fp or self.raw
        data: bytes = source.read(size if size >= 0 else None)
        if 0 < len(data) < size:  # tarfile takes a short read for the end of the archive
            parts, got = [data], len(data)
            while got < size and (more := source.read(size - got)):
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        self.pos += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:
        if self.fp is None:
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        if self.cancel:
            self.cancel.check()
        n: int = self.fp.readinto(buffer)
        self.pos += n
        return n

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or offset < self.pos:
            raise io.UnsupportedOperation("the archive can only be read forward")
        while self.pos < offset and self.read(min(CHUNK, offset - self.pos)):
            pass
        return self.pos


def safe_extract(
    fileobj: Any,
    dest: Path,
    *,
    force: bool = False,
    report: TransferReport | None = None,
    on_bytes: Callable[[int], None] | None = None,
    rename_top: tuple[str, str] | None = None,
) -> TransferReport:
    """Extract a tar stream under `dest`, refusing anything that would land or point outside it.

    `rename_top` (old, new) writes the archive's top-level entry `old` as `new`."""
    report = report or TransferReport()
    dest = dest.resolve()
    stream = fileobj if isinstance(fileobj, ForwardStream) else ForwardStream(fileobj)
    buffer = memoryview(bytearray(PULL_CHUNK))
    with tarfile.open(fileobj=stream, mode="r:") as tar:  # type: ignore[call-overload]
        for member in tar:
            if member.name.startswith("/") or (member.islnk() and member.linkname.startswith("/")):
                # data_filter would quietly make these relative; an engine never sends them.
                report.refused.append(f"{member.name}: absolute path")
                continue
            if rename_top:
                member = _renamed(member, *rename_top)
            try:
                safe = tarfile.data_filter(member, str(dest))
            except tarfile.FilterError as exc:
                report.refused.append(f"{member.name}: {_filter_reason(exc)}")
                continue
            target = dest / safe.name
            if not _inside(dest, target.parent):
                report.refused.append(f"{member.name}: would be written outside {dest}")
                continue
            if safe.isdir():
                if target.is_symlink() or (target.exists() and not target.is_dir()):
                    report.refused.append(f"{member.name}: a non-directory is in the way")
                    continue
                target.mkdir(parents=True, exist_ok=True)
                continue
            if target.exists() or target.is_symlink():
                if not force:
                    report.skipped.append(str(target))
                    continue
                if target.is_dir() and not target.is_symlink():
                    report.refused.append(f"{member.name}: a directory is in the way")
                    continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if not _inside(dest, target.parent.resolve()):
                report.refused.append(f"{member.name}: its folder leads outside {dest}")
                continue
            if safe.isreg():
                if member.issparse():
                    report.refused.append(f"{member.name}: sparse archive member")
                    continue
                stream.seek(member.offset_data)
                _write_atomic(stream, member.size, buffer, target, safe.mode or 0o644, on_bytes)
                report.bytes += member.size
            elif safe.issym():
                _replace_with(target, partial(os.symlink, safe.linkname))
            elif safe.islnk():
                linked = (dest / safe.linkname).resolve()
                if not _inside(dest, linked) or not linked.is_file():
                    report.refused.append(f"{member.name}: hard link to {safe.linkname}")
                    continue
                _replace_with(target, partial(os.link, linked))
            else:
                report.refused.append(f"{member.name}: not a regular file, directory or link")
                continue
            report.written.append(str(target))
    return report


def _renamed(member: tarfile.TarInfo, old: str, new: str) -> tarfile.TarInfo:
    def swap(name: str) -> str:
        head, sep, rest = name.partition("/")
        return new + sep + rest if head == old else name

    changes: dict[str, Any] = {"name": swap(member.name)}
    if member.islnk():
        changes["linkname"] = swap(member.linkname)
    return member.replace(**changes, deep=False)


def _filter_reason(exc: tarfile.FilterError) -> str:
    name = type(exc).__name__
    return {
        "AbsolutePathError": "absolute path",
        "OutsideDestinationError": "path leads outside the destination",
        "SpecialFileError": "device file or FIFO",
        "AbsoluteLinkError": "link to an absolute path",
        "LinkOutsideDestinationError": "link leads outside the destination",
    }.get(name, str(exc))


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name[:200]}.claudex-part-{os.getpid()}")


def _write_atomic(
    stream: ForwardStream,
    size: int,
    buffer: memoryview,
    target: Path,
    mode: int,
    on_bytes: Callable[[int], None] | None,
) -> None:
    """`size` bytes of `stream` into `target`, under a temporary name until complete."""
    tmp = _tmp_name(target)
    try:
        with open(tmp, "wb", buffering=0) as out:
            left = size
            while left:
                n = stream.readinto(buffer[: min(len(buffer), left)])
                if not n:
                    raise tarfile.ReadError("unexpected end of data")
                view = buffer[:n]
                while view:
                    view = view[out.write(view) or 0 :]
                left -= n
                if on_bytes:
                    on_bytes(n)
        os.chmod(tmp, mode & 0o777)
        os.replace(tmp, target)
    finally:
        with uninterrupted():
            tmp.unlink(missing_ok=True)


def _replace_with(target: Path, make: Callable[[Path], None]) -> None:
    tmp = _tmp_name(target)
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    make(tmp)
    os.replace(tmp, target)
