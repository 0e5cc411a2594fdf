"""The push side without an engine: what is sent (plan) and the archive made on the fly."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from container.errors import ClaudexError
from container.transfer.cancel import Cancelled, CancelToken
from container.transfer.push_archive import PushArchive, plan
from container.transfer.safe_extract import safe_extract


def _tree(root: Path) -> Path:
    src = root / "src"
    (src / "sub").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "a.txt").write_bytes(b"a" * 1000)
    (src / "sub" / "ü.bin").write_bytes(os.urandom(5000))
    (src / "link").symlink_to("a.txt")
    os.link(src / "a.txt", src / "hard.txt")
    return src


def _sent(archive: PushArchive) -> bytes:
    # Each piece is copied before the next is asked for, as the HTTP client sends it: file
    # data comes in one reused buffer.
    data = b"".join(bytes(piece) for piece in archive)
    assert len(data) == len(archive)  # the Content-Length announced
    return data


def _archive(items, manifest=None, advance=lambda n: None) -> tarfile.TarFile:  # type: ignore[no-untyped-def]
    data = _sent(PushArchive(items, manifest, 4242, 4243, advance))
    assert len(data) % tarfile.RECORDSIZE == 0
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:")


def test_new_tree_is_sent_whole_with_files_staged(tmp_path: Path) -> None:
    src = _tree(tmp_path)
    items, report, total = plan([(src, "src")], {}, False, "tok")
    assert not report.skipped and not report.refused
    assert total == 1000 + 5000 + 1000
    arcnames = [i.arcname for i in items]
    assert arcnames[0] == "src"  # a folder comes before what it holds
    staged = {i.arcname: i.temp for i in items if i.temp}
    assert set(staged) == {"src/a.txt", "src/hard.txt", "src/sub/ü.bin"}
    assert all(t and t.rsplit("/", 1)[-1].startswith(".claudex-part-tok-") for t in staged.values())

    tar = _archive(items, ("m", b"x"))
    members = {m.name: m for m in tar.getmembers()}
    for m in members.values():
        assert (m.uid, m.gid) == (4242, 4243)
    assert members["src/link"].issym() and members["src/link"].linkname == "a.txt"
    assert members["src/empty"].isdir()
    hard = members[staged["src/hard.txt"]]  # type: ignore[index]
    assert hard.islnk() and hard.linkname == staged["src/a.txt"]
    data = tar.extractfile(members[staged["src/sub/ü.bin"]])  # type: ignore[index, arg-type]
    assert data is not None and data.read() == (src / "sub" / "ü.bin").read_bytes()


def test_existing_files_are_skipped_unless_forced(tmp_path: Path) -> None:
    src = _tree(tmp_path)
    existing = {"src": "d", "src/a.txt": "f", "src/sub": "d", "src/link": "l"}
    items, report, _ = plan([(src, "src")], existing, False, "t")
    assert sorted(report.skipped) == ["src/a.txt", "src/link"]
    sent = {i.arcname for i in items}
    assert "src" not in sent and "src/sub" not in sent  # existing folders keep their mode
    assert {"src/hard.txt", "src/sub/ü.bin", "src/empty"} <= sent

    items, report, _ = plan([(src, "src")], existing, True, "t")
    assert not report.skipped and {"src/a.txt", "src/link"} <= {i.arcname for i in items}


def test_type_clashes_are_refused_even_with_force(tmp_path: Path) -> None:
    src = _tree(tmp_path)
    existing = {"src": "d", "src/a.txt": "d", "src/sub": "f"}
    items, report, _ = plan([(src, "src")], existing, True, "t")
    assert any(r.startswith("src/a.txt: a directory is in the way") for r in report.refused)
    assert any(r.startswith("src/sub: a file is in the way") for r in report.refused)
    sent = {i.arcname for i in items}
    assert "src/a.txt" not in sent and not any(s.startswith("src/sub") for s in sent)


def test_fifos_are_not_pushed(tmp_path: Path) -> None:
    src = tmp_path / "d"
    src.mkdir()
    os.mkfifo(src / "pipe")
    _, report, _ = plan([(src, "d")], {}, False, "t")
    assert report.refused == ["d/pipe: not a regular file, directory or link"]


def test_progress_and_cancel(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(os.urandom(3 << 20))
    items, _, total = plan([(big, "big")], {}, False, "t")
    seen: list[int] = []
    _archive(items, advance=seen.append)
    assert sum(seen) == total

    token = CancelToken()

    def advance(n: int) -> None:
        token.cancel()
        token.check()

    with pytest.raises(Cancelled):
        _sent(PushArchive(items, None, 1, 1, advance))


def test_a_file_that_shrinks_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x" * 100_000)
    items, _, _ = plan([(f, "f")], {}, False, "t")
    stream = iter(PushArchive(items, None, 1, 1, lambda n: None))
    next(stream)  # the header, with the size at the time
    f.write_bytes(b"x")
    with pytest.raises(ClaudexError, match="shrank"):
        b"".join(bytes(piece) for piece in stream)


def test_a_file_that_changes_size_before_it_is_sent_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x" * 100)
    items, _, _ = plan([(f, "f")], {}, False, "t")
    archive = PushArchive(items, None, 1, 1, lambda n: None)  # length counted now
    f.write_bytes(b"x" * 5000)
    with pytest.raises(ClaudexError, match="changed while it was being pushed"):
        _sent(archive)


def test_pull_can_rename_the_top_entry(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        d = tarfile.TarInfo("top")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        f = tarfile.TarInfo("top/a")
        f.size = 1
        tar.addfile(f, io.BytesIO(b"1"))
        h = tarfile.TarInfo("top/h")
        h.type, h.linkname = tarfile.LNKTYPE, "top/a"
        tar.addfile(h)
    buf.seek(0)
    dest = tmp_path / "dest"
    dest.mkdir()
    report = safe_extract(buf, dest, rename_top=("top", "top (2)"))
    assert not report.refused
    assert sorted(os.listdir(dest)) == ["top (2)"]
    assert (dest / "top (2)" / "h").read_bytes() == b"1"
