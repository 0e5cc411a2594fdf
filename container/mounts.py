"""Which host paths a session mounts, where, how (ro/rw), and what stays hidden from the agent."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from container.agent_home import AGENT_HOME, LOGIN_PATHS, LoginFile, login_files
from container.errors import ClaudexError, UsageError
from container.host_entries import HostFS, HostStat
from container.local_fs import LOCAL
from container.mount_targets import default_targets, mount_conflicts

FALLBACK_UID = 1000


@dataclass(frozen=True)
class MountSpec:
    """One bind mount: host `source` at container `target`."""

    source: str
    target: str
    read_only: bool
    role: str = "dir"  # dir | env-mask | login | docker-socket


@dataclass
class MountPlan:
    """Everything mounted into one session, and the identity the agent runs as."""

    dirs: list[str]
    read_only_dirs: list[str]
    mounts: list[MountSpec]
    hidden_env_files: list[str] = field(default_factory=list)
    uid: int = FALLBACK_UID
    gid: int = FALLBACK_UID
    warnings: list[str] = field(default_factory=list)
    logins: list[LoginFile] = field(default_factory=list)
    """Login files copied into a new session's own agent home (see container.agent_home)."""

    def dir_targets(self) -> dict[str, str]:
        return {m.source: m.target for m in self.mounts if m.role == "dir"}


def check_dirs(paths: Sequence[str], fs: HostFS = LOCAL) -> dict[str, HostStat]:
    """Each path's stat on the engine's host; one clear error for a path that is missing, is
    not a directory, or (on a remote host) is not absolute."""
    where = f" on {fs.label}" if fs.remote else ""
    for raw in paths:
        if fs.remote and not posixpath.isabs(raw):
            raise UsageError(
                f"{raw}: directories on {fs.label} are named by their absolute path there",
                "e.g. /home/me/project",
            )
    found: dict[str, HostStat] = {}
    for raw, st in zip(paths, fs.stat_many(list(paths)), strict=True):
        if st is None:
            raise UsageError(
                f"directory not found{where}: {raw}",
                "check the path (flags go before or after directories; see `claudex --help`)",
            )
        if st.kind != "dir":
            raise UsageError(
                f"not a directory{where}: {raw}", "claudex mounts directories, not files"
            )
        found[raw] = st
    return found


def _env_files(directory: str, fs: HostFS) -> list[str]:
    """`.env` and `.env.*` regular files at the top of a directory."""
    try:
        entries = fs.list_dir(directory)
    except (OSError, ClaudexError):
        return []
    return sorted(
        posixpath.join(directory, e.name)
        for e in entries
        if (e.name == ".env" or e.name.startswith(".env.")) and e.kind == "file"
    )


def _owner(
    dirs: Sequence[str], read_only: set[str], stats: Mapping[str, HostStat], fs: HostFS
) -> tuple[int, int, list[str]]:
    """The uid/gid the agent runs as: the owner of the first writable mounted directory."""
    warnings: list[str] = []
    writable = [d for d in dirs if d not in read_only] or list(dirs)
    owners = {(stats[d].uid, stats[d].gid) for d in writable}
    uid, gid = stats[writable[0]].uid, stats[writable[0]].gid
    if len(owners) > 1:
        warnings.append(
            f"mounted directories have different owners; the agent runs as {uid}:{gid} "
            f"(owner of {writable[0]})"
        )
    if uid == 0:
        # On this machine, the user running claudex is the next best owner; elsewhere unknown.
        local_uid = 0 if fs.remote else os.getuid()
        fallback = local_uid or FALLBACK_UID
        warnings.append(
            f"{writable[0]} is owned by root; the agent never runs as root, so it runs as "
            f"uid {fallback} and may be unable to write there"
        )
        uid = fallback
        gid = os.getgid() if local_uid else FALLBACK_UID
    if gid == 0:
        # Root's group reads and writes root's group-owned files: never the agent's.
        warnings.append(
            f"{writable[0]} belongs to group root; the agent runs in group {uid} instead"
        )
        gid = uid
    return uid, gid, warnings


def _canonical_local(path: str, fs: HostFS) -> str:
    return path if fs.remote else os.path.realpath(os.path.abspath(path))


def plan_mounts(
    dirs: Sequence[str],
    read_only: Sequence[str] = (),
    *,
    expose_env_files: bool = False,
    empty_file: str | None = None,
    home: str | None = None,
    docker_socket: bool = False,
    share_agent_home: bool = False,
    git_writable: bool = False,
    extra: Sequence[tuple[str, bool]] = (),
    targets: Mapping[str, str] | None = None,
    fs: HostFS = LOCAL,
) -> MountPlan:
    """Resolve the directories and lay out every mount of the session.

    `extra` (path, read_only) pairs come from the config: mounted, but not part of the
    session's identity (signature and mounts label). `targets` replaces the default target
    of some directories (the dashboard's mount picker lets the user name them).

    `fs` is the file system of the engine's host: on a remote one, the directories are that
    host's, and this machine's login files and the config's extra mounts are left out.

    The agent's logins are copied (`logins`) into the session's own home; `share_agent_home`
    bind-mounts the host's login folders read-write instead.

    The git repositories in writable directories get read-only `.git/config`, hooks and info
    (`git_guards`), unless `git_writable`.
    """
    warnings: list[str] = []
    if fs.remote and extra:
        warnings.append(
            f"the config's extra mounts name files of this machine: not mounted on {fs.label}"
        )
        extra = ()
    stats = check_dirs([*dirs, *read_only, *(p for p, _ in extra)], fs)

    def canonical(paths: Sequence[str]) -> list[str]:
        return sorted({stats[p].real for p in paths})

    ro = set(canonical(read_only))
    all_dirs = canonical([*dirs, *read_only])
    real = {stats[p].real: stats[p] for p in stats}
    extra_dirs = {stats[p].real: r for p, r in extra if stats[p].real not in all_dirs}
    chosen = {
        d: t
        for p, t in (targets or {}).items()
        for d in [stats[p].real if p in stats else _canonical_local(p, fs)]
        if d in all_dirs
    }
    where = {**default_targets([*all_dirs, *extra_dirs]), **chosen}
    if chosen:
        for d, problem in mount_conflicts({d: where[d] for d in all_dirs}).items():
            raise UsageError(f"cannot mount {d} at {where[d]}: {problem}")
        taken = {where[d]: d for d in all_dirs}
        for d in extra_dirs:
            if where[d] in taken:  # default names are distinct; chosen ones may not be
                raise UsageError(
                    f"{where[d]} is the target of {taken[where[d]]} and of the config's mount {d}",
                    "pick another target",
                )
    mounts = [MountSpec(d, where[d], d in ro) for d in all_dirs]
    mounts += [MountSpec(d, where[d], r, "extra") for d, r in extra_dirs.items()]
    uid, gid, owner_warnings = _owner(all_dirs, ro, real, fs)
    warnings += owner_warnings

    hidden: list[str] = []
    if not expose_env_files:
        for d in all_dirs:
            for path in _env_files(d, fs):
                hidden.append(path)
                if empty_file:
                    target = f"{where[d]}/{posixpath.basename(path)}"
                    mounts.append(MountSpec(empty_file, target, True, "env-mask"))

    if not git_writable:
        writable = [d for d in all_dirs if d not in ro]
        writable += [d for d, r in extra_dirs.items() if not r]  # the config's, read-write
        for d in writable:
            guards, guard_warnings = git_guards(d, where[d], fs)
            mounts += guards
            warnings += guard_warnings

    logins: list[LoginFile] = []
    if not fs.remote:  # logins live on this machine; a remote session logs in inside
        home_dir = Path(home or os.path.expanduser("~"))
        if share_agent_home:  # the old way: every session reads and writes the host's folders
            for name in LOGIN_PATHS:
                login = home_dir / name
                if login.exists():
                    mounts.append(MountSpec(str(login), f"{AGENT_HOME}/{name}", False, "login"))
        else:  # copies of what logging in needs, in the session's own home
            logins, login_warnings = login_files(home_dir)
            warnings += login_warnings

    if docker_socket:
        sock = "/var/run/docker.sock"
        found = fs.stat(sock)
        if found is None or found.kind != "socket":
            machine = fs.label if fs.remote else "this machine"
            raise UsageError(f"--docker-socket: {sock} is not a socket on {machine}")
        mounts.append(MountSpec(sock, sock, False, "docker-socket"))

    return MountPlan(
        dirs=all_dirs,
        read_only_dirs=sorted(ro),
        mounts=mounts,
        hidden_env_files=hidden,
        uid=uid,
        gid=gid,
        warnings=warnings,
        logins=logins,
    )


# -- what the host's git runs: kept read-only in the session ----------------------------------
#
# A repository the agent can write is a repository whose next `git status` on the host runs
# what the agent wrote: `core.fsmonitor` in .git/config, a hook, a `.git` file pointing at a
# gitdir of its making. For each repository at the top of a writable directory or in one of
# its first-level subdirectories (deeper ones are named by `claudex diff` when they change,
# not protected), these are bound read-only over themselves: .git/config, .git/hooks,
# .git/info, .git/config.worktree and .git/commondir when present, the same in each submodule
# gitdir under .git/modules, the `.git` files of submodules (`.gitmodules` paths), and the
# folder that `core.hooksPath` names when it lies in the directory. The `.git` directory is
# bound over itself (read-write: commits, branches and stashes work) so that it cannot be
# renamed away and replaced. A file that does not exist cannot be bound (Docker would create
# it, on the host): `.git/commondir` made in the session is reported by `claudex diff`.

GIT_GUARD_REPOS_MAX = 64  # repositories per mounted directory
GIT_GUARD_MODULES_MAX = 256  # submodule gitdirs per repository
GIT_DIR_GUARDED = ("config", "hooks", "info", "config.worktree", "commondir")


def git_guards(
    directory: str, target: str, fs: HostFS = LOCAL
) -> tuple[list[MountSpec], list[str]]:
    """The read-only binds that keep the repositories in `directory` (mounted at `target`)
    from running the agent's programs on the host, and warnings about what is not kept."""
    try:
        entries = fs.list_dir(directory)
    except (OSError, ClaudexError):
        return [], []

    def place(real: str) -> str | None:
        """Where a host path (links resolved) is in the session, if in this directory."""
        if real == directory:
            return target
        if real.startswith(directory.rstrip("/") + "/"):
            return target + real[len(directory.rstrip("/")) :]
        return None

    subdirs = sorted(e.name for e in entries if e.kind == "dir" and e.name != ".git")
    folders = ["", *subdirs]
    found = fs.stat_many([posixpath.join(directory, f, ".git") for f in folders])
    repos = [(f, st) for f, st in zip(folders, found, strict=True) if st is not None]
    warnings: list[str] = []
    if len(repos) > GIT_GUARD_REPOS_MAX:
        warnings.append(
            f"{directory} holds {len(repos)} git repositories: the .git of the first "
            f"{GIT_GUARD_REPOS_MAX} are protected, the others are writable by the agent"
        )
        repos = repos[:GIT_GUARD_REPOS_MAX]
    mounts: list[MountSpec] = []
    for folder, st in repos:
        host = posixpath.join(directory, folder) if folder else directory
        dot_git = f"{host}/.git"
        if st.real != dot_git:
            warnings.append(f"{dot_git} is a symbolic link: the agent can write what it leads to")
            continue
        inside = f"{place(host)}/.git"
        if st.kind == "file":  # a worktree's or submodule's pointer to its gitdir
            mounts.append(MountSpec(dot_git, inside, True, "git-guard"))
            continue
        if st.kind != "dir":
            continue
        mounts.append(MountSpec(dot_git, inside, False, "git-guard"))
        mounts += _guard_git_dir(dot_git, place, fs)
        mounts += _guard_modules(dot_git, place, fs)
        more, more_warnings = _guard_work_tree(host, place, fs)
        mounts += more
        warnings += more_warnings
    unique: dict[str, MountSpec] = {}
    for m in mounts:
        unique.setdefault(m.target, m)
    return list(unique.values()), warnings


Place = Callable[[str], "str | None"]


def _read_only(real: str, place: Place) -> list[MountSpec]:
    """A read-only bind of `real` over itself in the session (nothing when it is not there)."""
    inside = place(real)
    return [MountSpec(real, inside, True, "git-guard")] if inside else []


def _guard_git_dir(git_dir: str, place: Place, fs: HostFS) -> list[MountSpec]:
    """Read-only binds of what exists of GIT_DIR_GUARDED in one gitdir (where a link leads,
    when that is in the directory too)."""
    paths = [f"{git_dir}/{name}" for name in GIT_DIR_GUARDED]
    mounts: list[MountSpec] = []
    for st in fs.stat_many(paths):
        if st is not None:
            mounts += _read_only(st.real, place)
    return mounts


def _guard_modules(git_dir: str, place: Place, fs: HostFS) -> list[MountSpec]:
    """The same for each submodule gitdir under .git/modules (names may hold slashes; a
    gitdir may hold modules of its own)."""
    mounts: list[MountSpec] = []
    pending = [(f"{git_dir}/modules", 0)]
    seen = 0
    while pending and seen < GIT_GUARD_MODULES_MAX:
        path, depth = pending.pop()
        try:
            entries = fs.list_dir(path)
        except (OSError, ClaudexError):
            continue
        names = {e.name for e in entries}
        if "HEAD" in names and "config" in names:  # a gitdir
            seen += 1
            mounts += _guard_git_dir(path, place, fs)
            if "modules" in names and depth < 8:
                pending.append((f"{path}/modules", depth + 1))
            continue
        if depth < 8:
            pending += [(f"{path}/{e.name}", depth + 1) for e in entries if e.kind == "dir"]
    return mounts


def _guard_work_tree(host: str, place: Place, fs: HostFS) -> tuple[list[MountSpec], list[str]]:
    """In the work tree: submodules' `.git` files, and the hooks folder of core.hooksPath."""
    mounts: list[MountSpec] = []
    warnings: list[str] = []
    paths = [f"{host}/{p}/.git" for p in _gitmodules_paths(_read(fs, f"{host}/.gitmodules"))]
    for path, st in zip(paths, fs.stat_many(paths), strict=True):
        if st is not None and st.kind == "file" and st.real == path:
            mounts += _read_only(path, place)
    hooks = _config_value(_read(fs, f"{host}/.git/config"), "core", "hookspath")
    if hooks:
        where = posixpath.normpath(posixpath.join(host, os.path.expanduser(hooks)))
        st = fs.stat(where)
        if st is not None and place(st.real):
            mounts += _read_only(st.real, place)
        elif place(where):
            warnings.append(
                f"{host}: core.hooksPath is {hooks}, in the mounted directory but not there "
                "yet: the agent can create hooks there that your git would run"
            )
    return mounts, warnings


def _read(fs: HostFS, path: str) -> str:
    try:
        return fs.read_text(path) or ""
    except (OSError, ClaudexError):
        return ""


def _gitmodules_paths(text: str) -> list[str]:
    """The `path = ...` values of a .gitmodules file that name a place below the repository."""
    found = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() == "path":
            path = posixpath.normpath(value.strip().strip('"'))
            if path and not path.startswith(("/", "..")) and path != ".":
                found.append(path)
    return sorted(set(found))


def _config_value(text: str, section: str, key: str) -> str | None:
    """The last value of `section.key` in a git config file (enough for core.hooksPath: no
    subsections, no continuation lines)."""
    current = ""
    value = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            current = line[1 : line.find("]")].strip().lower() if "]" in line else ""
            continue
        name, sep, rest = line.partition("=")
        if sep and current == section and name.strip().lower() == key:
            rest = rest.split(" #", 1)[0].split(" ;", 1)[0].strip()
            value = rest[1:-1] if len(rest) > 1 and rest[0] == rest[-1] == '"' else rest
    return value
