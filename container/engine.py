"""Connecting to the Docker Engine (DOCKER_HOST and docker contexts) and translating its errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TypeAlias

from container.errors import ClaudexError, EngineUnavailable

if TYPE_CHECKING:
    import docker

# A connection to an engine, as the layers above container/ name it: they never import
# docker-py (a test checks), only hand back what container/ gave them.
DockerClient: TypeAlias = "docker.DockerClient"
APIClient: TypeAlias = "docker.APIClient"


def has_docker_contexts() -> bool:
    """Whether the user created any docker context (cheap: reading them costs ~45 ms)."""
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    try:
        return any(os.scandir(os.path.join(base, "contexts", "meta")))
    except OSError:
        return False


def _context_host() -> tuple[str | None, object | None]:
    """Host and TLS config of the current docker context, when one other than default is set."""
    if os.environ.get("DOCKER_HOST") or not has_docker_contexts():
        return None, None
    try:
        from docker.context import ContextAPI

        ctx = ContextAPI.get_current_context()
    except Exception:  # a broken ~/.docker/config.json must not stop claudex
        return None, None
    if ctx is None or ctx.name == "default":
        return None, None
    tls = ctx.TLSConfig if getattr(ctx, "TLSConfig", None) else None
    return ctx.Host, tls


def describe_host() -> str:
    host, _ = _context_host()
    return host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def explain_connect_error(
    exc: BaseException, name: str | None = None, where: str | None = None
) -> EngineUnavailable:
    """One clear message for an engine that does not answer (`name`: one of several; by
    default the one --engine chose, if any)."""
    text = str(exc)
    if name is None and _selected is not None:
        name, where = _selected.name, where or _selected.host
    where = where or describe_host()
    subject = f"engine {name}" if name else "the Docker Engine"
    if "Permission denied" in text or isinstance(exc, PermissionError):
        return EngineUnavailable(
            f"{subject}: permission denied at {where}",
            "add your user to the 'docker' group (then log in again), or run with sudo",
        )
    if name:
        hint = "start Docker there, or check the engine's host in the config or its docker context"
    else:  # what to run on this system (scripts/install.sh prints the same line)
        from container.engine_fix import engine_fix, host_facts

        hint = engine_fix(host_facts())
    return EngineUnavailable(f"{subject} is not reachable at {where} ({text})", hint)


class ChosenEngine(Protocol):
    """An engine `--engine NAME` can choose (container.engines.Engine): it connects itself,
    so this module needs nothing from engines.py (which builds on this one)."""

    @property
    def name(self) -> str: ...

    @property
    def host(self) -> str: ...

    def connect(self, timeout: int = 60) -> docker.DockerClient: ...


# The engine `--engine NAME` chose; None: the environment's. The only place it is kept.
_selected: ChosenEngine | None = None


def select(engine: ChosenEngine | None) -> None:
    """Make every later `connect()` in this process use `engine` (None: the default one)."""
    global _selected
    _selected = engine


def selected() -> ChosenEngine | None:
    """The engine --engine chose, or None."""
    return _selected


def connect(timeout: int = 60) -> docker.DockerClient:
    """A client for the engine --engine chose, else the one the user's environment names."""
    if _selected is not None:
        return _selected.connect(timeout)
    return connect_default(timeout)


def connect_default(timeout: int = 60) -> docker.DockerClient:
    """A client for the engine the user's environment names; one clear error when unreachable."""
    import docker
    from docker.errors import DockerException

    host, tls = _context_host()
    try:
        if host:
            return docker.DockerClient(base_url=host, tls=tls or False, timeout=timeout)
        return docker.from_env(timeout=timeout)
    except DockerException as exc:
        raise explain_connect_error(exc) from None


@contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Turn docker-py exceptions into ClaudexError, keeping Docker's own text."""
    from docker.errors import APIError, DockerException, NotFound
    from requests.exceptions import ConnectionError as RequestsConnectionError

    try:
        yield
    except ClaudexError:
        raise
    except NotFound as exc:
        raise ClaudexError(f"{action}: {_docker_text(exc)}") from None
    except APIError as exc:
        raise ClaudexError(f"{action}: {_docker_text(exc)}") from None
    except (RequestsConnectionError, ConnectionError) as exc:
        raise explain_connect_error(exc) from None
    except DockerException as exc:
        raise ClaudexError(f"{action}: {exc}") from None


def _docker_text(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation.decode() if isinstance(explanation, bytes) else explanation)
    return str(exc)
