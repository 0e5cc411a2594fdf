"""Each session's own agent home (/home/agent, in the container's own filesystem).

A new session gets copies of what logging in needs, and nothing else of the host user's
agent folders: the Claude Code credentials, the account and onboarding keys of `~/.claude.json`
(never `projects`, `mcpServers` or history of other projects), Codex's `auth.json` (never
`config.toml`: it can name MCP servers and notify commands), Gemini CLI's OAuth tokens and
accounts and the auth choice of its `settings.json` (never its MCP servers, hooks or tools),
Copilot CLI's accounts and plaintext tokens from `~/.copilot/config.json` (never its trusted
folders or plugins; its keychain login cannot be copied: `COPILOT_GITHUB_TOKEN` is passed
instead), and opencode's `auth.json` (never its config, which can name MCP servers and
commands). The copies go in through the Engine API before the first start, owned by the agent,
mode 0600, so the agent can log in again or refresh its tokens in its own home; the container
keeps them across restarts. Nothing the agent writes there ever reaches the host's files.

On destroy, `save_home` stores the home (settings, hooks, MCP config, transcripts, shell
history) as a tar.gz in the audit folder, without the credentials. The archive the engine sends
is hostile input: it is never extracted, only re-packed member by member into a new archive of
plain files and directories, with a cap on what is read and on what is kept.

`--share-agent-home` gives back the old read-write bind mounts of the host's login folders
(see `container.mounts`); such a session is labelled `com.claudex.agent-home=shared`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from container.engine import engine_errors
from container.errors import ClaudexError

if TYPE_CHECKING:
    import tarfile

    from docker import APIClient

    from container.labels import SessionInfo

AGENT_HOME = "/home/agent"
# The host's login folders: copied from (own home), or bind-mounted (--share-agent-home).
# (opencode keeps its login in ~/.local/share/opencode: a bind mount there would make the
# agent's ~/.local root's, so it is copied even then.)
LOGIN_PATHS = (".claude", ".claude.json", ".codex", ".gemini", ".copilot")

CLAUDE_CREDENTIALS = ".claude/.credentials.json"
CLAUDE_CONFIG = ".claude.json"
CODEX_AUTH = ".codex/auth.json"
GEMINI_CREDENTIALS = ".gemini/oauth_creds.json"
GEMINI_ACCOUNTS = ".gemini/google_accounts.json"
GEMINI_SETTINGS = ".gemini/settings.json"
COPILOT_CONFIG = ".copilot/config.json"
OPENCODE_AUTH = ".local/share/opencode/auth.json"
# Copied as they are: files that hold a login and nothing else.
LOGIN_COPIES = (CLAUDE_CREDENTIALS, CODEX_AUTH, GEMINI_CREDENTIALS, GEMINI_ACCOUNTS, OPENCODE_AUTH)
# Keys of Copilot CLI's config.json that are its accounts and (without a keychain) tokens; both
# spellings of its versions. The rest (trusted folders, plugins) stays on the host.
COPILOT_ACCOUNT_KEYS = (
    "loggedInUsers",
    "lastLoggedInUser",
    "copilotTokens",
    "logged_in_users",
    "last_logged_in_user",
    "copilot_tokens",
)
# Keys of ~/.claude.json that logging in and skipping the first-run screens need.
CLAUDE_ACCOUNT_KEYS = (
    "oauthAccount",
    "userID",
    "primaryApiKey",
    "customApiKeyResponses",
    "hasCompletedOnboarding",
    "lastOnboardingVersion",
    "hasAvailableSubscription",
    "theme",
)
# Keys of a ~/.claude.json (or its backups) that are credentials: left out of audit archives.
CLAUDE_SECRET_KEYS = ("primaryApiKey", "customApiKeyResponses")
LOGIN_FILE_LIMIT = 1 << 20  # a credentials file is a few hundred bytes
CONFIG_LIMIT = 64 << 20  # ~/.claude.json grows with every project's history

# Audit archive bounds: data kept, bytes read from the engine, members looked at.
AUDIT_KEEP_LIMIT = 256 << 20
AUDIT_READ_LIMIT = 1 << 30
AUDIT_MEMBERS = 200_000
AUDIT_LISTED = 1000  # names listed per reason in the archive's note
# Read first, each on its own: a huge cache earlier in the home cannot crowd them out.
AUDIT_FIRST = (
    ".claude",
    ".claude.json",
    ".codex",
    ".gemini",
    ".copilot",
    ".config",
    ".bash_history",
    ".profile",
    ".bashrc",
)
AUDIT_CACHES = (".cache", ".npm")
# Credentials a session may hold besides the agents' logins.
AUDIT_SECRETS = (
    CLAUDE_CREDENTIALS,
    CODEX_AUTH,
    GEMINI_CREDENTIALS,
    COPILOT_CONFIG,
    OPENCODE_AUTH,
    ".git-credentials",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".ssh",
    ".gnupg",
    ".docker/config.json",
    ".config/gh/hosts.yml",
    ".aws/credentials",
)
NOTE_NAME = "claudex-audit.json"
HOME_TOP = posixpath.basename(AGENT_HOME)  # the first part of names in the home's archive
ARCHIVE_TOP = "agent-home"


@dataclass(frozen=True)
class LoginFile:
    """One file copied into a new session's home: `path` relative to the home."""

    path: str
    data: bytes = field(repr=False)


def _json_object(data: bytes) -> dict[str, Any] | None:
    """`data` as a JSON object, or None when it is anything else."""
    try:
        config = json.loads(data)
    except ValueError:
        return None
    return config if isinstance(config, dict) else None


def claude_account(data: bytes) -> dict[str, Any] | None:
    """The account and onboarding keys of a ~/.claude.json (maybe none), or None when it is not
    a JSON object."""
    config = _json_object(data)
    if config is None:
        return None
    return {k: config[k] for k in CLAUDE_ACCOUNT_KEYS if k in config}


def gemini_auth(data: bytes) -> dict[str, Any] | None:
    """The auth choice of a Gemini CLI settings.json (maybe none), or None when it is not a
    JSON object: `security.auth.selectedType` and the older `selectedAuthType`."""
    config = _json_object(data)
    if config is None:
        return None
    kept: dict[str, Any] = {}
    security = config.get("security")
    auth = security.get("auth") if isinstance(security, dict) else None
    if isinstance(auth, dict) and "selectedType" in auth:
        kept["security"] = {"auth": {"selectedType": auth["selectedType"]}}
    if "selectedAuthType" in config:
        kept["selectedAuthType"] = config["selectedAuthType"]
    return kept


def copilot_account(data: bytes) -> dict[str, Any] | None:
    """The accounts and tokens of a Copilot CLI config.json (maybe none), or None when it is
    not a JSON object."""
    config = _json_object(data)
    if config is None:
        return None
    return {k: config[k] for k in COPILOT_ACCOUNT_KEYS if k in config}


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The file's bytes when it is a regular file (symlinks followed: the user's own dotfiles
    may be links) within `limit`; None when it does not exist. OSError for the rest."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{path} is not a regular file")
    if st.st_size > limit:
        raise OSError(f"{path} is larger than {limit >> 20} MiB")
    # O_NONBLOCK: a FIFO put there since the stat cannot hang the open.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{path} is larger than {limit >> 20} MiB")
    return data


def login_files(home: Path) -> tuple[list[LoginFile], list[str]]:
    """What a new session's home gets from the host user's `home`, and warnings about login
    files that could not be used."""
    files: list[LoginFile] = []
    warnings: list[str] = []
    for rel in LOGIN_COPIES:
        try:
            data = _read_regular(home / rel, LOGIN_FILE_LIMIT)
        except OSError as exc:
            warnings.append(f"login not copied into the session: {exc.strerror or exc}")
            continue
        if data is not None:
            files.append(LoginFile(rel, data))
    for rel, keep, agent in (
        (GEMINI_SETTINGS, gemini_auth, "Gemini CLI's auth choice"),
        (COPILOT_CONFIG, copilot_account, "Copilot CLI's account"),
    ):
        try:
            data = _read_regular(home / rel, LOGIN_FILE_LIMIT)
        except OSError as exc:
            warnings.append(f"{agent} not copied into the session: {exc.strerror or exc}")
            continue
        if data is None:
            continue
        kept = keep(data)
        if kept is None:
            warnings.append(
                f"{home / rel} is not a JSON object: {agent} not copied into the session"
            )
        elif kept:
            files.append(LoginFile(rel, json.dumps(kept, indent=2).encode() + b"\n"))
    try:
        config = _read_regular(home / CLAUDE_CONFIG, CONFIG_LIMIT)
    except OSError as exc:
        warnings.append(f"Claude Code account not copied into the session: {exc.strerror or exc}")
        config = None
    if config is not None:
        account = claude_account(config)
        if account is None:
            warnings.append(
                f"{home / CLAUDE_CONFIG} is not a JSON object: Claude Code account not copied "
                "into the session"
            )
        elif account:  # none: never logged in on this host
            data = json.dumps(account, indent=2).encode() + b"\n"
            files.append(LoginFile(CLAUDE_CONFIG, data))
    return files, warnings


# -- into a new session ----------------------------------------------------------------------


def seed_archive(files: list[LoginFile], uid: int, gid: int) -> bytes:
    """A tar to put at `/`: the home, the folders of the files (0700) and the files (0600), all
    owned by the agent."""
    import tarfile

    top = AGENT_HOME.lstrip("/")
    buf = io.BytesIO()
    made: set[str] = set()

    def add(name: str, mode: int, data: bytes | None = None) -> None:
        info = tarfile.TarInfo(name)
        info.uid, info.gid, info.mode = uid, gid, mode
        info.mtime = int(datetime.now(UTC).timestamp())
        if data is None:
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add(top, 0o755)
        for f in files:
            parts = f.path.split("/")
            for i in range(1, len(parts)):
                folder = "/".join([top, *parts[:i]])
                if folder not in made:
                    made.add(folder)
                    add(folder, 0o700)
            add(f"{top}/{f.path}", 0o600, f.data)
    return buf.getvalue()


def seed(api: APIClient, container_id: str, files: list[LoginFile], uid: int, gid: int) -> None:
    """Copy the login files into a created (not yet started) container's home."""
    url = api._url("/containers/{0}/archive", container_id)
    with engine_errors("copying the agent's login into the session"):
        res = api._put(
            url,
            params={"path": "/", "noOverwriteDirNonDir": "1"},
            data=seed_archive(files, uid, gid),
        )
        api._raise_for_status(res)


# -- out of a session, on destroy ------------------------------------------------------------


class _ReadCap(Exception):
    pass


class _Counted(io.RawIOBase):
    """The engine's response, read at most `budget[0]` bytes in all (shared over requests)."""

    def __init__(self, raw: Any, budget: list[int]) -> None:
        self.raw, self.budget = raw, budget

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.budget[0] <= 0:
            raise _ReadCap
        want = self.budget[0] if size is None or size < 0 else min(size, self.budget[0])
        data = self.raw.read(want) or b""
        self.budget[0] -= len(data)
        return bytes(data)


@dataclass
class _Audit:
    """What went into the archive and what was left out, and why."""

    keep_left: int = AUDIT_KEEP_LIMIT
    read_left: list[int] = field(default_factory=lambda: [AUDIT_READ_LIMIT])
    members: int = 0
    seen: set[str] = field(default_factory=set)
    left_out: dict[str, list[str]] = field(default_factory=dict)
    truncated: bool = False

    def leave_out(self, reason: str, rel: str) -> None:
        names = self.left_out.setdefault(reason, [])
        if len(names) < AUDIT_LISTED:
            names.append(rel)

    def note(self, session: str, shared: list[str]) -> bytes:
        return (
            json.dumps(
                {
                    "session": session,
                    "home": AGENT_HOME,
                    "shared_with_host_not_archived": shared,
                    "left_out": self.left_out,
                    "caches_not_archived": list(AUDIT_CACHES),
                    "truncated": self.truncated,
                },
                indent=2,
            ).encode()
            + b"\n"
        )


def _relative(name: str, top: str) -> str | None:
    """`name` of a member of the archive of `/home/agent/<top>` (its first part is `top`),
    relative to the home; None for a name that is not plain."""
    parts = name.split("/")
    if not parts or parts[0] != top:
        return None
    rest = [p for p in parts[1:] if p != ""]
    if any(p in (".", "..") for p in rest):
        return None
    if top == HOME_TOP:
        return "/".join(rest)
    return "/".join([top, *rest])


def _under(rel: str, prefixes: tuple[str, ...] | list[str]) -> bool:
    return any(rel == p or rel.startswith(p + "/") for p in prefixes)


def _secret(rel: str) -> bool:
    return _under(rel, AUDIT_SECRETS)


def _without_secrets(data: bytes) -> bytes | None:
    """A ~/.claude.json (or a backup of it) without its credential keys; None if unreadable."""
    config = _json_object(data)
    if config is None:
        return None
    for key in CLAUDE_SECRET_KEYS:
        config.pop(key, None)
    return json.dumps(config, indent=2).encode() + b"\n"


def _copy_members(
    tar: tarfile.TarFile,
    out: tarfile.TarFile,
    top: str,
    audit: _Audit,
    skip: list[str],
) -> None:
    """Plain files and directories of `tar` into `out`, under ARCHIVE_TOP, with clean modes and
    no owner; everything else is noted and left out."""
    import tarfile

    for member in tar:
        audit.members += 1
        if audit.members > AUDIT_MEMBERS:
            audit.truncated = True
            return
        rel = _relative(member.name, top)
        if rel is None:
            audit.leave_out("odd names", repr(member.name)[:200])
            continue
        if not rel or _under(rel, skip) or rel in audit.seen:
            continue
        if _under(rel, AUDIT_CACHES):
            continue
        if _secret(rel):
            audit.leave_out("credentials", rel)
            continue
        info = tarfile.TarInfo(f"{ARCHIVE_TOP}/{rel}")
        info.mtime = max(0, int(member.mtime))
        if member.isdir():
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            audit.seen.add(rel)
            out.addfile(info)
            continue
        if not member.isreg():
            kind = "links" if member.issym() or member.islnk() else "special files"
            audit.leave_out(kind, rel)
            continue
        if member.size > audit.keep_left:
            audit.leave_out("too large", rel)
            audit.truncated = True
            continue
        src = tar.extractfile(member)
        if src is None:
            continue
        info.mode = 0o755 if member.mode & 0o100 else 0o644
        base = posixpath.basename(rel)
        if base.startswith(".claude.json"):  # the config and its backups hold the API key
            cleaned = _without_secrets(src.read()) if member.size <= CONFIG_LIMIT else None
            if cleaned is None:
                audit.leave_out("credentials (unreadable Claude config)", rel)
                continue
            info.size = len(cleaned)
            out.addfile(info, io.BytesIO(cleaned))
        else:
            info.size = member.size
            out.addfile(info, src)
        audit.keep_left -= info.size
        audit.seen.add(rel)


@contextlib.contextmanager
def _archive(api: APIClient, container_id: str, path: str) -> Iterator[IO[bytes] | None]:
    """The engine's tar stream of `path` in the container (stopped or running), or None when
    the path does not exist there."""
    url = api._url("/containers/{0}/archive", container_id)
    with engine_errors(f"reading {path} of the session"):
        res = api._get(
            url, params={"path": path}, stream=True, headers={"Accept-Encoding": "identity"}
        )
    try:
        if res.status_code == 404:
            yield None
            return
        with engine_errors(f"reading {path} of the session"):
            api._raise_for_status(res)
        yield res.raw
    finally:
        res.close()


def _shared_paths(api: APIClient, container_id: str) -> list[str]:
    """Paths in the home that are mounts (a shared home's host folders): never archived."""
    with engine_errors("inspecting the session"):
        attrs = api.inspect_container(container_id)
    prefix = AGENT_HOME + "/"
    return sorted(
        m["Destination"][len(prefix) :]
        for m in attrs.get("Mounts") or []
        if str(m.get("Destination", "")).startswith(prefix)
    )


def _read_into(
    api: APIClient, container_id: str, out: tarfile.TarFile, audit: _Audit, shared: list[str]
) -> bool:
    """The home's files into `out`; False when the container has no agent home."""
    import tarfile

    first = [n for n in AUDIT_FIRST if not _under(n, shared)]
    passes = [(f"{AGENT_HOME}/{n}", n, shared) for n in first]
    passes.append((AGENT_HOME, HOME_TOP, [*shared, *first]))  # then the rest, once
    found = False
    for source, top, skip in passes:
        with _archive(api, container_id, source) as raw:
            if raw is None:
                continue
            found = True
            try:
                with tarfile.open(fileobj=_Counted(raw, audit.read_left), mode="r|") as tar:
                    _copy_members(tar, out, top, audit, skip)
            except _ReadCap:
                audit.truncated = True
                return found
            except ClaudexError:
                raise
            except Exception as exc:  # a broken archive, a dropped connection, a full disk
                raise ClaudexError(f"saving {source} of the session: {exc}") from None
    return found


def save_home(api: APIClient, session: SessionInfo, directory: Path | None = None) -> Path | None:
    """The session's agent home as `<name>-<time>-home.tar.gz` in the audit folder (0600: it
    holds transcripts); its path, or None when the session has no agent home."""
    import tarfile

    from container.state import state_dir

    shared = _shared_paths(api, session.id)
    audit = _Audit()
    folder = directory or state_dir() / "audit"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{session.name}-{stamp}-home.tar.gz"
    part = path.with_name(path.name + ".part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    try:
        with (
            os.fdopen(os.open(part, flags, 0o600), "wb") as fh,
            tarfile.open(fileobj=fh, mode="w:gz", compresslevel=6) as out,
        ):
            if not _read_into(api, session.id, out, audit, shared):
                return None
            note = audit.note(session.name, shared)
            info = tarfile.TarInfo(NOTE_NAME)
            info.size, info.mode = len(note), 0o644
            info.mtime = int(datetime.now(UTC).timestamp())
            out.addfile(info, io.BytesIO(note))
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return path
