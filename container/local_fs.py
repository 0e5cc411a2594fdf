"""This machine's files as a `HostFS` (the engine runs here): the standard library only."""

from __future__ import annotations

import errno
import os
import stat as stat_module

from container.host_entries import READ_LIMIT, HostEntry, HostStat


def _kind(mode: int) -> str:
    if stat_module.S_ISDIR(mode):
        return "dir"
    if stat_module.S_ISREG(mode):
        return "file"
    if stat_module.S_ISSOCK(mode):
        return "socket"
    return "other"


class LocalFS:
    """This machine's files (the engine runs here)."""

    remote = False
    label = "this machine"

    def stat(self, path: str) -> HostStat | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return HostStat(os.path.realpath(path), _kind(st.st_mode), st.st_uid, st.st_gid)

    def stat_many(self, paths: list[str]) -> list[HostStat | None]:
        return [self.stat(p) for p in paths]

    def list_dir(self, path: str) -> list[HostEntry]:
        entries = []
        with os.scandir(path) as it:
            for entry in it:
                if entry.is_symlink():
                    try:
                        to_dir = entry.is_dir()
                    except OSError:
                        to_dir = False
                    entries.append(HostEntry(entry.name, "link", to_dir))
                elif entry.is_dir(follow_symlinks=False):
                    entries.append(HostEntry(entry.name, "dir"))
                elif entry.is_file(follow_symlinks=False):
                    entries.append(HostEntry(entry.name, "file"))
                else:
                    entries.append(HostEntry(entry.name, "other"))
        return entries

    def read_text(self, path: str) -> str | None:
        """A regular file's text, None when there is none. Files the agent can write are read
        this way: a FIFO, device or link in its place, or a huge file, is an OSError at once
        (never a wait, never more than READ_LIMIT bytes)."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        _regular(st)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            _regular(os.fstat(fd))  # the same file still (it may have been swapped)
            data = b""
            while len(data) <= READ_LIMIT:
                chunk = os.read(fd, READ_LIMIT + 1 - len(data))
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(fd)
        if len(data) > READ_LIMIT:
            raise OSError(errno.EFBIG, f"too large (more than {READ_LIMIT >> 10} KiB)")
        return data.decode("utf-8")

    def home(self) -> str:
        return os.path.expanduser("~")

    def close(self) -> None:
        pass


def _regular(st: os.stat_result) -> None:
    """OSError unless a regular file of at most READ_LIMIT bytes (what read_text reads)."""
    mode = st.st_mode
    if stat_module.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory")
    if not stat_module.S_ISREG(mode):
        what = "a symbolic link" if stat_module.S_ISLNK(mode) else _special(mode)
        raise OSError(errno.EINVAL, f"not a regular file ({what})")
    if st.st_size > READ_LIMIT:
        raise OSError(errno.EFBIG, f"too large (more than {READ_LIMIT >> 10} KiB)")


def _special(mode: int) -> str:
    if stat_module.S_ISFIFO(mode):
        return "a FIFO"
    if stat_module.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat_module.S_ISCHR(mode) or stat_module.S_ISBLK(mode) else "special"


LOCAL = LocalFS()
