"""The create lock of a session name (container/sessions.py): held while a create runs, so a
second claudex waits instead of removing a session being made; removed with its session
unless a create holds it (one empty file per name ever made was left behind), and a create
that opened the file just before it was removed locks the new one instead."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from container.sessions import Sessions, _still_at


@pytest.fixture
def sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sessions:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    client = SimpleNamespace(api=SimpleNamespace(base_url="http+docker://localhost"))
    return Sessions(client)  # type: ignore[arg-type]


def test_held_while_creating_and_kept_then_removed(sessions: Sessions) -> None:
    path = sessions._create_lock("claudex-a")
    with sessions._creating("claudex-a"):
        assert sessions._being_created("claudex-a")
        sessions._forget_create_lock("claudex-a")  # a destroy meanwhile
        assert path.exists(), "a create holds it: it stays"
    assert not sessions._being_created("claudex-a")
    sessions._forget_create_lock("claudex-a")
    assert not path.exists(), "nothing left behind once the session is gone"
    assert not sessions._being_created("claudex-a")
    sessions._forget_create_lock("claudex-a")  # twice: nothing to do


def test_a_lock_file_replaced_under_an_open_handle_is_seen(sessions: Sessions) -> None:
    path = sessions._create_lock("claudex-b")
    path.touch()
    with open(path) as stale:
        assert _still_at(stale, path)
        path.unlink()
        assert not _still_at(stale, path)
        path.touch()  # made anew by the next create
        assert not _still_at(stale, path)


def test_creates_of_other_names_do_not_block(sessions: Sessions) -> None:
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with sessions._creating("claudex-c"):
            entered.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert entered.wait(10)
        assert sessions._being_created("claudex-c")
        assert not sessions._being_created("claudex-d")
    finally:
        release.set()
        worker.join(10)
    assert not sessions._being_created("claudex-c")
