"""The palette's "Compare A with B": how two isolated sessions' results differ, read in a
worker (container.isolated_compare: the copies as data) and shown as inert text."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from container.diff_text import printable
from container.errors import ClaudexError
from container.isolated_compare import MAX_LISTED, Difference, compare_sessions
from container.labels import SessionInfo


def render_differences(a: str, b: str, found: list[Difference]) -> Text:
    """The differences as text: a line per path, its diff coloured (agent text: printable)."""
    text = Text()
    more = " (the first ones)" if len(found) >= MAX_LISTED else ""
    text.append(f"{len(found)} path(s) differ between {a} (A) and {b} (B){more}\n", "bold")
    for d in found:
        text.append(f"\n{printable(d.path)}", "bold")
        text.append(f"  {printable(d.what)}\n", "dim")
        for line in d.text.splitlines():
            style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
            text.append(printable(line, keep="\t") + "\n", style)
    return text


class CompareScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    CompareScreen { align: center middle; }
    CompareScreen > Vertical {
        width: 90%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    CompareScreen #compare-title { text-style: bold; }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, a: SessionInfo, b: SessionInfo) -> None:
        super().__init__()
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(f"Compare {self.a.name} (A) with {self.b.name} (B) · Esc closes"),
                id="compare-title",
            )
            with VerticalScroll(id="compare-scroll"):
                yield Static(Text("reading both copies…", "dim"), id="compare-body")

    def on_mount(self) -> None:
        self.query_one("#compare-scroll").focus()
        self._load()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _load(self) -> None:
        try:
            found = compare_sessions(self.a.name, self.a.labels, self.b.name, self.b.labels)
            shown = render_differences(self.a.name, self.b.name, found)
        except (ClaudexError, OSError) as exc:
            shown = Text(printable(str(exc)), "red")
        self.app.call_from_thread(self._show, shown)

    def _show(self, shown: Text) -> None:
        self.query_one("#compare-body", Static).update(shown)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss()
