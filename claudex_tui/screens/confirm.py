"""A yes/no question that needs an explicit answer (destroy and the like)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from container.agents import AGENT_NAMES
from container.allow_entries import is_name, public_warning
from container.firewall import DEFAULT_ALLOW, covering_name
from container.labels import SessionInfo


def lifecycle_question(verb: str, session: SessionInfo) -> str:
    """The question before stopping or restarting a session: what ends, what stays."""
    agent = AGENT_NAMES.get(session.agent or "", session.agent or "the agent")
    action = "Stop" if verb == "stop" else "Restart"
    lines = [
        f"{action} session {session.name}?",
        "",
        f"Lost: {agent} and everything running in the session end now: the agent's current",
        "conversation, commands still running, and the terminal's screen and history.",
        "",
        "Kept: the files (mounted directories, and the rest of /workspace until the session",
        "is destroyed), the change history and the firewall's allow list.",
    ]
    if verb == "stop":
        lines.append("s starts the session again.")
    else:
        lines.append("The agent starts again, fresh, once the session is up.")
    return "\n".join(lines)


def allow_question(session: str, entries: list[str], public: list[str]) -> str:
    """The list about to be allowed, as checked; a public suffix named with what it opens."""
    lines = [f"Allow in session {session}:", ""]
    for entry in entries:
        lines.append(f"  {entry} (and its subdomains)" if is_name(entry) else f"  {entry}")
    if public:
        lines += ["", f"WARNING: {public_warning(public)}."]
    return "\n".join(lines)


def deny_question(session: str, entries: list[str]) -> str:
    """What stops working when these entries leave the allow list."""
    lines = [f"Stop allowing in session {session}:", ""]
    lines += [f"  {e} (and its subdomains)" if is_name(e) else f"  {e}" for e in entries]
    lines += [
        "",
        "Lost: the agent can no longer reach them; connections open to them are cut now.",
    ]
    defaults = [e for e in entries if is_name(e) and covering_name(e, DEFAULT_ALLOW)]
    if defaults:
        lines.append(
            f"{', '.join(defaults)}: on claudex's default list (the agents' APIs and logins, "
            "GitHub, package registries): the agent may stop working."
        )
    lines.append("`a` in the Firewall tab allows them again.")
    return "\n".join(lines)


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 76; max-width: 95%; height: auto; border: thick $error;
        background: $surface; padding: 1 2;
    }
    ConfirmScreen Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape", "answer(False)", "Cancel"),
        Binding("n", "answer(False)", "No", show=False),
        Binding("y", "answer(True)", "Yes", show=False),
    ]

    def __init__(self, question: str, confirm: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False)
            with Horizontal():
                yield Button("Cancel", id="no")
                yield Button(f"{self.confirm} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
