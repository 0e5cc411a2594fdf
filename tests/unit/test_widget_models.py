"""The widgets' pure parts, without Textual: the mount picker's marks and the terminal's inbox."""

from __future__ import annotations

import threading

from tests.waiting import wait_for
from widgets.mount_marks import Mark, MarkSet
from widgets.terminal.inbox import OutputInbox


def test_default_targets_follow_the_other_marks_and_conflicts_are_named() -> None:
    marks = MarkSet()
    marks.mark("/home/u/a/app")
    assert marks.marks() == [Mark("/home/u/a/app", "/workspace/app", False)]
    marks.mark("/home/u/b/app", read_only=True)
    assert [m.target for m in marks.marks()] == ["/workspace/a-app", "/workspace/b-app"]
    assert marks.default_target("/home/u/b/app") == "/workspace/b-app"
    # A target given by hand stays; the same one twice is a problem on both.
    assert marks.set_target("/home/u/a/app", "/workspace/b-app")
    problems = {m.source: m.problem for m in marks.marks()}
    assert problems == {
        "/home/u/a/app": "same target as /home/u/b/app",
        "/home/u/b/app": "same target as /home/u/a/app",
    }
    assert marks.set_target("/home/u/a/app", "")  # empty: the default again
    assert all(m.problem is None for m in marks.marks())
    assert marks.toggle_read_only("/home/u/b/app")
    assert [m.read_only for m in marks.marks()] == [False, False]
    assert marks.unmark("/home/u/a/app")
    assert "/home/u/a/app" not in marks and len(marks) == 1
    assert [m.target for m in marks.marks()] == ["/workspace/app"]
    # Not marked: nothing changes, and the caller is told.
    assert not marks.unmark("/nowhere")
    assert not marks.toggle_read_only("/nowhere")
    assert not marks.set_target("/nowhere", "/workspace/x")


def test_the_inbox_tells_once_per_batch_and_holds_a_flooding_reader() -> None:
    inbox = OutputInbox(limit=10)
    assert inbox.put(b"12345", reading=lambda: True)  # the first: tell the UI
    assert not inbox.put(b"678901", reading=lambda: True)  # already told
    # Over the limit: the next put waits until the UI takes what is there (it asks whether
    # the channel is still read only while it waits).
    waiting, done = threading.Event(), threading.Event()

    def reading() -> bool:
        waiting.set()
        return True

    def flood() -> None:
        inbox.put(b"more", reading=reading)
        done.set()

    threading.Thread(target=flood, daemon=True).start()
    wait_for("the reader to wait for room", waiting.is_set, 10)
    assert not done.is_set()
    assert inbox.take() == b"12345678901"
    wait_for("the reader to go on once the UI took", done.is_set, 10)
    assert inbox.take() == b"more"
    # A reader whose channel is closing does not wait.
    inbox.put(b"x" * 20, reading=lambda: True)
    assert not inbox.put(b"y", reading=lambda: False)
    assert inbox.take() == b"x" * 20 + b"y"


def test_the_inbox_gives_slices_in_order_and_is_told_again_only_when_emptied() -> None:
    inbox = OutputInbox()
    assert inbox.put(b"abcdef", reading=lambda: True)
    assert not inbox.put(b"ghij", reading=lambda: True)
    assert inbox.take(4) == b"abcd" and inbox.pending
    assert not inbox.put(b"kl", reading=lambda: True)  # the UI comes back by itself
    assert inbox.take(4) == b"efgh"
    assert inbox.take(100) == b"ijkl" and not inbox.pending
    assert inbox.put(b"m", reading=lambda: True)  # emptied: told again
    assert not inbox.put(b"", reading=lambda: True)
    assert inbox.take() == b"m" and inbox.take() == b""
