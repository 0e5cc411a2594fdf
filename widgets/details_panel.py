"""The Details tab: mounts, image, age, labels, resource use of one session (data only)."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from container.details_model import SessionDetails
from container.labels import AGENT_HOME, HOST_NETWORK


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
            Text("shared with the host: ~/.claude, ~/.codex read-write", style="bold red"),
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
    labels = Text()
    for key in sorted(s.labels):
        if key.startswith("com.claudex."):
            labels.append(f"{key}={s.labels[key]}\n", style="dim")
    grid.add_row("Labels", labels)
    return grid


class DetailsPanel(VerticalScroll):
    DEFAULT_CSS = """
    DetailsPanel { padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static("Select a session.", id="details-body")

    details: SessionDetails | None = None

    def show(self, details: SessionDetails | None) -> None:
        self.details = details
        body = self.query_one("#details-body", Static)
        body.update(render_details(details) if details else "Select a session.")
