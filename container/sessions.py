"""Sessions: containers carrying the claudex labels. Create, reuse, list, start, stop, destroy."""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container import labels
from container.agent_home import AGENT_HOME
from container.agents import AGENTS
from container.engine import engine_errors
from container.errors import (
    ClaudexError,
    SessionConflict,
    SessionGone,
    SessionNotFound,
    SessionNotRunning,
    UsageError,
)
from container.mount_targets import WORKSPACE
from container.mounts import MountPlan
from container.naming import parallel_name, session_name, signature, slug, valid_container_name
from container.session_ready import Readiness, epoch_of
from container.session_spec import (
    StartRequest,
    shares_agent_home,
    spec_env,
    spec_host_config,
    spec_labels,
)
from container.state import state_dir

if TYPE_CHECKING:
    import docker

DEFAULT_NETWORK = "claudex"
# A session another claudex is creating stays "created" for the moment between its create and
# its start; one still never started after this long was left by a create that failed. A
# create on this host is known for sure (its lock, below): waited for up to CREATE_WAIT, as a
# loaded engine may take longer than the grace between a create and the end of its start.
CREATE_GRACE = 30.0
CREATE_WAIT = 300.0
RACE_ATTEMPTS = 5
NEVER = "0001-01-01T00:00:00Z"  # Docker's StartedAt of a container that never ran


@dataclass
class StartResult:
    session: labels.SessionInfo
    created: bool
    started: bool
    warnings: list[str] = field(default_factory=list)


def _filters(**extra: Any) -> dict[str, Any]:
    return {"label": [labels.SIGNATURE], **extra}


class _Raced(Exception):
    """Another claudex created or removed the same session meanwhile: look again."""


def _gone(exc: ClaudexError) -> bool:
    return isinstance(exc, SessionGone) or "No such container" in exc.message


class Sessions(Readiness):
    """All claudex sessions on one engine."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.api = client.api

    # -- listing ---------------------------------------------------------------------------

    def list_sessions(
        self,
        name_glob: str | None = None,
        signature_: str | None = None,
    ) -> list[labels.SessionInfo]:
        """One `containers/json` call filtered on the signature label; sorted by name."""
        filters = _filters()
        if signature_:
            filters["label"] = [f"{labels.SIGNATURE}={signature_}"]
        with engine_errors("listing sessions"):
            entries = self.api.containers(all=True, filters=filters)
        sessions = [labels.SessionInfo.from_list_entry(e) for e in entries]
        if name_glob:
            sessions = [s for s in sessions if fnmatch.fnmatchcase(s.name, name_glob)]
        return sorted(sessions, key=lambda s: s.name)

    def get(self, name: str) -> labels.SessionInfo:
        """The session called `name` (exact), or a clear error."""
        with engine_errors("looking up session"):
            entries = self.api.containers(all=True, filters=_filters(name=f"^/{name}$"))
        if not entries:
            # A non-claudex container of that name is never touched.
            raise SessionNotFound(
                f"no claudex session named {name!r}", "see `claudex list --all` for session names"
            )
        return labels.SessionInfo.from_list_entry(entries[0])

    def resolve(self, name: str | None, cwd: str | None = None) -> labels.SessionInfo:
        """A session by name, or else the one for the current directory (as the Go tool did)."""
        if name:
            return self.get(name)
        here = os.path.realpath(cwd or os.getcwd())
        candidates = self.list_sessions(signature_=signature([here]))
        if not candidates:
            raise SessionNotFound(
                f"no claudex session for {here}", "name one (see `claudex list`), or use --name"
            )
        return candidates[0]

    def require_running(self, session: labels.SessionInfo) -> None:
        if not session.running:
            raise SessionNotRunning(
                f"session {session.name} is {session.state}, not running",
                f"start it with `claudex {' '.join(session.mounts) or '--name ' + session.name}`",
            )

    # -- start -----------------------------------------------------------------------------

    def start_session(
        self, req: StartRequest, on_step: Callable[[str], None] | None = None
    ) -> StartResult:
        """Reuse the session for these directories, or create it; start it; wait until ready."""
        step = on_step or (lambda _msg: None)
        if req.agent not in AGENTS:
            raise UsageError(f"unknown agent {req.agent!r}; choose one of {', '.join(AGENTS)}")
        base = req.name or session_name(req.plan.dirs)
        if not valid_container_name(base):
            raise UsageError(
                f"invalid session name {base!r}",
                "use letters, digits, '_', '.' and '-' (starting with a letter or digit)",
            )
        # Other claudex commands may start the same directories at this very moment: the one
        # whose create loses finds the winner's session and reuses it; one that vanished
        # (removed by its failed create) is looked for again.
        for _attempt in range(RACE_ATTEMPTS):
            try:
                return self._start_once(base, req, step)
            except _Raced:
                continue
        raise SessionConflict(
            f"could not start {base}: other claudex commands kept creating and removing it",
            "try again once they are done",
        )

    def _start_once(self, base: str, req: StartRequest, step: Callable[[str], None]) -> StartResult:
        warnings = list(req.plan.warnings)
        existing = None if req.parallel else self._find_existing(base, req)
        if existing is not None and req.replace:
            step(f"removing {existing.name} (--replace)")
            try:
                self.remove(existing.name, force=True)
            except ClaudexError as exc:
                if not _gone(exc):
                    raise
            existing = None
        if existing is not None:
            try:
                warnings += self._check_reuse(existing, req)
                existing = self._settled(existing, step)
                if existing is not None:
                    return self._reuse(existing, warnings, step)
            except ClaudexError as exc:
                # Removed under us (a destroy, a failed create), whether while looking at its
                # mounts, waiting for its create or starting it: look again.
                if _gone(exc):
                    raise _Raced from None
                raise

        step("creating session")
        with self._creating(base):
            container_id, name = self._create(base, req)
            self._launch(container_id, name, req, step)
        self.wait_ready(container_id, name)
        return StartResult(self.get(name), True, True, warnings)

    def _reuse(
        self, existing: labels.SessionInfo, warnings: list[str], step: Callable[[str], None]
    ) -> StartResult:
        started = False
        if not existing.running:
            step(f"starting {existing.name}")
            self.start_existing(existing)
            started = True
        if existing.managed:
            self.wait_ready(existing.id, existing.name)
        return StartResult(self.get(existing.name), False, started, warnings)

    def _settled(
        self, existing: labels.SessionInfo, step: Callable[[str], None]
    ) -> labels.SessionInfo | None:
        """A session that never ran: another claudex's create in progress is waited for; one
        left by a create that failed is removed (it never ran: nothing in it to keep), so the
        caller creates it anew with today's settings. None: create it."""
        if existing.state != "created" or not existing.managed:
            return existing  # the Go tool's sessions are reused as they are
        deadline: float | None = None
        while True:
            try:
                attrs = self._inspect(existing.id, existing.name)
            except SessionGone:
                raise _Raced from None
            state = attrs.get("State") or {}
            if state.get("Status") != "created" or state.get("StartedAt", NEVER) != NEVER:
                return self._refreshed(existing)
            if deadline is None:
                age = self._age(attrs)
                deadline = time.monotonic() + CREATE_GRACE - (age or CREATE_GRACE)
                if time.monotonic() < deadline:
                    step(f"waiting for {existing.name}: another claudex is creating it")
            if time.monotonic() >= deadline:
                if not self._being_created(existing.name):
                    break
                if time.monotonic() >= deadline - CREATE_GRACE + CREATE_WAIT:
                    raise SessionConflict(
                        f"another claudex has been creating {existing.name} for minutes",
                        "wait for it to finish, or stop it and start again",
                    )
            time.sleep(0.1)
        step(f"removing {existing.name}: an earlier start of it failed before it ever ran")
        with contextlib.suppress(ClaudexError):
            self.remove(existing.name, force=True)
        return None

    def _create_lock(self, name: str) -> Path:
        key = hashlib.sha256(f"{self.api.base_url}\0{name}".encode()).hexdigest()[:24]
        folder = state_dir() / "creating"
        folder.mkdir(exist_ok=True)
        return folder / key

    @contextlib.contextmanager
    def _creating(self, name: str) -> Iterator[None]:
        """Held (shared) from our create until our start returned: another claudex on this
        host that finds the session never started sees a create in progress, however slow,
        and waits instead of removing it as a failed create's leftover (20 concurrent starts
        on a loaded machine lost a session that way)."""
        path = self._create_lock(name)
        while True:
            fh = open(path, "a")  # noqa: SIM115 (closed below)
            fcntl.flock(fh, fcntl.LOCK_SH)
            if _still_at(fh, path):
                break
            fh.close()  # removed (its session destroyed) between our open and lock: again
        with fh:
            yield

    def _forget_create_lock(self, name: str) -> None:
        """A removed session's lock file goes too, unless a create of that name holds it (one
        empty file per name ever made was left behind)."""
        path = self._create_lock(name)
        try:
            fh = open(path)  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            return
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            if _still_at(fh, path):
                path.unlink(missing_ok=True)

    def _being_created(self, name: str) -> bool:
        path = self._create_lock(name)
        for _ in range(RACE_ATTEMPTS):
            try:
                fh = open(path)  # noqa: SIM115 (closed below)
            except FileNotFoundError:
                return False
            with fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                if _still_at(fh, path):
                    return False
            # (a removed lock file: a create may hold the one made since; look again)
        return False

    def _refreshed(self, existing: labels.SessionInfo) -> labels.SessionInfo:
        try:
            return self.get(existing.name)
        except SessionNotFound:
            raise _Raced from None

    def _age(self, attrs: dict[str, Any]) -> float | None:
        """Seconds since the container was created, by the engine's clock (a remote engine's
        clock may differ from ours)."""
        created = epoch_of(attrs.get("Created", ""))
        with engine_errors("asking the engine's time"):
            now = epoch_of(str(self.api.info().get("SystemTime", "")))
        if created is None or now is None:
            return None
        return now - created

    def _launch(
        self, container_id: str, name: str, req: StartRequest, step: Callable[[str], None]
    ) -> None:
        """Seed and start the container we just created; if either fails it is removed, so a
        failed create leaves nothing that would keep failing after the cause is fixed."""
        try:
            if req.plan.logins:
                self._seed_home(container_id, req.plan)
            if req.mcp:
                from container.mcp_host import create_broker, start_broker

                step(f"starting the MCP broker of {name}")
                network = req.network or DEFAULT_NETWORK  # servers' firewalls join it
                if network == DEFAULT_NETWORK and any(s.get("allow") for s in req.mcp.values()):
                    self.ensure_network(network)
                create_broker(self.api, name, req.image, req.mcp, spec_labels(req), network)
                start_broker(self.api, name)
            step(f"starting {name}")
            with engine_errors(f"starting {name}"):
                self.api.start(container_id)
        except ClaudexError as exc:
            with contextlib.suppress(Exception):
                self.api.remove_container(container_id, force=True, v=True)
            if req.mcp:
                from container.mcp_host import remove_broker

                remove_broker(self.api, name)
            raise _start_failure(exc, name, req) from None

    def _find_existing(self, base: str, req: StartRequest) -> labels.SessionInfo | None:
        try:
            return self.get(base)
        except SessionNotFound:
            pass
        if req.name:
            return None
        # Sessions made elsewhere (the Go tool, another prefix) are found by signature.
        sig = signature(req.plan.dirs)
        for s in self.list_sessions(signature_=sig):
            if sorted(s.mounts) == req.plan.dirs and s.labels.get(labels.PARALLEL) != "1":
                return s
        return None

    def _check_reuse(self, existing: labels.SessionInfo, req: StartRequest) -> list[str]:
        if existing.mounts and sorted(existing.mounts) != req.plan.dirs:
            raise SessionConflict(
                f"the name {existing.name} is already used by a session with other mounts "
                f"({', '.join(existing.mounts)})",
                "pick another --name, or add --replace to recreate it with these directories",
            )
        differences = self._mount_differences(existing, req.plan)
        if differences and req.strict_mounts:
            raise SessionConflict(
                f"session {existing.name} mounts differ from the ones asked for "
                f"(--strict-mounts): {'; '.join(differences)}",
                "add --replace to recreate it, or drop --strict-mounts to reuse it as it is",
            )
        return [f"reusing {existing.name} with its own mounts: {d}" for d in differences]

    def _mount_differences(self, existing: labels.SessionInfo, plan: MountPlan) -> list[str]:
        with engine_errors(f"inspecting {existing.name}"):
            attrs = self.api.inspect_container(existing.id)
        from container.isolated import copies_of

        # An isolated session's sources are its copies (container.isolated), whoever asks.
        copies = copies_of(existing.labels)
        wanted = {
            copies.get(m.source, m.source): (m.target, m.read_only)
            for m in plan.mounts
            if m.role == "dir"
        }
        actual = {
            m.get("Source"): (m.get("Destination"), not m.get("RW", True))
            for m in attrs.get("Mounts") or []
            if m.get("Source") in wanted
        }
        diffs = []
        for src, (target, ro) in sorted(wanted.items()):
            if src not in actual:
                diffs.append(f"{src} is not mounted")
                continue
            a_target, a_ro = actual[src]
            if a_target != target:
                diffs.append(f"{src} is at {a_target}, not {target}")
            if a_ro != ro:
                diffs.append(f"{src} is {'read-only' if a_ro else 'read-write'}")
        home = f"{AGENT_HOME}/"
        mounted = attrs.get("Mounts") or []
        shared = any(str(m.get("Destination", "")).startswith(home) for m in mounted)
        if shared != shares_agent_home(plan):
            diffs.append(
                "its agent home is shared with this host (~/.claude, ~/.codex read-write); "
                "--replace gives it its own"
                if shared
                else "its agent home is its own, not shared (--share-agent-home needs --replace)"
            )
        guarded = {m.target for m in plan.mounts if m.role == "git-guard" and m.read_only}
        if guarded and not guarded & {m.get("Destination") for m in mounted}:
            diffs.append(
                "its repositories' .git/config and hooks are writable by the agent (made with "
                "--git-writable or an older claudex); --replace protects them"
            )
        return diffs

    def _create(self, base: str, req: StartRequest) -> tuple[str, str]:
        plan = req.plan
        session_labels = spec_labels(req)
        env = spec_env(req, base)
        host_config_args = spec_host_config(req)
        if not req.host_network:
            network = req.network or DEFAULT_NETWORK
            if network == DEFAULT_NETWORK:
                self.ensure_network(network)
            host_config_args["network_mode"] = network
        workdir = WORKSPACE
        dir_targets = list(plan.dir_targets().values())
        if len(dir_targets) == 1:
            workdir = dir_targets[0]
        name = base
        for _attempt in range(50):
            if req.parallel:
                taken = [s.name for s in self.list_sessions(name_glob=f"{base}*")]
                name = parallel_name(base, taken) if base in taken else base
            args = dict(host_config_args)
            if req.mcp:  # the broker's socket, read-only
                from container.mcp_host import session_mount

                args["mounts"] = [*args["mounts"], session_mount(name)]
            with engine_errors("preparing the container"):
                host_config = self.api.create_host_config(**args)
            try:
                with engine_errors(f"creating {name}"):
                    created = self.api.create_container(
                        image=req.image,
                        name=name,
                        hostname=slug(plan.dirs)[:63] or "claudex",
                        labels=session_labels,
                        environment=env,
                        working_dir=workdir,
                        host_config=host_config,
                        tty=False,
                        stdin_open=False,
                    )
                return created["Id"], name
            except ClaudexError as exc:
                conflict = "Conflict" in exc.message or "already in use" in exc.message
                if req.parallel and conflict and not req.isolated:
                    continue  # another claudex took the name in the same instant: next one
                if conflict and req.isolated:  # the copies are named after this name
                    raise SessionConflict(
                        f"another claudex took the name {name} in the same instant",
                        "start again",
                    ) from None
                if conflict:
                    self._claudex_owns(name)
                    raise _Raced from None  # another claudex created it first: reuse theirs
                if "No such image" in exc.message:
                    raise ClaudexError(
                        f"image {req.image!r} not found", "build it with `claudex build`"
                    ) from None
                raise
        raise SessionConflict(f"could not find a free name for {base} (--parallel)")

    def _claudex_owns(self, name: str) -> None:
        """A taken name is another claudex's session (reused), or a clear refusal."""
        with engine_errors(f"looking up {name}"):
            entries = self.api.containers(all=True, filters={"name": f"^/{name}$"})
        if entries and labels.SIGNATURE not in (entries[0].get("Labels") or {}):
            raise SessionConflict(
                f"the name {name} is taken by a container that is not a claudex session",
                "pick another --name (claudex never touches containers it did not make)",
            )

    def _seed_home(self, container_id: str, plan: MountPlan) -> None:
        """The login copies go into the home before the first start (a session that cannot
        get them is removed by `_launch`, not left behind half made)."""
        from container.agent_home import seed

        seed(self.api, container_id, plan.logins, plan.uid, plan.gid)

    def ensure_network(self, name: str) -> None:
        from docker.errors import NotFound

        with engine_errors(f"preparing network {name}"):
            try:
                self.api.inspect_network(name)
            except NotFound:
                try:
                    self.api.create_network(
                        name, driver="bridge", labels={labels.MANAGED: labels.MANAGED_VALUE}
                    )
                except Exception as exc:  # another claudex created it meanwhile
                    if "already exists" not in str(exc):
                        raise

    # -- lifecycle -------------------------------------------------------------------------

    def verify_own_files(self, session: labels.SessionInfo) -> None:
        """Refuse to start a session whose claudex scripts differ from its image's: root would
        run them (container/integrity.py)."""
        from container.integrity import check

        problems = check(self.api, session.id, session.labels)
        if problems:
            shown = "; ".join(problems[:5]) + (
                f"; {len(problems) - 5} more" if len(problems) > 5 else ""
            )
            raise ClaudexError(
                f"session {session.name} was not started: claudex's own files in it were "
                f"changed ({shown})",
                "something in it got root: destroy it (`claudex destroy "
                f"{session.name}` keeps its history) and start anew, or recreate it with "
                f"`claudex --replace {' '.join(session.mounts) or '--name ' + session.name}`",
            )

    def start_existing(self, session: labels.SessionInfo) -> None:
        """Start (or unpause) a session that exists; its init runs again, so its scripts are
        checked first."""
        if session.state == "paused":
            with engine_errors(f"starting {session.name}"):
                self.api.unpause(session.id)
            return
        if session.managed:
            self.verify_own_files(session)
        with engine_errors(f"starting {session.name}"):
            self.api.start(session.id)
        from container.mcp_host import start_broker

        start_broker(self.api, session.name)  # none for most sessions

    def restart(self, session: labels.SessionInfo, timeout: int = 5) -> None:
        """Stop, check the scripts while nothing runs, start."""
        with engine_errors(f"stopping {session.name}"):
            self.api.stop(session.id, timeout=timeout)
        self.start_existing(self.get(session.name))

    def stop(self, name: str, timeout: int = 5) -> None:
        s = self.get(name)
        with engine_errors(f"stopping {name}"):
            self.api.stop(s.id, timeout=timeout)

    def remove(self, name: str, force: bool = False) -> None:
        s = self.get(name)
        if not s.labels.get(labels.SIGNATURE):
            raise ClaudexError(f"{name} is not a claudex session; not touching it")
        with engine_errors(f"removing {name}"):
            self.api.remove_container(s.id, force=force, v=True)
        from container.mcp_host import remove_broker

        remove_broker(self.api, s.name)
        self._forget_create_lock(s.name)


def _still_at(fh: Any, path: Path) -> bool:
    """The open lock file is still the one at `path` (not removed, nor made anew)."""
    try:
        return os.fstat(fh.fileno()).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def _start_failure(exc: ClaudexError, name: str, req: StartRequest) -> ClaudexError:
    """The engine's refusal to start a new session, with the fix that fits it."""
    network = req.network or DEFAULT_NETWORK
    if re.search(r"network \S+ not found", exc.message) and not req.host_network:
        return ClaudexError(
            f"session {name} could not start: network {network!r} does not exist on this engine",
            f"create it (`docker network create {network}`) or change `network` in claudex's "
            "config (or --network); the half-made session was removed",
        )
    return ClaudexError(
        f"session {name} could not start: {exc.message}",
        (exc.hint + "; " if exc.hint else "") + "the half-made session was removed",
    )


def select_by_state(
    sessions: Iterable[labels.SessionInfo], running: bool, stopped: bool
) -> list[labels.SessionInfo]:
    """`--running` / `--stopped` filters (both or neither: all)."""
    out = []
    for s in sessions:
        if running and not stopped and not s.running:
            continue
        if stopped and not running and s.running:
            continue
        out.append(s)
    return out
