"""The Firewall tab: mode, allowed names with their admitted addresses, what was blocked.

What it shows is bounded whatever the agent did: at most ROWS blocked rows (the status holds
a capped, aggregated list already), every cell a plain Text (no markup from names). The panel
reads the status itself, off the event loop, from its `FirewallSource`.
"""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from container.allow_entries import check_text
from container.errors import ClaudexError
from container.firewall_model import ENFORCING, FirewallStatus
from container.labels import SessionInfo
from widgets.session_list import row_key
from widgets.tab_source import FirewallSource

MODE_STYLE = {
    "enforcing": ("enforcing: only the names below are reachable", "bold green"),
    "unrestricted": ("UNRESTRICTED: host network, no firewall at all", "bold red"),
    "failed": ("FAILED: the agent was not started", "bold red"),
    "broken": ("BROKEN: the rules in place are not what claudex applied", "bold red"),
    "off": ("off", "bold red"),
    "stopped": ("session stopped", "dim"),
    "starting": ("starting…", "yellow"),
}


def _when(t: datetime | None) -> str:
    return t.astimezone().strftime("%H:%M:%S") if t else "-"


ROWS = 40  # blocked rows drawn (about a screenful): the most recent destinations, then names


def blocked_table(status: FirewallStatus) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False)
    table.add_column("blocked destination")
    table.add_column("proto")
    table.add_column("count", justify="right")
    table.add_column("last")
    destinations = status.blocked[: ROWS // 2 if status.refused else ROWS]
    names = status.refused[: ROWS - len(destinations)]
    for b in destinations:
        table.add_row(Text(b.target), Text(b.protocol), Text(str(b.count)), Text(_when(b.last)))
    for r in names:
        table.add_row(
            Text(f"{r.name} (DNS refused)", style="yellow"),
            Text("dns"),
            Text(str(r.count)),
            Text(_when(r.last)),
        )
    hidden = len(status.blocked) - len(destinations) + len(status.refused) - len(names)
    hidden += status.refused_others
    if hidden > 0:
        more = f"… {hidden} more (claudex firewall status {status.session} --format json)"
        table.add_row(Text(more, style="dim"), "", "", "")
    if status.rejected:
        table.add_row(Text(f"{status.rejected} packets rejected in all", style="dim"), "", "", "")
    if not status.blocked and not status.refused:
        table.add_row(Text("nothing blocked so far", style="dim"), "", "", "")
    for server in status.servers:  # each MCP server's own firewall, while it runs
        _server_rows(table, server)
    return table


SERVER_ROWS = 10  # blocked rows drawn per MCP server


def _server_rows(table: Table, server: FirewallStatus) -> None:
    where = f"MCP {server.session}: "
    if server.mode != ENFORCING:
        table.add_row(
            Text(f"{where}firewall {server.mode} {server.reason}", style="red"), "", "", ""
        )
        return
    for b in server.blocked[:SERVER_ROWS]:
        table.add_row(
            Text(where + b.target), Text(b.protocol), Text(str(b.count)), Text(_when(b.last))
        )
    for r in server.refused[: max(0, SERVER_ROWS - len(server.blocked))]:
        table.add_row(
            Text(f"{where}{r.name} (DNS refused)", style="yellow"),
            Text("dns"),
            Text(str(r.count)),
            Text(_when(r.last)),
        )
    if not server.blocked and not server.refused:
        table.add_row(Text(f"{where}nothing blocked so far", style="dim"), "", "", "")


class FirewallPanel(Vertical):
    """Reads and shows the session's `FirewallStatus`; asks the screen to allow or deny
    entries (messages: the user confirms first)."""

    DEFAULT_CSS = """
    FirewallPanel { padding: 0 1; }
    FirewallPanel #fw-mode { height: auto; margin-bottom: 1; }
    FirewallPanel #fw-add { height: 3; }
    FirewallPanel #fw-add Input { width: 1fr; }
    FirewallPanel #fw-split { height: 1fr; }
    FirewallPanel #fw-allowed { width: 2fr; height: 1fr; border: none; }
    FirewallPanel #fw-blocked { width: 3fr; border-left: tall $panel; padding-left: 1; }
    """
    BINDINGS = [
        Binding("delete", "deny", "Deny selected", id="firewall_deny"),
        Binding("a", "add", "Allow…", id="firewall_allow"),
    ]

    class AllowRequested(Message):
        """Checked entries the user typed: the app asks before adding them."""

        def __init__(self, entries: list[str], public: list[str] | None = None) -> None:
            super().__init__()
            self.entries = entries
            self.public = public or []
            """Public suffixes among them (allowing one opens every host under it)."""

    class DenyRequested(Message):
        def __init__(self, entries: list[str]) -> None:
            super().__init__()
            self.entries = entries

    class Loaded(Message):
        """A session's status was read (it bubbles: the screen tells the user once when a
        firewall is BROKEN); `status` None: `note` says why not."""

        def __init__(self, name: str, status: FirewallStatus | None, note: str = "") -> None:
            super().__init__()
            self.name = name
            self.status = status
            self.note = note

    def __init__(self, source: FirewallSource | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.session: SessionInfo | None = None  # the session shown
        self.status: FirewallStatus | None = None

    # -- loading (off the event loop) ----------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A read is still running (a timer's refresh is not stacked on it)."""
        return any(w.group == "firewall" and not w.is_finished for w in self.workers)

    def load(self, session: SessionInfo) -> None:
        """Read `session`'s firewall status (the live rules, as the CLI's status)."""
        self.session = session
        self._read(session)

    @work(thread=True, exclusive=True, group="firewall", exit_on_error=False)
    def _read(self, session: SessionInfo) -> None:
        source = self.source
        if source is None or not source.reachable(session):
            return
        try:
            status = source.firewall_status(session)
        except ClaudexError as exc:
            self.post_message(self.Loaded(row_key(session), None, exc.message))
            return
        self.post_message(self.Loaded(row_key(session), status))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        live = self.is_attached and self.app.is_running  # late workers report at shutdown
        if not live or self.session is None or row_key(self.session) != message.name:
            return
        if message.status is None:
            self.show_note(message.note)
        else:
            self.show(message.status)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A read that failed unexpectedly is a notice, as the screen's own workers' are."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            text = f"{event.worker.name or 'background task'} failed: {event.worker.error}"
            self.notify(text, severity="error", timeout=10)

    # -- display -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("Select a session.", id="fw-mode", markup=False)  # notes quote errors
        with Horizontal(id="fw-add"):
            yield Input(placeholder="allow a domain, e.g. example.com (Enter)", id="fw-input")
            yield Button("Allow", id="fw-allow")
        with Horizontal(id="fw-split"):
            yield OptionList(id="fw-allowed")
            with VerticalScroll(id="fw-blocked"):
                yield Static("", id="fw-blocked-body")

    def show_note(self, note: str) -> None:
        self.status = None
        self.query_one("#fw-mode", Static).update(note)
        self.query_one("#fw-allowed", OptionList).clear_options()
        self.query_one("#fw-blocked-body", Static).update("")

    def show(self, status: FirewallStatus) -> None:
        self.status = status
        label, style = MODE_STYLE.get(status.mode, (status.mode, "yellow"))
        mode = Text("Firewall ")
        mode.append(label, style=style)
        if status.reason:
            bad = status.mode in ("failed", "broken")
            mode.append(f"\n{status.reason}", style="red" if bad else "dim")
        self.query_one("#fw-mode", Static).update(mode)
        editable = status.mode == "enforcing"
        self.query_one("#fw-input", Input).disabled = not editable
        self.query_one("#fw-allow", Button).disabled = not editable
        allowed = self.query_one("#fw-allowed", OptionList)
        keep = allowed.highlighted
        allowed.clear_options()
        options = []
        for n in status.names:
            text = Text(n.name, style="bold")
            if n.addresses:
                text.append("\n  " + ", ".join(n.addresses[:6]), style="dim")
                if len(n.addresses) + n.more > 6:
                    text.append(f" +{len(n.addresses) + n.more - 6}", style="dim")
            options.append(Option(text, id=f"name:{n.name}"))
        options += [Option(Text(net, style="cyan"), id=f"net:{net}") for net in status.networks]
        allowed.add_options(options)
        if options:
            allowed.highlighted = min(keep or 0, len(options) - 1)
        self.query_one("#fw-blocked-body", Static).update(blocked_table(status))

    def _submit(self) -> None:
        """One entry per comma or line, checked as the CLI checks them; nothing is added
        while any is wrong (the text stays in the box to be fixed)."""
        box = self.query_one("#fw-input", Input)
        checked = check_text(box.value)
        if checked.invalid:
            errors = "\n".join(e.message for e in checked.invalid)
            hint = checked.invalid[0].hint or ""
            self.notify(f"{errors}\n{hint}".strip(), severity="error", timeout=10, markup=False)
            return
        if checked.entries:
            # The keyboard leaves the box: the next letter is a key again, not a domain (a
            # dialog opened for this request gives the focus back to the list).
            self.query_one("#fw-allowed", OptionList).focus()
            self.post_message(self.AllowRequested(checked.entries, checked.public))

    def allowed(self) -> None:
        """The user confirmed the entries: the box is emptied (kept when they said no)."""
        self.query_one("#fw-input", Input).value = ""

    @on(Input.Submitted, "#fw-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    @on(Button.Pressed, "#fw-allow")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._submit()

    def action_add(self) -> None:
        self.query_one("#fw-input", Input).focus()

    def action_deny(self) -> None:
        allowed = self.query_one("#fw-allowed", OptionList)
        index = allowed.highlighted
        if index is None or self.status is None or self.status.mode != "enforcing":
            return
        option_id = allowed.get_option_at_index(index).id or ""
        self.post_message(self.DenyRequested([option_id.split(":", 1)[1]]))
