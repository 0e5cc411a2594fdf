"""Extraction of pulled archives: hostile members are refused, nothing lands outside DEST."""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
from pathlib import Path

from container.transfer.safe_extract import safe_extract


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    buf.seek(0)
    return buf


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _special(name: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, None


def _outside_untouched(tmp_path: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]


def test_plain_tree(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    d = tarfile.TarInfo("top")
    d.type = tarfile.DIRTYPE
    d.mode = 0o755
    report = safe_extract(
        _tar(
            (d, None),
            _file("top/a.txt", b"hello"),
            _link("top/l", "a.txt"),
            _link("top/h", "top/a.txt", tarfile.LNKTYPE),
        ),
        dest,
    )
    assert not report.refused
    assert (dest / "top/a.txt").read_bytes() == b"hello"
    assert os.readlink(dest / "top/l") == "a.txt"
    assert (dest / "top/h").read_bytes() == b"hello"


def test_hostile_members_refused(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    report = safe_extract(
        _tar(
            _file("../escape.txt"),
            _file("/abs.txt"),
            _file("ok/../../escape2.txt"),
            _link("abslink", "/etc/passwd"),
            _link("uplink", "../../etc/passwd"),
            _link("hard", "/etc/passwd", tarfile.LNKTYPE),
            _link("hard2", "../outside", tarfile.LNKTYPE),
            _special("dev", tarfile.CHRTYPE),
            _special("blk", tarfile.BLKTYPE),
            _special("fifo", tarfile.FIFOTYPE),
            _file("fine.txt", b"ok"),
        ),
        dest,
    )
    assert len(report.refused) == 10, report.refused
    assert (dest / "fine.txt").read_bytes() == b"ok"
    assert sorted(os.listdir(dest)) == ["fine.txt"]
    _outside_untouched(tmp_path)


def test_link_then_write_through_it_is_refused(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    # A symlink inside DEST pointing at DEST's parent, then a file "through" it.
    report = safe_extract(_tar(_link("sneaky", ".."), _file("sneaky/owned.txt")), dest)
    assert report.refused
    _outside_untouched(tmp_path)


def test_no_overwrite_without_force(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.txt").write_text("mine")
    report = safe_extract(_tar(_file("a.txt", b"theirs")), dest)
    assert report.skipped == [str(dest / "a.txt")]
    assert (dest / "a.txt").read_text() == "mine"
    report = safe_extract(_tar(_file("a.txt", b"theirs")), dest, force=True)
    assert (dest / "a.txt").read_text() == "theirs"


def test_interrupted_stream_leaves_no_partial_file(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    data = _tar(_file("big.bin", b"z" * 200_000)).getvalue()

    class Cut(io.BytesIO):
        def read(self, size: int = -1) -> bytes:
            if self.tell() > 100_000:
                raise KeyboardInterrupt
            return super().read(min(size, 4096) if size > 0 else 4096)

    with contextlib.suppress(KeyboardInterrupt):
        safe_extract(Cut(data), dest)
    assert os.listdir(dest) == []
