"""Push and pull: tar archives streamed through the Engine API, never a whole file in memory.

Pulled archives are extracted member by member under the `data` filter rules (no absolute
paths, no `..`, no links leading out, no device files or FIFOs); each file is written under
a temporary name and renamed when complete, so an interrupted pull leaves no partial file.
"""

from __future__ import annotations

import base64
import json
import os
import posixpath
import stat
import tarfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from container.engine import engine_errors
from container.errors import ClaudexError, UsageError
from container.mounts import WORKSPACE

if TYPE_CHECKING:
    from docker import APIClient

CHUNK = 1 << 16
Progress = Callable[[int, int], None]  # (bytes done, bytes total or 0 when unknown)


@dataclass
class TransferReport:
    """What a transfer did: paths written, skipped (existing, no --force), refused (hostile)."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    bytes: int = 0


def container_path(path: str, base: str = WORKSPACE) -> str:
    """Relative container paths are taken from /workspace."""
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(base, path))


def stat_path(api: APIClient, container_id: str, path: str) -> dict[str, Any] | None:
    """Docker's stat of a container path (a HEAD request: nothing is downloaded), or None."""
    url = api._url("/containers/{0}/archive", container_id)
    with engine_errors(f"looking at {path}"):
        res = api.head(url, params={"path": path})
    if res.status_code == 404:
        return None
    if res.status_code >= 400:
        raise ClaudexError(f"cannot look at {path} in the session: HTTP {res.status_code}")
    header = res.headers.get("X-Docker-Container-Path-Stat")
    return json.loads(base64.b64decode(header)) if header else {}


def _is_dir(st: dict[str, Any]) -> bool:
    return bool(int(st.get("mode", 0)) & (1 << 31))  # Go's os.ModeDir bit


# -- push ----------------------------------------------------------------------------------


def _walk(root: Path) -> Iterator[Path]:
    yield root
    if root.is_dir() and not root.is_symlink():
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                yield Path(dirpath, name)


def _size(paths: list[Path]) -> int:
    total = 0
    for top in paths:
        for p in _walk(top):
            try:
                st = p.lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


class _PipeWriter:
    """File-like end of an os.pipe for tarfile; counts the payload bytes for progress."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        return len(data)

    def close(self) -> None:
        os.close(self.fd)


def _tar_stream(
    paths: list[Path], uid: int, gid: int, progress: Progress | None, total: int
) -> Iterator[bytes]:
    """Tar of `paths` (by basename), owned by uid:gid, produced in a thread and read in chunks."""
    read_fd, write_fd = os.pipe()
    errors: list[BaseException] = []
    done = 0

    def produce() -> None:
        nonlocal done
        writer = _PipeWriter(write_fd)
        try:
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for top in paths:
                    for p in _walk(top):
                        arcname = (Path(top.name) / p.relative_to(top)).as_posix()
                        info = tar.gettarinfo(str(p), arcname)
                        info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
                        if info.isreg():
                            with open(p, "rb") as fh:
                                tar.addfile(info, _Counting(fh, lambda n: _advance(n)))
                        elif info.isdir() or info.issym() or info.islnk():
                            tar.addfile(info)
                        # sockets, FIFOs and devices are not pushed
        except BaseException as exc:
            errors.append(exc)
        finally:
            writer.close()

    def _advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    thread = threading.Thread(target=produce, name="claudex-push-tar", daemon=True)
    thread.start()
    try:
        with os.fdopen(read_fd, "rb", buffering=0) as reader:
            while chunk := reader.read(CHUNK):
                yield chunk
    finally:
        thread.join(timeout=5)
    if errors:
        exc = errors[0]
        if isinstance(exc, OSError):
            raise ClaudexError(f"cannot read {exc.filename}: {exc.strerror}")
        raise exc


class _Counting:
    """Reads from a file and reports how many bytes went by."""

    def __init__(self, fh: IO[bytes], on_read: Callable[[int], None]) -> None:
        self.fh = fh
        self.on_read = on_read

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.on_read(len(data))
        return data


def push(
    api: APIClient,
    container_id: str,
    sources: list[str],
    dest: str,
    *,
    uid: int,
    gid: int,
    force: bool = False,
    progress: Progress | None = None,
) -> TransferReport:
    """Copy host paths into `dest` (a container directory), owned by the agent user."""
    paths = [Path(s) for s in sources]
    for p in paths:
        if not p.exists() and not p.is_symlink():
            raise UsageError(f"no such file or directory: {p}")
    dest = container_path(dest)
    st = stat_path(api, container_id, dest)
    if st is None:
        raise UsageError(f"{dest} does not exist in the session", "create it, or pick --to DIR")
    if not _is_dir(st):
        raise UsageError(f"{dest} in the session is not a directory")
    report = TransferReport()
    chosen: list[Path] = []
    for p in paths:
        target = posixpath.join(dest, p.resolve().name if p.name in ("", ".", "..") else p.name)
        if not force and stat_path(api, container_id, target) is not None:
            report.skipped.append(target)
        else:
            chosen.append(p.resolve() if p.name in ("", ".", "..") else p)
            report.written.append(target)
    if not chosen:
        return report
    total = _size(chosen)
    stream = _tar_stream(chosen, uid, gid, progress, total)
    with engine_errors(f"copying into {dest}"):
        ok = api.put_archive(container_id, dest, stream)
    if not ok:
        raise ClaudexError(f"the engine refused to write into {dest}")
    report.bytes = total
    return report


# -- pull ----------------------------------------------------------------------------------


class _StreamReader:
    """A read() interface over the engine's chunk generator, for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes], progress: Progress | None) -> None:
        self.chunks = chunks
        self.buffer = b""
        self.progress = progress
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            try:
                chunk = next(self.chunks)
            except StopIteration:
                break
            self.done += len(chunk)
            if self.progress:
                self.progress(self.done, 0)
            self.buffer += chunk
        if size < 0:
            data, self.buffer = self.buffer, b""
        else:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def safe_extract(
    fileobj: Any, dest: Path, *, force: bool = False, report: TransferReport | None = None
) -> TransferReport:
    """Extract a tar stream under `dest`, refusing anything that would land or point outside it."""
    report = report or TransferReport()
    dest = dest.resolve()
    with tarfile.open(fileobj=fileobj, mode="r|") as tar:
        for member in tar:
            if member.name.startswith("/") or (member.islnk() and member.linkname.startswith("/")):
                # data_filter would quietly make these relative; an engine never sends them.
                report.refused.append(f"{member.name}: absolute path")
                continue
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
                source = tar.extractfile(member)
                assert source is not None
                _write_atomic(source, target, safe.mode or 0o644)
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
    return target.with_name(f".{target.name}.claudex-part-{os.getpid()}")


def _write_atomic(source: IO[bytes], target: Path, mode: int) -> None:
    tmp = _tmp_name(target)
    try:
        with open(tmp, "wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        os.chmod(tmp, mode & 0o777)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _replace_with(target: Path, make: Callable[[Path], None]) -> None:
    tmp = _tmp_name(target)
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    make(tmp)
    os.replace(tmp, target)


def pull(
    api: APIClient,
    container_id: str,
    source: str,
    dest: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> TransferReport:
    """Copy a container path (file or directory) into the host directory `dest`."""
    if not dest.is_dir():
        raise UsageError(f"destination is not a directory: {dest}")
    path = container_path(source)
    if stat_path(api, container_id, path) is None:
        raise UsageError(f"{path} does not exist in the session")
    with engine_errors(f"copying {path} out of the session"):
        chunks, _stat = api.get_archive(container_id, path, chunk_size=CHUNK)
        return safe_extract(_StreamReader(iter(chunks), progress), dest, force=force)
