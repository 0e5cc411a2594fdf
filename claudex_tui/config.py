"""User configuration: $XDG_CONFIG_HOME/claudex/config.toml, validated by pydantic models."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from claudex_tui.config_path import config_path
from container.errors import ClaudexError
from container.image import DEFAULT_IMAGE

# The agents' API keys. Copilot CLI also reads GH_TOKEN and GITHUB_TOKEN, but those often
# carry a wide GitHub token: only its own variable goes into every session by default.
DEFAULT_ENV = [
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "AI_API_MK",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "COPILOT_GITHUB_TOKEN",
]
# Variables that change which code programs load or run. Root's programs in a session (init,
# firewall, tracking) inherit the session's environment; with one of these pointing at a path
# the agent can write, the agent would choose what root runs.
_LOADER_ENV = (
    "PATH", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "CDPATH", "GLOBIGNORE", "IFS", "PS4",
    "PERL5LIB", "PERL5OPT", "PERLLIB", "RUBYLIB", "RUBYOPT", "NODE_OPTIONS", "NODE_PATH",
    "GCONV_PATH", "LOCPATH", "NLSPATH", "HOSTALIASES", "TMPDIR",
)  # fmt: skip
_LOADER_PREFIXES = ("LD_", "BASH_FUNC_", "PYTHON", "GIT_", "CLAUDEX_")
_HARMLESS_PREFIXES = ("GIT_AUTHOR_", "GIT_COMMITTER_")


def unsafe_env(name: str) -> bool:
    """Would passing this variable let the agent choose what root runs in its session?"""
    upper = name.upper()
    if upper.startswith(_HARMLESS_PREFIXES):
        return False
    return upper in _LOADER_ENV or upper.startswith(_LOADER_PREFIXES)


class ConfigError(ClaudexError):
    """The config file cannot be read or does not validate."""


def allow_entries(value: list[str]) -> list[str]:
    """Allow entries of a file, checked and normalized (a public suffix is refused)."""
    from container.allow_entries import merge_entries, refuse_public

    try:
        entries = merge_entries(value)
        refuse_public(entries)  # a file cannot confirm: the user names the hosts instead
        return entries
    except ClaudexError as exc:
        raise ValueError(exc.message) from None


def env_names(value: list[str]) -> list[str]:
    """Names of variables to pass, checked: plain names, none that changes what root runs."""
    for name in value:
        if not name or "=" in name or not name.replace("_", "a").isalnum():
            raise ValueError(f"{name!r} is not an environment variable name")
        if unsafe_env(name):
            raise ValueError(
                f"{name} cannot be passed into sessions: it changes what programs load, "
                "and claudex's own programs run as root there"
            )
    return value


_MCP_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_IMAGE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,254}")


def mcp_name_problem(name: str) -> str | None:
    """Why `name` cannot name an MCP server (it is an argument of `claudex-mcp` and part of
    container names), or None."""
    if not _MCP_NAME_RE.fullmatch(name):
        return (
            f"{name!r} is not an MCP server name (lowercase letters, digits, '-' and '_', "
            "at most 32, starting with a letter or digit)"
        )
    return None


class McpMount(BaseModel):
    """A host directory an MCP server's container sees, at the same path."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    """Absolute host directory (`~` is expanded)."""
    rw: bool = False
    """Let the server write there (read-only by default)."""

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        value = value.expanduser()
        if not value.is_absolute():
            raise ValueError(f"{value} is not an absolute path")
        return value


class McpServer(BaseModel):
    """`[mcp.NAME]`: an MCP server run in a container of its own for each use (see the
    README's security section): agents reach it as the stdio command `claudex-mcp NAME`."""

    model_config = ConfigDict(extra="forbid")

    image: str
    """Docker image of the server, e.g. "mcp/fetch"."""
    command: list[str] = Field(default_factory=list)
    """Command and arguments (default: the image's own)."""
    env: list[str] = Field(default_factory=list)
    """Host environment variables passed to the server (by name, when set)."""
    allow: list[str] = Field(default_factory=list)
    """Domains (or IP[/prefix][:port]) the server may reach; nothing else (default: none)."""
    mounts: list[McpMount] = Field(default_factory=list)
    """Host directories the server sees, read-only unless `rw = true`."""

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not an image name")
        return value

    @field_validator("command")
    @classmethod
    def _command(cls, value: list[str]) -> list[str]:
        if any("\0" in arg for arg in value):
            raise ValueError("a command argument holds a NUL character")
        return value

    @field_validator("env")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return env_names(value)

    @field_validator("allow")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        return allow_entries(value)


class ExtraMount(BaseModel):
    """A directory mounted into every session, besides the ones named on the command line."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    """Host directory."""
    read_only: bool = True
    """Mount it read-only (the default: extra mounts are usually references)."""


class Resources(BaseModel):
    """Limits applied to each new session's container."""

    model_config = ConfigDict(extra="forbid")

    memory: str | None = None
    """Memory limit in Docker's notation, e.g. "8g"."""
    cpus: float | None = Field(default=None, gt=0)
    """CPU limit, e.g. 2.5."""


class EngineConfig(BaseModel):
    """A Docker Engine sessions may run on: `[engines.NAME]` with its address and TLS files."""

    model_config = ConfigDict(extra="forbid")

    host: str
    """Address: "ssh://user@box" (through the system ssh client), "unix:///path/docker.sock"
    or "tcp://box:2376"."""
    tls_verify: bool = False
    """Verify the engine's TLS certificate (against ca_cert when given)."""
    ca_cert: str | None = None
    """CA certificate (PEM) the engine's certificate must be signed by."""
    client_cert: str | None = None
    """Client certificate (PEM) claudex presents; needs client_key."""
    client_key: str | None = None
    """Private key (PEM) of client_cert."""
    remote: bool | None = None
    """Whether the engine runs on another machine, whose directories sessions then mount
    (browsed through a helper container). Default: yes for ssh:// and tcp://, no for unix://."""

    @field_validator("host")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("ssh://", "unix://", "tcp://", "npipe://")):
            raise ValueError(f"{value!r} is not an engine address (ssh://, unix:// or tcp://)")
        return value

    @field_validator("ca_cert", "client_cert", "client_key")
    @classmethod
    def _expand(cls, value: str | None) -> str | None:
        return os.path.expanduser(value) if value else value


class Config(BaseModel):
    """The whole config file. Unknown keys are errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")

    agent: Literal["claude", "codex", "shell", "gemini", "copilot", "opencode"] = "claude"
    """Agent started by `claudex [DIRS]` when --agent is not given."""
    image: str = DEFAULT_IMAGE
    """Image sessions run; `claudex build` builds it (default `claudex`, or $CLAUDEX_IMAGE)."""
    env: list[str] = Field(default_factory=lambda: list(DEFAULT_ENV))
    """Environment variables passed (by name, when set on the host) into each session."""
    allow: list[str] = Field(default_factory=list)
    """Extra domains (or IP[/prefix][:port]) every session's firewall allows."""
    allow_defaults: bool = True
    """Also allow claudex's default list (the agents' APIs, GitHub, npm, PyPI, Debian)."""
    network: str | None = None
    """Docker network for new sessions (default: claudex's own)."""
    isolated: bool = False
    """`--parallel` sessions work on their own copies of the directories, as with
    `--isolated` (`--no-isolated` overrides it)."""
    ca_certs: list[Path] = Field(default_factory=list)
    """Extra CA certificate files (PEM) trusted by image builds."""
    host_ca: bool = True
    """Image builds also trust this machine's CA bundle ($SSL_CERT_FILE or the system's), so a
    TLS-intercepting proxy the host trusts works without flags; false (or --no-host-ca) opts out."""
    mounts: list[ExtraMount] = Field(default_factory=list)
    """Extra directories mounted into every session."""
    resources: Resources = Field(default_factory=Resources)
    """Resource limits of new sessions."""
    keys: dict[str, list[str]] = Field(default_factory=dict)
    """Dashboard keys by binding id, e.g. `quit = "ctrl+x"` or `tab_files = ["f", "F"]`
    (Textual's key names; the dashboard's `?` lists what is bound where)."""
    history_lines: int = Field(default=10_000, ge=100, le=50_000)
    """Lines of a session's terminal history the History view reads (wheel up or Shift+PgUp
    in a terminal); the agent's tmux keeps at most 50,000."""
    engines: dict[str, EngineConfig] = Field(default_factory=dict)
    """Docker Engines besides the default one (DOCKER_HOST or local); docker contexts are
    offered too. `--engine NAME` picks one."""
    mcp: dict[str, McpServer] = Field(default_factory=dict)
    """MCP servers by name, each run in a container of its own (`claudex mcp add`)."""

    @field_validator("engines")
    @classmethod
    def _engine_names(cls, value: dict[str, EngineConfig]) -> dict[str, EngineConfig]:
        from container.naming import valid_container_name

        for name in value:
            if not valid_container_name(name):
                raise ValueError(f"{name!r} is not an engine name (letters, digits, '_.-')")
        return value

    @field_validator("keys", mode="before")
    @classmethod
    def _key_lists(cls, value: object) -> object:
        """`id = "a,b"` or `id = ["a", "b"]`."""
        if isinstance(value, dict):
            return {k: v.split(",") if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from claudex_tui.key_names import key_problem

        for binding_id, keys in value.items():
            if not keys:
                raise ValueError(f"{binding_id}: no key given")
            for key in keys:
                problem = key_problem(key)
                if problem:
                    raise ValueError(f"{binding_id}: {problem}")
        return value

    @field_validator("allow")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        return allow_entries(value)

    @field_validator("env")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return env_names(value)

    @field_validator("mcp")
    @classmethod
    def _mcp_names(cls, value: dict[str, McpServer]) -> dict[str, McpServer]:
        for name in value:
            problem = mcp_name_problem(name)
            if problem:
                raise ValueError(problem)
        return value


def load_config(path: Path | None = None) -> Config:
    """The user's config, or defaults when there is no file; one clear error naming the key."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {key}: {err['msg']}{more}", "fix or remove that key") from None
