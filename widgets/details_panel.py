"""The Details tab: mounts, image, age, labels, resource use of one session, read off the event
loop from the panel's `DetailsSource`."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from container.details_model import SessionDetails
from container.labels import AGENT_HOME, HOST_NETWORK, SessionInfo
from widgets.session_list import row_key
from widgets.tab_source import DetailsSource


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def now() -> datetime:
    """The clock ages are measured against (one place, so pictures can fix it)."""
    return datetime.now().astimezone()


def _age(when: datetime | None) -> str:
    if when is None:
        return "unknown"
    seconds = (now() - when).total_seconds()
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def render_details(d: SessionDetails) -> Table:
    s = d.session
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Name", Text(s.name))  # plain Text: names and errors are no markup
    grid.add_row("State", Text(f"{s.state} ({s.status})" if s.status else s.state))
    if d.status_line:
        grid.add_row("Init", Text(d.status_line))
    grid.add_row("Agent", Text(s.agent if s.managed else "made by the Go tool"))
    network = (
        Text("host network — NO firewall", style="bold red")
        if (s.network_mode == HOST_NETWORK)
        else Text("firewalled", style="green")
    )
    grid.add_row("Network", network)
    if s.labels.get(AGENT_HOME) == "shared":
        grid.add_row(
            "Agent home",
            Text(
                "shared with the host: ~/.claude, ~/.claude.json, ~/.codex, ~/.gemini, "
                "~/.copilot read-write",
                style="bold red",
            ),
        )
    created = s.created.strftime("%Y-%m-%d %H:%M") if s.created else "unknown"
    grid.add_row("Created", f"{created} ({_age(s.created)})")
    image = Text(f"{s.image} {d.image_id[7:19]}, built {_age(d.image_created)}")
    if d.image_stale:
        image.append(f"\n⚠ out of date: {d.image_stale}", style="yellow")
    grid.add_row("Image", image)
    if d.cpu_percent is not None:
        grid.add_row("CPU", f"{d.cpu_percent:.1f} %")
    if d.memory_bytes is not None:
        limit = f" of {_human(d.memory_limit)}" if d.memory_limit else ""
        grid.add_row("Memory", f"{_human(d.memory_bytes)}{limit}")
    mounts = Table(box=None, padding=(0, 1), show_header=True, header_style="bold")
    mounts.add_column("host")
    mounts.add_column("in the session")
    mounts.add_column("mode")
    for m in d.mounts:
        mode = Text("ro", style="cyan") if m.read_only else Text("rw", style="yellow")
        if m.role != "dir":
            mode.append(f" {m.role}", style="dim")
        mounts.add_row(Text(m.source), Text(m.target), mode)
    grid.add_row("Mounts", mounts)
    if d.mcp_servers or d.mcp_error:
        grid.add_row("MCP servers", render_mcp(d))
    labels = Text()
    for key in sorted(s.labels):
        if key.startswith("com.claudex."):
            labels.append(f"{key}={s.labels[key]}\n", style="dim")
    grid.add_row("Labels", labels)
    return grid


def render_mcp(d: SessionDetails) -> Text:
    """Each MCP server: its image, what its own firewall allows, runs up now; the broker's last
    refusal or error (plain Text: it may quote what the agent asked for)."""
    out = Text()
    for m in d.mcp_servers:
        out.append(m.name, style="bold")
        out.append(f"  {m.image}  ")
        out.append(f"allows {', '.join(m.allow)}" if m.allow else "no network", style="dim")
        if m.running:
            out.append(f"  {m.running} running", style="green")
        out.append("\n")
    if d.mcp_error:
        out.append(f"last error: {d.mcp_error}", style="yellow")
    out.rstrip()
    return out


class DetailsPanel(VerticalScroll):
    DEFAULT_CSS = """
    DetailsPanel { padding: 0 1; }
    """

    class _Loaded(Message, bubble=False):
        def __init__(self, details: SessionDetails) -> None:
            super().__init__()
            self.details = details

    def __init__(self, source: DetailsSource | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.session: SessionInfo | None = None  # the session shown

    def compose(self) -> ComposeResult:
        yield Static("Select a session.", id="details-body")

    details: SessionDetails | None = None

    def load(self, session: SessionInfo) -> None:
        """Read `session`'s details (they are shown once read, if it is still the one shown)."""
        self.session = session
        self._read(session)

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def _read(self, session: SessionInfo) -> None:
        source = self.source
        if source is not None and source.reachable(session):
            self.post_message(self._Loaded(source.details(session)))

    @on(_Loaded)
    def _loaded(self, message: _Loaded) -> None:
        live = self.is_attached and self.app.is_running  # late workers report at shutdown
        session = self.session
        if live and session is not None and row_key(session) == row_key(message.details.session):
            self.show(message.details)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A read that failed unexpectedly is a notice, as the screen's own workers' are."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            text = f"{event.worker.name or 'background task'} failed: {event.worker.error}"
            self.notify(text, severity="error", timeout=10)

    def show(self, details: SessionDetails | None) -> None:
        if details is None:
            self.session = None  # no session selected: a late read is not shown
        self.details = details
        body = self.query_one("#details-body", Static)
        body.update(render_details(details) if details else "Select a session.")
