"""Several Docker Engines: the ones named in the config, the user's docker contexts, and the
default one (DOCKER_HOST, the current context, or the local socket). claudex spreads sessions
over them; it never builds a cluster of its own."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import types
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from container.engine import (
    connect_default,
    describe_host,
    explain_connect_error,
    has_docker_contexts,
    selected,
)
from container.errors import ClaudexError, EngineUnavailable, UsageError
from container.host_entries import HostFS
from container.host_fs import EngineFS, engine_is_remote
from container.labels import SessionInfo
from container.local_fs import LOCAL

if TYPE_CHECKING:
    import docker

DEFAULT_ENGINE = "default"
Source = Literal["config", "context", "env", "default"]


class EngineSettings(Protocol):
    """What the config says about one engine (claudex_tui.config.EngineConfig has these)."""

    host: str
    tls_verify: bool
    ca_cert: str | None
    client_cert: str | None
    client_key: str | None
    remote: bool | None


@dataclass(frozen=True)
class Engine:
    """One Docker Engine claudex may run sessions on."""

    name: str
    host: str
    source: Source
    tls_verify: bool = False
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    # A docker context's ready-made TLS config (docker.tls.TLSConfig), kept as given.
    context_tls: Any = field(default=None, compare=False, repr=False)
    # Whether its host is another machine; None: told by the address (see is_remote).
    remote_override: bool | None = None

    @property
    def is_remote(self) -> bool:
        """Directories of sessions here are another machine's (browsed through a helper)."""
        return engine_is_remote(self.host, self.remote_override)

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls_verify or self.ca_cert or self.client_cert or self.context_tls)

    def connect(self, timeout: int = 60) -> docker.DockerClient:
        """A client for this engine (what `container.engine.connect()` gives once chosen)."""
        return connect_engine(self, timeout)


def default_engine() -> Engine:
    """The engine `connect()` talks to: DOCKER_HOST, else the current context, else local."""
    if os.environ.get("DOCKER_HOST"):
        source: Source = "env"
    elif describe_host() != "unix:///var/run/docker.sock":
        source = "context"
    else:
        source = "default"
    return Engine(DEFAULT_ENGINE, describe_host(), source)


def _contexts() -> list[Engine]:
    if not has_docker_contexts():
        return []
    try:
        from docker.context import ContextAPI

        contexts = ContextAPI.contexts()
    except Exception:  # a broken ~/.docker must not stop claudex; those contexts are skipped
        return []
    out = []
    for ctx in contexts:
        host = getattr(ctx, "Host", None)
        if ctx.name == "default" or not host:
            continue
        tls = ctx.TLSConfig if getattr(ctx, "TLSConfig", None) else None
        out.append(Engine(ctx.name, host, "context", context_tls=tls))
    return out


def available_engines(configured: Mapping[str, EngineSettings] | None = None) -> list[Engine]:
    """Every engine the user has: the default one first, then the config's, then contexts.

    A context whose host (or name) is already listed is left out, so no session is listed
    twice through two names of one engine.
    """
    engines: list[Engine] = [default_engine()]
    for name, spec in (configured or {}).items():
        engine = Engine(
            name,
            spec.host,
            "config",
            tls_verify=spec.tls_verify,
            ca_cert=spec.ca_cert,
            client_cert=spec.client_cert,
            client_key=spec.client_key,
            remote_override=spec.remote,
        )
        # Named by the user, so always kept (even "default", which it then replaces).
        engines = [e for e in engines if e.name != name]
        engines.append(engine)
    hosts = {e.host for e in engines}
    names = {e.name for e in engines}
    for ctx in _contexts():
        if ctx.host not in hosts and ctx.name not in names:
            engines.append(ctx)
            hosts.add(ctx.host)
    return engines


def find_engine(name: str, engines: Iterable[Engine]) -> Engine:
    """The engine called `name`, or a clear error listing the known ones."""
    engines = list(engines)
    for engine in engines:
        if engine.name == name:
            return engine
    known = ", ".join(e.name for e in engines)
    raise UsageError(
        f"unknown engine {name!r} (known: {known})",
        "name engines in the config ([engines.NAME] host = ...) or with `docker context create`",
    )


def current_engine() -> Engine:
    """The engine this process works with: the one --engine chose, else the default one."""
    chosen = selected()
    return chosen if isinstance(chosen, Engine) else default_engine()


def host_fs(engine: Engine, client: docker.DockerClient, image: str) -> HostFS:
    """The file system session directories come from on `engine` (close() it when done)."""
    if not engine.is_remote:
        return LOCAL
    user = None
    if engine.host.startswith("ssh://"):
        from urllib.parse import urlsplit

        user = urlsplit(engine.host).username
    return EngineFS(client, image, engine.name, user)


def _tls(engine: Engine) -> Any:
    if engine.context_tls is not None:
        return engine.context_tls
    if not engine.uses_tls:
        return False
    from docker.tls import TLSConfig

    cert = (engine.client_cert, engine.client_key) if engine.client_cert else None
    if cert and not engine.client_key:
        raise ClaudexError(
            f"engine {engine.name!r}: client_cert is set but client_key is not",
            "set both (PEM files) in the engine's config entry",
        )
    try:
        return TLSConfig(
            client_cert=cert,
            ca_cert=engine.ca_cert,
            verify=engine.ca_cert if engine.tls_verify and engine.ca_cert else engine.tls_verify,
        )
    except Exception as exc:  # docker-py checks the files exist
        raise ClaudexError(f"engine {engine.name!r}: bad TLS settings: {exc}") from None


def _unreachable(engine: Engine, exc: BaseException) -> EngineUnavailable:
    return explain_connect_error(exc, engine.name, engine.host)


def _load_ssh_adapter() -> None:
    """docker-py's ssh:// adapter imports paramiko even when it runs the system ssh client
    (use_ssh_client, the only way claudex uses it), and skips the adapter when paramiko is
    missing. Without paramiko an empty module stands in for that import: the system-ssh path
    never touches it, and `import docker` stays free of paramiko's 100 ms for every command."""
    import docker.api.client as api_client

    if hasattr(api_client, "SSHHTTPAdapter"):
        return
    if importlib.util.find_spec("paramiko") is None:
        sys.modules.setdefault("paramiko", types.ModuleType("paramiko"))
    from docker.transport import sshconn

    # Closing writes to ssh's stdin; when the engine ended the connection first, ssh has
    # exited and that write raised BrokenPipeError out of a finished request.
    close = sshconn.SSHSocket.close

    def close_quietly(self: sshconn.SSHSocket) -> None:
        with contextlib.suppress(OSError):
            close(self)

    sshconn.SSHSocket.close = close_quietly
    api_client.SSHHTTPAdapter = sshconn.SSHHTTPAdapter


def connect_engine(engine: Engine, timeout: int = 60) -> docker.DockerClient:
    """A client for one engine (its version is asked once, so an unreachable one fails here)."""
    if engine.name == DEFAULT_ENGINE and engine.source != "config":
        return connect_default(timeout=timeout)
    import docker
    from docker.errors import DockerException

    kwargs: dict[str, Any] = {}
    if engine.host.startswith("ssh://"):
        # The system ssh client (keys, agent, ~/.ssh/config) instead of paramiko.
        kwargs["use_ssh_client"] = True
        _load_ssh_adapter()
    tls = _tls(engine)
    try:
        return docker.DockerClient(base_url=engine.host, tls=tls, timeout=timeout, **kwargs)
    except DockerException as exc:
        raise _unreachable(engine, exc) from None
    except OSError as exc:
        raise _unreachable(engine, exc) from None


# -- listing over many engines at once --------------------------------------------------------


@dataclass
class EngineListing:
    """One engine's sessions, or why they could not be read."""

    engine: Engine
    sessions: list[SessionInfo] | None = None
    error: ClaudexError | None = None
    version: str = ""
    client: docker.DockerClient | None = field(default=None, repr=False)

    @property
    def reachable(self) -> bool:
        return self.error is None


def list_engine(
    engine: Engine,
    timeout: int = 15,
    client: docker.DockerClient | None = None,
    with_version: bool = False,
) -> EngineListing:
    """One engine's sessions, each stamped with the engine's name; errors become the result."""
    from container.sessions import Sessions

    try:
        client = client or connect_engine(engine, timeout=timeout)
        found = Sessions(client).list_sessions()
        version = str(client.version().get("Version", "")) if with_version else ""
    except ClaudexError as exc:
        return EngineListing(engine, error=exc, client=client)
    except Exception as exc:  # anything else from a broken engine is still just "unreachable"
        return EngineListing(engine, error=_unreachable(engine, exc), client=client)
    return EngineListing(
        engine, [replace(s, engine=engine.name) for s in found], version=version, client=client
    )


def list_all(engines: Iterable[Engine], timeout: int = 15) -> list[EngineListing]:
    """Every engine's sessions, asked concurrently: the slowest engine bounds the time."""
    engines = list(engines)
    if len(engines) <= 1:  # the common case: no thread to start
        return [list_engine(e, timeout) for e in engines]
    with ThreadPoolExecutor(max_workers=len(engines), thread_name_prefix="claudex-list") as pool:
        return list(pool.map(lambda e: list_engine(e, timeout), engines))


def engine_version(client: docker.DockerClient) -> str:
    """The engine's version ("" when it does not say); raises when it does not answer."""
    return str(client.version().get("Version", ""))
