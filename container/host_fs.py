"""The file system of the machine an engine runs on: this machine's own (`container.local_fs`),
or a remote host's seen through a short-lived helper container on that engine (`EngineFS`).

Sessions mount directories of *their engine's* host. Everything that looks at those
directories before a session starts (the mount picker, the owner the agent runs as, the
`.env` files to hide, a project's `.claudex.toml`) goes through a `HostFS`, so the same code
serves a local engine and one reached over ssh:// or tcp://.

The helper is read-only by construction: the host's `/` is bound read-only at /host, no
network, every capability dropped except reading past permissions (the Docker Engine already
gives its user root on that host; listing a directory must not fail where `docker run -v`
would work). It runs `sleep` for a bounded time, so a crashed claudex leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import secrets
import threading
from typing import TYPE_CHECKING

from container import scripts
from container.engine import engine_errors
from container.errors import ClaudexError
from container.host_entries import READ_LIMIT, HostEntry, HostStat

if TYPE_CHECKING:
    import docker

HELPER_LABEL = "com.claudex.helper"
HELPER_SECONDS = 3600  # the helper's whole life; it is made again when needed later


# Runs in the helper, as `python3 -c SCRIPT OP ARGS...`; prints one JSON document.
_SCRIPT = scripts.source("host_files.py")


class EngineFS:
    """A remote engine host's files, through a helper container on that engine."""

    remote = True

    def __init__(
        self, client: docker.DockerClient, image: str, engine_name: str, user: str | None = None
    ) -> None:
        self.client = client
        self.user = user  # who the engine is reached as (ssh://USER@host), when known
        self.image = image
        self.label = f"engine {engine_name}"
        self.engine_name = engine_name
        self._helper: str | None = None
        self._lock = threading.Lock()  # the picker lists from several threads at once

    # -- the helper ----------------------------------------------------------------------

    def _start_helper(self) -> str:
        from docker.errors import ImageNotFound

        api = self.client.api
        with engine_errors(f"looking for image {self.image} on {self.label}"):
            try:
                api.inspect_image(self.image)
            except ImageNotFound:
                raise ClaudexError(
                    f"image {self.image} is not on {self.label} yet, so its files cannot be "
                    "browsed",
                    f"build it there first: claudex build --engine {self.engine_name}",
                ) from None
        host_config = api.create_host_config(
            binds={"/": {"bind": "/host", "mode": "ro"}},
            network_mode="none",
            cap_drop=["ALL"],
            cap_add=["DAC_READ_SEARCH"],
            security_opt=["no-new-privileges"],
            read_only=True,
            auto_remove=True,
        )
        with engine_errors(f"starting a helper container on {self.label}"):
            created = api.create_container(
                self.image,
                entrypoint=["sleep"],
                command=[str(HELPER_SECONDS)],
                user="0:0",
                name=f"claudex-files-{secrets.token_hex(4)}",
                labels={HELPER_LABEL: "files"},
                host_config=host_config,
                network_disabled=True,
            )
            api.start(created["Id"])
        return str(created["Id"])

    def _run(self, *args: str) -> object:
        from docker.errors import APIError

        for attempt in (1, 2):
            with self._lock:
                if self._helper is None:
                    self._helper = self._start_helper()
                helper = self._helper
            api = self.client.api
            try:
                with engine_errors(f"reading files on {self.label}"):
                    exec_id = api.exec_create(
                        helper, ["python3", "-c", _SCRIPT, *args], user="0:0"
                    )["Id"]
                    out = bytearray()
                    err = bytearray()
                    for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
                        out += chunk_out or b""
                        err += chunk_err or b""
                    code = api.exec_inspect(exec_id).get("ExitCode")
            except ClaudexError:
                # The helper's time ran out (or someone removed it): make a new one, once.
                if attempt == 2 or self._alive(helper):
                    raise
                with self._lock:
                    if self._helper == helper:
                        self._helper = None
                continue
            except APIError as exc:  # pragma: no cover - engine_errors translates these
                raise ClaudexError(str(exc)) from None
            if code:
                text = err.decode(errors="replace").strip() or f"exit code {code}"
                # The path asked about (read's last argument is its size limit).
                raise ClaudexError(f"{args[1] if len(args) > 1 else args[0]}: {text}")
            return json.loads(out or b"null")
        raise AssertionError("unreachable")

    def _alive(self, helper: str) -> bool:
        try:
            state = self.client.api.inspect_container(helper)["State"]
        except Exception:
            return False
        return bool(state.get("Running"))

    # -- HostFS ----------------------------------------------------------------------------

    def stat(self, path: str) -> HostStat | None:
        found = self.stat_many([path])
        return found[0]

    def stat_many(self, paths: list[str]) -> list[HostStat | None]:
        """One exec for several paths (planning a session asks about each directory)."""
        if not paths:
            return []
        raw = self._run("stat", *paths)
        assert isinstance(raw, list)
        return [HostStat(**item) if item else None for item in raw]

    def list_dir(self, path: str) -> list[HostEntry]:
        raw = self._run("list", path)
        assert isinstance(raw, list)
        return [HostEntry(name, kind, bool(to_dir)) for name, kind, to_dir in raw]

    def read_text(self, path: str) -> str | None:
        raw = self._run("read", path, str(READ_LIMIT))
        return raw if isinstance(raw, str) else None

    def home(self) -> str:
        """Where browsing starts: the home of the ssh user, else the only home under /home,
        else /home, else /."""
        if self.user:
            mine = "/root" if self.user == "root" else posixpath.join("/home", self.user)
            with contextlib.suppress(ClaudexError):
                found = self.stat(mine)
                if found is not None and found.kind == "dir":
                    return found.real
        homes = [e.name for e in self._safe_list("/home") if e.kind == "dir"]
        if len(homes) == 1:
            return posixpath.join("/home", homes[0])
        return "/home" if homes else "/"

    def _safe_list(self, path: str) -> list[HostEntry]:
        try:
            return self.list_dir(path)
        except ClaudexError:
            return []

    def close(self) -> None:
        with self._lock:
            helper, self._helper = self._helper, None
        if helper is None:
            return
        # auto_remove may have been quicker; the helper ends itself anyway
        with contextlib.suppress(Exception):
            self.client.api.remove_container(helper, force=True)


def engine_is_remote(host: str, override: bool | None = None) -> bool:
    """Whether an engine's host is another machine: unix sockets and npipes are this one's."""
    if override is not None:
        return override
    return not host.startswith(("unix://", "npipe://"))
