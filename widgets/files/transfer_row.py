"""One row per transfer under the Files tab's trees: what goes where, how far, cancel."""

from __future__ import annotations

import threading
import time

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, ProgressBar, Static

from container.sizes import human_bytes
from widgets.files.model import Job, cut_left


class _Description(Static):
    """What goes where, on a line of its own: the destination's end stays when cut."""

    def __init__(self, job: Job) -> None:
        super().__init__(classes="what")
        self.job = job

    def render(self) -> Text:
        what = f"{self.job.what()} → {self.job.side()}:"
        room = max(self.content_size.width - len(what), 8)
        return Text.assemble((what, "bold"), cut_left(self.job.directory, room), no_wrap=True)


class TransferRow(Vertical):
    """One transfer on two lines: what goes where; how far, and a button to cancel it.
    (On one line, at 80 columns the bar's percentage ran into the status: "1001 copied".)"""

    DEFAULT_CSS = """
    TransferRow { height: 2; }
    TransferRow .what { width: 1fr; height: 1; }
    TransferRow .progress { height: 1; }
    TransferRow ProgressBar { width: auto; margin-right: 1; }
    TransferRow ProgressBar Bar { width: 20; }
    TransferRow .status { width: 1fr; color: $text-muted; text-wrap: nowrap; }
    TransferRow Button { min-width: 8; width: 8; height: 1; border: none; }
    TransferRow.done .status { color: $success; }
    TransferRow.failed .status { color: $error; }
    """

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.cancel = threading.Event()
        self.started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield _Description(self.job)
        with Horizontal(classes="progress"):
            yield ProgressBar(total=None, show_eta=False, show_percentage=True)
            yield Label("starting", classes="status", markup=False)  # errors quote names
            yield Button("cancel", classes="cancel", compact=True)

    def advance(self, done: int, total: int) -> None:
        bar = self.query_one(ProgressBar)
        if total:
            bar.update(total=total, progress=done)
        rate = done / max(time.monotonic() - self.started, 1e-3)
        left = f", {(total - done) / rate:.0f}s left" if total and rate else ""
        self.query_one(".status", Label).update(f"{human_bytes(done)} {human_bytes(rate)}/s{left}")

    def finish(self, text: str, ok: bool) -> None:
        self.add_class("done" if ok else "failed")
        self.query_one(".status", Label).update(text)
        self.query_one(Button).display = False
        if ok:
            bar = self.query_one(ProgressBar)
            bar.update(total=bar.total or 1, progress=bar.total or 1)

    @on(Button.Pressed, ".cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.cancel.set()
        self.query_one(".status", Label).update("cancelling…")
