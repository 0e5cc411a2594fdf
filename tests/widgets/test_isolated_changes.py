"""The Changes tab of an isolated session on the demo backend: the copy's files that differ
from the user's directory, a file's hunks, `a` on a hunk in the diff applies that hunk only,
`a` in the list the whole file, a conflict is shown three-way and writes nothing, `A` stops at
the conflict; checkpoints and revert are not offered."""

from __future__ import annotations

from claudex_tui.demo_backend import ISOLATED_BASE, isolated_session
from tests.fakes import FakeBackend
from tests.waiting import until
from tests.widgets.demo_app import DemoApp
from widgets.changes_panel import ChangesPanel
from widgets.session_list import row_key

CART = "/home/ana/src/webshop/cart.py"
TOTAL = "/home/ana/src/webshop/total.py"


def _body(panel: ChangesPanel) -> str:
    return str(panel.query_one("#changes-diff-body").render())


async def test_review_and_apply_by_hunk_and_file() -> None:
    backend = FakeBackend()
    session = isolated_session()
    backend.sessions.append(session)
    app = DemoApp(backend, select=session.name)
    async with app.run_test(size=(120, 40)) as pilot:
        key = row_key(session)
        await until(pilot, lambda: app.session_list.selected == key, "the session selected")
        app.session_list.options.focus()
        await pilot.press("g")
        panel = app.query_one(ChangesPanel)
        await until(pilot, lambda: len(panel.changes) == 2, "the two differing files")
        summary = str(panel.query_one("#changes-summary").render())
        assert "2 file(s) of the session's copy differ from your directory, +3 -3" in summary
        assert not panel.check_action("checkpoint", ()) and not panel.check_action("revert", ())
        await until(
            pilot,
            lambda: panel.review is not None and len(panel.review.hunks) == 2,
            "cart.py's two hunks",
        )
        assert panel.current is not None and panel.current.path == CART

        # In the diff: the second hunk under the cursor, `a` applies it alone.
        panel.query_one("#changes-diff").focus()
        await pilot.press("right_square_bracket")
        assert panel.hunk == 1 and "▶ @@ -16,5 +16,5 @@" in _body(panel)
        await pilot.press("a")
        await until(pilot, lambda: backend.applied == [(CART, 1)], "the hunk applied")
        assert backend.isolated[CART][2] == ISOLATED_BASE.replace("line 19\n", "nineteen\n")
        await until(
            pilot,
            lambda: panel.review is not None and len(panel.review.hunks) == 1 and panel.hunk == 0,
            "the file read again: the hunk left",
        )

        # In the list: the conflicting file shows three-way; `a` writes nothing.
        panel.query_one("#changes-files").focus()
        await pilot.press("down")
        await until(pilot, lambda: "Conflict" in _body(panel), "the conflict shown")
        assert "||||||| when the session started" in _body(panel)
        await pilot.press("a")
        await until(pilot, lambda: "Conflict" in _body(panel), "the conflict again")
        assert backend.isolated[TOTAL][2] == "a, by you\n"
        await pilot.press("A")  # everything: stops at the conflict too
        await pilot.pause()
        assert backend.applied == [(CART, 1)]

        # The user takes the session's side of cart.py as a whole.
        await pilot.press("up")
        await until(pilot, lambda: "Conflict" not in _body(panel), "cart.py shown")
        await pilot.press("a")
        await until(pilot, lambda: (CART, None) in backend.applied, "the file applied")
        await until(pilot, lambda: [c.path for c in panel.changes] == [TOTAL], "one left")
        assert backend.isolated[CART][2] == backend.isolated[CART][1]


async def test_moving_through_the_list_reads_one_diff_at_a_time() -> None:
    """Each read may be a helper container on a remote engine's host: moving the cursor while
    one runs does not start more; the file the cursor stopped on is read when it ends."""
    import threading

    class Slow(FakeBackend):
        def __init__(self) -> None:
            super().__init__()
            self.release = threading.Event()
            self.running = self.most = 0
            self.read: list[str] = []
            self.lock = threading.Lock()

        def isolated_file(self, session, path):
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            self.release.wait(10)
            try:
                return super().isolated_file(session, path)
            finally:
                with self.lock:
                    self.running -= 1
                    self.read.append(path)

    backend = Slow()
    session = isolated_session()
    backend.sessions.append(session)
    app = DemoApp(backend, select=session.name)
    async with app.run_test(size=(120, 40)) as pilot:
        key = row_key(session)
        await until(pilot, lambda: app.session_list.selected == key, "the session selected")
        app.session_list.options.focus()
        await pilot.press("g")
        panel = app.query_one(ChangesPanel)
        await until(pilot, lambda: len(panel.changes) == 2, "the two differing files")
        await until(pilot, lambda: backend.running == 1, "cart.py being read")
        panel.query_one("#changes-files").focus()
        await pilot.press("down", "up", "down", "up", "down")
        assert backend.running == 1
        backend.release.set()
        await until(
            pilot,
            lambda: panel.review is not None and panel.review.path == TOTAL,
            "the file the cursor stopped on shown",
        )
        assert backend.most == 1
        assert backend.read[-1] == TOTAL and len(backend.read) <= 3
