"""New session: pick host directories (mount picker), agent, network; create it with progress."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, ProgressBar, Select, Static

from claudex_tui.recent_dirs import recent_dirs, remember_dirs
from claudex_tui.start_request import record_baseline, start_request
from container import allow_entries, firewall
from container.build_progress import summary
from container.errors import ClaudexError
from container.host_entries import HostFS
from container.image import BuildProgress, ensure_image, image_state
from container.isolated import discard_unused, isolate_request
from container.isolated_remote import EngineCopies
from container.labels import SessionInfo
from container.local_fs import LOCAL
from container.naming import session_name, valid_container_name
from container.sessions import AGENTS, Sessions, StartResult
from widgets.mount_picker import MountPicker

if TYPE_CHECKING:
    from claudex_tui.config import Config
    from container.engine import DockerClient
    from container.engines import Engine

MAX_STEPS = 8
HOST_WARNING = "⚠ host network: NO firewall. The agent can reach any address, your LAN too."


@dataclass
class _Form:
    """The form as it was when Create was pressed (the worker never reads widgets)."""

    dirs: list[str]
    read_only: list[str]
    targets: dict[str, str]
    name: str | None
    agent: str
    host_network: bool
    allow: list[str]
    parallel: bool
    isolated: bool = False  # each read-write folder given as the session's own copy
    public_ok: bool = False  # the user confirmed the public suffixes in `allow`


@dataclass
class _Step(Message):
    text: str
    warning: bool = False


@dataclass
class _Building(Message):
    progress: BuildProgress

    def can_replace(self, message: Message) -> bool:
        # A build prints thousands of lines; only the newest matters on screen.
        return isinstance(message, _Building)


@dataclass
class _Created(Message):
    result: StartResult
    notes: list[tuple[str, SeverityLevel]] = field(default_factory=list)


@dataclass
class _Failed(Message):
    message: str
    hint: str | None = None


def split_entries(text: str) -> list[str]:
    """Allow entries as everywhere: separated by commas (a space is no separator, so a
    mistyped `not a domain` is one bad entry, not three names)."""
    return allow_entries.split_entries(text)


class NewSessionScreen(ModalScreen[SessionInfo | None]):
    """Dismisses with the created (or reused) session, or None when cancelled."""

    CSS_PATH = "new_session.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "create", "Create"),
    ]

    def __init__(
        self,
        client: DockerClient,
        config: Config,
        start_dir: Path | None = None,
        *,
        engines: Sequence[tuple[Engine, DockerClient]] = (),
        engine: str = "default",
    ) -> None:
        super().__init__()
        self.client = client
        self.config = config
        # Given: the selected session's first directory, or where claudex was started.
        self._start_given = start_dir is not None
        self.start_dir = start_dir or Path.cwd()
        # Reachable engines to choose from (none given: the one `client` talks to).
        self._engines = {e.name: (e, c) for e, c in engines}
        self.engine_name = engine if engine in self._engines else "default"
        self.fs: HostFS = LOCAL
        self._use_engine(self.engine_name)
        self._creating = False
        self._public_confirmed: list[str] | None = None  # Allow, as confirmed
        self._leaving = False  # Escape pressed once while creating
        self._closed = False  # closed while creating: the worker reports by notification
        self._steps: list[Text] = []

    def compose(self) -> ComposeResult:
        defaults = firewall.DEFAULT_ALLOW if self.config.allow_defaults else ()
        allowed = len(firewall.merge_entries(defaults, self.config.allow))
        with Vertical(id="dialog"):
            with Horizontal(id="body"):
                yield self._picker()
                with Vertical(id="form"):
                    if len(self._engines) > 1:
                        with Horizontal(classes="field"):
                            yield Label("Engine", classes="label")
                            yield Select(
                                [(name, name) for name in self._engines],
                                value=self.engine_name,
                                allow_blank=False,
                                compact=True,
                                id="engine",
                            )
                    with Horizontal(classes="field"):
                        yield Label("Name", classes="label")
                        yield Input(placeholder=self._default_name([]), id="name", compact=True)
                    with Horizontal(classes="field"):
                        yield Label("Agent", classes="label")
                        yield Select(
                            [(a, a) for a in AGENTS],
                            value=self.config.agent,
                            allow_blank=False,
                            compact=True,
                            id="agent",
                        )
                    with Horizontal(classes="field"):
                        yield Label("Network", classes="label")
                        yield Select(
                            [("firewalled", "firewalled"), ("host: no firewall", "host")],
                            value="firewalled",
                            allow_blank=False,
                            compact=True,
                            id="network",
                        )
                    yield Static(HOST_WARNING, id="host-warning")
                    with Horizontal(classes="field"):
                        yield Label("Allow", classes="label")
                        yield Input(
                            placeholder="more domains: a.com, b.org",
                            id="allow",
                            compact=True,
                        )
                    yield Static(f"+ {allowed} default/config", id="allow-note")
                    yield Checkbox("Parallel", id="parallel", compact=True)
                    yield Static("a new session even if one exists", id="parallel-note")
                    yield Checkbox("Isolated", id="isolated", compact=True)
                    yield Static("works on its own copy", id="isolated-note")
                    with Horizontal(id="buttons"):
                        yield Button("Create", variant="primary", id="create", compact=True)
                        yield Button("Cancel", id="cancel", compact=True)
                    with VerticalScroll(id="status"):
                        yield ProgressBar(id="build", show_eta=False)
                        yield Static("", id="build-line", markup=False)
                        yield Static("", id="steps")
                        yield Static("", id="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = "New session"
        self.query_one("#status").can_focus = False
        for hidden in ("#host-warning", "#build", "#build-line"):
            self.query_one(hidden).display = False
        self.query_one(MountPicker).host_tree.focus()
        self._go_home()

    def on_unmount(self) -> None:
        _close_later(self.fs)

    def on_descendant_focus(self) -> None:
        self._light_field()

    def on_descendant_blur(self) -> None:
        self._light_field()

    def _light_field(self) -> None:
        """The form line with the keyboard lights its label (a class: Textual restyles a
        :focus-within container, not the label inside it)."""
        focused = self.focused
        for line in self.query(".field"):
            line.set_class(focused is not None and line in focused.ancestors, "-focused")

    # -- engine --------------------------------------------------------------------------------

    def _use_engine(self, name: str) -> None:
        """Sessions go to engine `name`; its host's directories are the ones to pick."""
        from container.engines import host_fs

        self.engine_name = name
        if name in self._engines:
            engine, self.client = self._engines[name]
            self.fs = host_fs(engine, self.client, self.config.image)
        else:
            self.fs = LOCAL

    def _picker(self) -> MountPicker:
        # A remote host is browsed from its root until its home folder is known (_go_home),
        # unless the selected session's directory there was given.
        start = "/" if self.fs.remote and not self._start_given else self.start_dir
        if not self.fs.remote and not Path(start).is_dir():
            start = Path.cwd()  # the session's directory is gone
        recent = recent_dirs(self.engine_name)
        if not self.fs.remote:  # gone since: not offered (a remote host's are not looked at)
            recent = [d for d in recent if Path(d).is_dir()]
        return MountPicker(start, fs=self.fs, recent=recent, id="picker")

    @work(thread=True, exit_on_error=False, group="home")
    def _go_home(self) -> None:
        fs = self.fs
        if not fs.remote:
            return
        home = fs.home()
        if home != "/":
            self.app.call_from_thread(self._show_home, fs, home)

    def _show_home(self, fs: HostFS, home: str) -> None:
        picker = self.query_one(MountPicker)
        if picker.fs is fs:
            picker.set_home(home)
        # Only if the user has not gone anywhere yet.
        if picker.fs is fs and not picker.marks and str(picker.host_tree.path) == "/":
            picker.host_tree.path = home

    @on(Select.Changed, "#engine")
    async def _engine_changed(self, event: Select.Changed) -> None:
        name = str(event.value)
        if name == self.engine_name or self._creating:
            return
        old_fs = self.fs
        self._use_engine(name)
        await self.query_one(MountPicker).remove()
        await self.query_one("#body").mount(self._picker(), before=0)
        self.query_one("#name", Input).placeholder = self._default_name([])
        _close_later(old_fs)
        self._go_home()

    # -- form ----------------------------------------------------------------------------------

    def _default_name(self, dirs: list[str]) -> str:
        return session_name(dirs) if dirs else "from the directories"

    @on(MountPicker.Changed)
    def _marks_changed(self, event: MountPicker.Changed) -> None:
        name = self.query_one("#name", Input)
        name.placeholder = self._default_name([m.source for m in event.marks])

    @on(Select.Changed, "#network")
    def _network_changed(self, event: Select.Changed) -> None:
        host = event.value == "host"
        self.query_one("#host-warning").display = host
        self.query_one("#allow", Input).disabled = host
        self.query_one("#allow-note").display = not host

    def _form(self) -> _Form:
        """The form's values, or ClaudexError naming what must be fixed first."""
        marks = self.query_one(MountPicker).marks
        if not marks:
            raise ClaudexError("no directory picked", "mark one in the tree with space")
        problems = [m for m in marks if m.problem]
        if problems:
            raise ClaudexError(
                f"{len(problems)} mount(s) cannot be mounted as asked (shown in red)",
                "change their targets, or unmark one of the nested directories",
            )
        name = self.query_one("#name", Input).value.strip() or None
        if name and not valid_container_name(name):
            raise ClaudexError(
                f"invalid session name {name!r}",
                "use letters, digits, '_', '.' and '-' (starting with a letter or digit)",
            )
        host = self.query_one("#network", Select).value == "host"
        allow = [] if host else split_entries(self.query_one("#allow", Input).value)
        firewall.merge_entries(allow)  # a typo is reported now, not after the image build
        return _Form(
            dirs=[m.source for m in marks if not m.read_only],
            read_only=[m.source for m in marks if m.read_only],
            targets={m.source: m.target for m in marks},
            name=name,
            agent=str(self.query_one("#agent", Select).value),
            host_network=host,
            allow=allow,
            parallel=self.query_one("#parallel", Checkbox).value,
            isolated=self.query_one("#isolated", Checkbox).value,
        )

    @on(Checkbox.Changed, "#parallel")
    def _parallel_changed(self, event: Checkbox.Changed) -> None:
        """The config's `isolated` makes a parallel session isolated unless unticked."""
        if self.config.isolated:
            self.query_one("#isolated", Checkbox).value = event.value

    @on(Input.Submitted, "#name, #allow")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_create()

    @on(Button.Pressed, "#create")
    def _create_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_create()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_create(self) -> None:
        if self._creating:
            return
        self._show_error(None)
        try:
            form = self._form()
        except ClaudexError as exc:
            self._show_error(exc.message, exc.hint)
            return
        public = allow_entries.public_suffixes(firewall.merge_entries(form.allow))
        if public and form.allow != self._public_confirmed:
            self._confirm_public(form, public)
            return
        form.public_ok = bool(public)
        self._creating = True
        self._steps = []
        self._show_steps()
        self.query_one("#create", Button).disabled = True
        self._create(form)

    def _confirm_public(self, form: _Form, public: list[str]) -> None:
        """A public suffix in Allow opens every host under it: asked, as in the Firewall tab."""
        from claudex_tui.screens.confirm import ConfirmScreen, allow_question

        def answer(yes: bool | None) -> None:
            if yes:
                self._public_confirmed = list(form.allow)
                self.action_create()

        entries = firewall.merge_entries(form.allow)
        question = allow_question("the new session", entries, public)
        self.app.push_screen(ConfirmScreen(question, confirm="Allow"), answer)

    def action_cancel(self) -> None:
        if self._creating and not self._leaving:
            self._leaving = True
            self._step("still creating: Escape again closes this window, creation goes on", True)
            return
        self._closed = self._creating
        self.dismiss(None)

    # -- progress ------------------------------------------------------------------------------

    def _step(self, text: str, warning: bool = False) -> None:
        self._steps.append(Text(text, style="yellow" if warning else ""))
        del self._steps[:-MAX_STEPS]
        self._show_steps()

    def _show_steps(self) -> None:
        self.query_one("#steps", Static).update(Text("\n").join(self._steps))

    def _show_error(self, message: str | None, hint: str | None = None) -> None:
        error = self.query_one("#error", Static)
        if message is None:
            error.update("")
            return
        text = Text(message, style="bold red")
        if hint:
            text.append(f"\n{hint}", style="red")
        error.update(text)
        self.query_one("#status", VerticalScroll).scroll_end(animate=False)

    def _done(self) -> None:
        self._creating = False
        self._leaving = False
        self.query_one("#create", Button).disabled = False
        self.query_one("#build").display = False
        self.query_one("#build-line").display = False

    @on(_Step)
    def _on_step(self, message: _Step) -> None:
        self._step(message.text, message.warning)

    @on(_Building)
    def _on_building(self, message: _Building) -> None:
        bar = self.query_one("#build", ProgressBar)
        line = self.query_one("#build-line", Static)
        bar.display = line.display = True
        p = message.progress
        if p.total:
            bar.update(total=p.total, progress=p.step)
        # A real build names its step: show where it is, the time and the estimate.
        line.update(summary(p, width=100) if p.name else p.line[-200:])

    @on(_Failed)
    def _on_failed(self, message: _Failed) -> None:
        self._done()
        self._show_error(message.message, message.hint)

    @on(_Created)
    def _on_created(self, message: _Created) -> None:
        self._done()
        session = replace(message.result.session, engine=self.engine_name)
        # The window closes now: what the steps said that matters later goes to notifications.
        for warning in message.result.warnings:
            self.app.notify(warning, severity="warning", timeout=10)
        for note, severity in message.notes:
            self.app.notify(note, severity=severity, timeout=10)
        self.dismiss(session)

    # -- the worker ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-session")
    def _create(self, form: _Form) -> None:
        try:
            result, notes = self._start(form)
        except ClaudexError as exc:
            self._report(_Failed(exc.message, exc.hint))
        except Exception as exc:  # docker-py or OS errors outside engine_errors: no traceback
            self._report(_Failed(f"creating the session failed: {exc}"))
        else:
            self._report(_Created(result, notes))

    def _report(self, message: _Created | _Failed) -> None:
        if not self._closed:
            self.post_message(message)
            return
        # The window was closed meanwhile: say how it ended in a notification.
        if isinstance(message, _Created):
            text, severity = f"session {message.result.session.name} is ready", "information"
        else:
            text, severity = f"{message.message}\n{message.hint or ''}".strip(), "error"
        with contextlib.suppress(Exception):  # the app may be gone too
            self.app.call_from_thread(self.app.notify, text, severity=severity)

    def _start(self, form: _Form) -> tuple[StartResult, list[tuple[str, SeverityLevel]]]:
        """Off the event loop: plan the mounts, build the image if missing, start, baseline."""
        notes: list[tuple[str, SeverityLevel]] = []

        def step(text: str) -> None:
            self.post_message(_Step(text))

        def warn(text: str) -> None:
            notes.append((text, "warning"))
            self.post_message(_Step(text, warning=True))

        def building(progress: BuildProgress) -> None:
            self.post_message(_Building(progress))

        def not_confirmed(found: firewall.ProjectAllow) -> bool:
            # Trusting a repository's own allow list needs the question the CLI asks.
            warn(
                f"{found.where} {found.asks}: "
                f"not allowed (confirm once with `claudex DIR`, or {found.instead})"
            )
            return False

        image = self.config.image

        def build_if_missing() -> None:
            if not image_state(self.client, image).exists:
                step(f"building image {image} (first run, takes minutes)")
                self.post_message(_Building(BuildProgress(0, 0, "sending the build context")))
                ensure_image(
                    self.client,
                    image,
                    ca_files=[str(p) for p in self.config.ca_certs],
                    host_ca=self.config.host_ca,
                    on_progress=building,
                )

        if self.fs.remote:
            build_if_missing()  # the directories are looked at there, with the image
        step(f"checking the directories on {self.fs.label}")
        req = start_request(
            self.config,
            form.dirs,
            form.read_only,
            targets=form.targets,
            name=form.name,
            agent=form.agent,
            parallel=form.parallel,
            host_network=form.host_network,
            allow=form.allow,
            public_ok=form.public_ok,
            confirm=not_confirmed,
            fs=self.fs,
        )
        build_if_missing()
        reason = image_state(self.client, image).stale_reason()
        if reason:
            warn(f"image {image} is out of date ({reason}); run `claudex build`")
        sessions = Sessions(self.client)
        # On a remote engine the copies are made on its host (container.isolated_remote).
        far = EngineCopies(self.client, image, self.engine_name) if self.fs.remote else None
        try:
            req, copied = isolate_request(
                sessions,
                req,
                want=form.isolated,
                remote=self.fs.remote,
                step=step,
                engine_copies=far,
            )
            try:
                result = sessions.start_session(req, on_step=step)
            except BaseException:
                if copied and req.name:  # a session never made leaves no copies behind
                    discard_unused(sessions, req.name, far)
                raise
        finally:
            if far is not None:
                far.close()
        if req.plan.hidden_env_files:
            hidden = "hidden from the agent: " + ", ".join(req.plan.hidden_env_files)
            notes.append((hidden, "information"))
            step(hidden)
        record_baseline(sessions, result.session, step, warn)
        remember_dirs(self.engine_name, [*form.dirs, *form.read_only])
        return result, notes


def _close_later(fs: HostFS) -> None:
    """Remove a remote host's helper container without holding up the screen."""
    if fs.remote:
        threading.Thread(target=fs.close, name="claudex-helper-close").start()
