"""Isolated sessions: each read-write directory is given to the session as its own copy.

Layout, under `$XDG_DATA_HOME/claudex/isolated/<session>/` (host side, 0700):

    work/<n>-<name>/   the session's copy, bind-mounted where the directory would be
    base/<n>-<name>/   the user's files as they were copied: never mounted, so the agent
                       cannot change what `claudex apply` takes as the common ancestor
                       (container.isolated_base: a commit, hard links, or a copy)

A git repository's copy is a clone sharing its objects (`git clone --shared`: alternates,
nothing written to the user's `.git`) on branch `claudex/<session>`, checked out from the base
commit (uncommitted and untracked files included; ignored ones copied beside); the user's
`.git/objects` is bound read-only at its own path so the clone's alternates resolve inside
the session too. Anything else is a plain copy (`cp -a --reflink=auto`, one cp per core). Git
only ever runs here on the user's own repository, on claudex's base repository and on the
clone before the session starts; never on a copy the agent has had.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from container import labels
from container.agent_home import AGENT_HOME
from container.errors import ClaudexError, SessionConflict, UsageError
from container.host_entries import HostFS
from container.isolated_base import (
    check_out,
    link_base,
    make_git_base,
    read_ignored,
    record_stamps,
)
from container.local_fs import LOCAL
from container.mount_targets import WORKSPACE
from container.mounts import MountPlan, MountSpec, git_guards
from container.naming import kebab, parallel_name, session_name, valid_container_name
from container.sizes import human_bytes

if TYPE_CHECKING:
    from container.isolated_remote import EngineCopies
    from container.session_spec import StartRequest
    from container.sessions import Sessions

COPY_MARGIN = 64 << 20  # bytes kept free beyond the copies (git's own files, the disk's slack)
GIT_TIMEOUT = 600.0
# Container paths the user's `.git/objects` may not be bound at (the clone then holds a full
# copy of the objects instead of sharing them).
RESERVED = (WORKSPACE, AGENT_HOME, "/var/lib/claudex", "/run", "/proc", "/sys", "/dev", "/etc",
            "/usr", "/bin", "/sbin", "/lib", "/lib64", "/root", "/opt/claudex")  # fmt: skip


def isolated_root() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local/share")
    return Path(base) / "claudex" / "isolated"


def session_folder(name: str) -> Path:
    return isolated_root() / name


def copies_of(session_labels: dict[str, str]) -> dict[str, str]:
    """User directory -> the session's copy, from the label claudex set at create (the agent
    cannot change labels); {} for a session that works on the directories themselves."""
    try:
        data = json.loads(session_labels.get(labels.ISOLATED) or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def base_of(copy: str) -> str:
    """The base kept beside a copy: `.../<session>/work/<n>` -> `.../<session>/base/<n>`."""
    work = os.path.dirname(copy)
    return os.path.join(os.path.dirname(work), "base", os.path.basename(copy))


def check_copy_path(session: str, copy: str) -> None:
    """A copy named by a label must be one claudex made for that session, in its layout."""
    parts = Path(copy).parts
    if (
        not os.path.isabs(copy)
        or len(parts) < 4
        or parts[-2] != "work"
        or parts[-3] != session
        or parts[-4] != "isolated"
        or ".." in parts
    ):
        raise ClaudexError(
            f"session {session}: its copy {copy!r} is not in claudex's layout",
            "was the session made by this claudex?",
        )


# -- disk space -----------------------------------------------------------------------------


def usage(directory: str, skip_git: bool) -> int:
    """Bytes the files under `directory` occupy (links not followed; the top `.git` left out
    when `skip_git`: the clone shares it)."""
    total = 0
    pending = [directory]
    while pending:
        path = pending.pop()
        try:
            with os.scandir(path) as entries:
                for e in entries:
                    if skip_git and path == directory and e.name == ".git":
                        continue
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += st.st_blocks * 512
                    if stat.S_ISDIR(st.st_mode):
                        pending.append(e.path)
        except OSError:
            continue
    return total


def space_problem(needed: int, free: int, where: str) -> str | None:
    """The message when copies of `needed` bytes do not fit in `free` bytes at `where`."""
    if needed + COPY_MARGIN <= free:
        return None
    return (
        f"not enough disk space for the isolated copy: it needs {human_bytes(needed)} in "
        f"{where}, {human_bytes(free)} free"
    )


def needed_bytes(directory: str, folder: Path) -> int:
    """What a copy of `directory` and its base take in `folder`: the copy's files (the top
    `.git` of a repository is shared, not copied); a repository's base is a commit that
    borrows its objects and a plain directory's base is hard links on the same file system,
    nearly nothing either way; elsewhere the base is a second copy. (A base that turns out
    to need a copy after all is checked again before it is made: `_check_space`.)"""
    git = git_head(directory) is not None
    files = usage(directory, skip_git=git)
    if git:
        return files
    probe = folder
    while not probe.exists():
        probe = probe.parent
    try:
        linked = os.stat(directory).st_dev == os.stat(probe).st_dev
    except OSError:
        linked = False
    return files if linked else 2 * files


def _check_space(directory: str, dest: str, skip_git: bool) -> None:
    """Before a base that must be a copy after all (links refused, a repository git cannot
    copy exactly) is made: do it and the session's copy (made after it) fit?"""
    problem = space_problem(2 * usage(directory, skip_git), free_bytes(Path(dest)), dest)
    if problem:
        raise ClaudexError(problem, "free some space, or point XDG_DATA_HOME at a larger disk")


def free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    st = os.statvfs(probe)
    return st.f_bavail * st.f_frsize


# -- making the copies ----------------------------------------------------------------------


def _git_env() -> dict[str, str]:
    """Nothing of the caller's GIT_* (GIT_DIR would point every command elsewhere), nor of
    the machine's or the user's git config (nothing here needs it). A local clone checks the
    source's owner against the global config only: claudex run as root copies the
    directories of the user the agent runs as."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    config = isolated_root().parent / "gitconfig"
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("[safe]\n\tdirectory = *\n")
    env["GIT_CONFIG_GLOBAL"] = str(config)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


def _git(
    *args: str, cwd: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """git on the user's repository or on a clone the agent has not had yet."""
    cmd = ["git", "-c", "safe.directory=*", "-c", "core.fsmonitor=false"]
    cmd += ["-c", "core.hooksPath=/dev/null", *args]
    try:
        return subprocess.run(
            cmd,
            cwd=cwd,
            env={**_git_env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClaudexError(f"git failed: {exc}") from None


def _run(cmd: Sequence[str], what: str) -> None:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ClaudexError(f"{what}: {exc}") from None
    if proc.returncode != 0:
        raise ClaudexError(f"{what}: {proc.stderr.strip() or f'exit code {proc.returncode}'}")


def git_head(directory: str) -> str | None:
    """The commit checked out in `directory` when it is the top of a git repository with one."""
    dot_git = os.path.join(directory, ".git")
    if os.path.islink(dot_git) or not os.path.isdir(dot_git):
        return None
    proc = _git("-C", directory, "rev-parse", "--verify", "-q", "HEAD^{commit}")
    head = proc.stdout.strip()
    return head if proc.returncode == 0 and head else None


def shares_objects(directory: str) -> bool:
    """Whether a clone of `directory` can share its objects inside the session (they are bound
    at their own path, which must not be one the container uses)."""
    objects = os.path.join(directory, ".git", "objects")
    return not any(objects == r or objects.startswith(r + "/") for r in RESERVED)


def _copy_tree(source: str, dest: str, skip_git: bool) -> None:
    """`cp -a --reflink=auto` of what `source` holds into the folder `dest` (made here), its
    top entries shared between one cp per core (a copy of many small files waits on system
    calls, not on the disk)."""
    os.mkdir(dest, 0o700)
    names = sorted(n for n in os.listdir(source) if not (skip_git and n == ".git"))
    lanes = max(1, min(os.cpu_count() or 1, 8, len(names)))
    batches = [names[i::lanes] for i in range(lanes)]
    chunks = [b[s : s + 500] for b in batches for s in range(0, len(b), 500)]  # short argv
    procs: list[subprocess.Popen[str]] = []
    errors: list[str] = []
    try:
        for chunk in chunks:
            if len(procs) >= lanes:
                errors += _reap(procs.pop(0))
            cmd = ["cp", "-a", "--reflink=auto", "-t", dest, "--"]
            procs.append(
                subprocess.Popen(
                    [*cmd, *(os.path.join(source, n) for n in chunk)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        while procs:
            errors += _reap(procs.pop(0))
    except OSError as exc:
        raise ClaudexError(f"copying {source}: {exc}") from None
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    if errors:
        raise ClaudexError(f"copying {source}: {errors[0]}")
    st = os.stat(source)
    os.chmod(dest, stat.S_IMODE(st.st_mode))
    if os.geteuid() == 0:
        os.chown(dest, st.st_uid, st.st_gid)


def _reap(proc: subprocess.Popen[str]) -> list[str]:
    _out, err = proc.communicate()
    return [err.strip() or f"exit code {proc.returncode}"] if proc.returncode else []


def _chown_tree(path: str, uid: int, gid: int) -> None:
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for n in [*dirs, *files]:
            os.lchown(os.path.join(root, n), uid, gid)


def _copy_ignored(directory: str, work: str, base: str) -> None:
    """The files git ignores (node_modules, builds) copied into the session's copy too
    (`claudex apply` leaves them out)."""
    names = read_ignored(base)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        cmd = ["cp", "-a", "--reflink=auto", "--parents", "-t", work, "--", *chunk]
        try:
            proc = subprocess.run(cmd, cwd=directory, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise ClaudexError(f"copying {directory}: {exc}") from None
        if proc.returncode != 0:
            raise ClaudexError(f"copying {directory}: {proc.stderr.strip()}")


def make_copy(directory: str, work: str, base: str, session: str) -> str:
    """The session's copy of `directory` at `work` and the base at `base`; "git" (a clone
    sharing objects) or "copy"."""
    head = git_head(directory)
    if head is None:
        if link_base(directory, base):  # the base: links to your files, the copy: a copy
            _copy_tree(directory, work, skip_git=False)
        else:
            _check_space(directory, base, skip_git=False)
            _copy_tree(directory, base, skip_git=False)
            _copy_tree(base, work, skip_git=False)
        record_stamps(work, base)
        return "copy"
    commit = make_git_base(_git, directory, base, head)
    if commit is None:
        _check_space(directory, base, skip_git=True)
        _copy_tree(directory, base, skip_git=True)
    share = ["--shared"] if shares_objects(directory) else ["--no-hardlinks"]
    proc = _git("clone", *share, "--no-checkout", "--template=", "-q", "--", directory, work)
    if proc.returncode != 0:
        raise ClaudexError(f"cannot clone {directory}: {proc.stderr.strip()}")
    branch = f"refs/heads/claudex/{session}"
    for args in (
        ("update-ref", branch, head),
        ("symbolic-ref", "HEAD", branch),
        ("read-tree", head),  # the index as HEAD: `git status` shows what was uncommitted
    ):
        proc = _git("-C", work, *args)
        if proc.returncode != 0:
            raise ClaudexError(f"cannot prepare the clone of {directory}: {proc.stderr.strip()}")
    if commit is None:  # over the clone's checkout-less tree: its .git stays
        _run(["cp", "-a", "--reflink=auto", "-T", "--", base, work], f"copying {directory}")
    else:
        check_out(_git, base, commit, work)
        _copy_ignored(directory, work, base)
    if os.geteuid() == 0:  # what git wrote is ours: the agent runs as the directory's owner
        st = os.stat(directory)
        _chown_tree(os.path.join(work, ".git") if commit is None else work, st.st_uid, st.st_gid)
    record_stamps(work, base)
    return "git"


def copy_name(index: int, directory: str) -> str:
    return f"{index}-{kebab(os.path.basename(directory)) or 'dir'}"


def make_copies(session: str, dirs: Sequence[str], step: Callable[[str], None]) -> dict[str, str]:
    """Copies of `dirs` for `session` (user directory -> copy); nothing left on failure."""
    folder = session_folder(session)
    if folder.exists():
        raise SessionConflict(
            f"isolated copies named {session} are already at {folder}",
            f"apply what you want from them (`claudex apply --name {session}`), then remove "
            "that folder, or pick another --name",
        )
    needed = sum(needed_bytes(d, folder) for d in dirs)
    problem = space_problem(needed, free_bytes(folder), str(isolated_root()))
    if problem:
        raise ClaudexError(
            problem, "free some space, point XDG_DATA_HOME at a larger disk, or drop --isolated"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700)
    (folder / "work").mkdir(mode=0o700)
    (folder / "base").mkdir(mode=0o700)
    copies: dict[str, str] = {}
    try:
        for i, d in enumerate(dirs):
            name = copy_name(i, d)
            work, base = str(folder / "work" / name), str(folder / "base" / name)
            kind = make_copy(d, work, base, session)
            step(
                f"isolated copy of {d}: "
                + (f"a clone on branch claudex/{session}" if kind == "git" else "a copy")
            )
            copies[d] = work
    except BaseException:
        discard(session)
        raise
    return copies


def discard(session: str) -> None:
    """Remove a session's copies and base (after a failed start, or when it is destroyed)."""
    folder = session_folder(session)
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def discard_unused(
    sessions: Sessions, session: str, engine_copies: EngineCopies | None = None
) -> None:
    """Discard the copies made for a session whose create failed (none of that name); on a
    remote engine's host through `engine_copies`."""
    try:
        if _existing(sessions, session) is None:
            if engine_copies is not None:
                engine_copies.discard(session)
            else:
                discard(session)
    except ClaudexError:
        pass  # the engine cannot say: the copies stay (`claudex apply` still reads them)


# -- the request ----------------------------------------------------------------------------


def isolated_plan(
    plan: MountPlan,
    copies: dict[str, str],
    git_writable: bool = False,
    fs: HostFS = LOCAL,
    shared: Collection[str] | None = None,
) -> MountPlan:
    """`plan` with each copied directory's mount taken from its copy: its git guards are the
    copy's (the user's `.git` is never bound), and a shared clone reads the user's objects
    through a read-only bind at their own path. `fs` is the copies' host, `shared` the
    directories whose objects are shared (None: found here, for copies on this machine)."""

    def inside(path: str, d: str) -> bool:
        return path == d or path.startswith(d.rstrip("/") + "/")

    targets = plan.dir_targets()
    mounts: list[MountSpec] = []
    for m in plan.mounts:
        if m.role == "dir" and m.source in copies:
            mounts.append(replace(m, source=copies[m.source]))
        elif m.role == "git-guard" and any(inside(m.source, d) for d in copies):
            continue
        else:
            mounts.append(m)
    for d, copy in copies.items():
        if not git_writable:
            mounts += git_guards(copy, targets[d], fs)[0]
        objects = os.path.join(d, ".git", "objects")
        if shared is not None:
            if d in shared:
                mounts.append(MountSpec(objects, objects, True, "isolated-objects"))
        elif git_head(d) and shares_objects(d) and os.path.isdir(objects):
            mounts.append(MountSpec(objects, objects, True, "isolated-objects"))
    return replace(plan, mounts=mounts)


def _existing(sessions: Sessions, name: str) -> labels.SessionInfo | None:
    from container.errors import SessionNotFound

    try:
        return sessions.get(name)
    except SessionNotFound:
        return None


def isolate_request(
    sessions: Sessions,
    req: StartRequest,
    *,
    want: bool,
    git_writable: bool = False,
    remote: bool = False,
    step: Callable[[str], None] = lambda _m: None,
    engine_copies: EngineCopies | None = None,
) -> tuple[StartRequest, bool]:
    """The request with the session's copies in place of its read-write directories, and
    whether copies were made now (the caller discards them if the start fails).

    An isolated session that exists is reused with its copies; `want` makes new copies for
    a new session (its final name is chosen here: the copies are named after it). On a
    remote engine the copies are made on its host by `engine_copies` (refused without)."""
    far = engine_copies if remote else None
    plan = req.plan
    name = req.name or session_name(plan.dirs)
    if not valid_container_name(name):
        raise UsageError(
            f"invalid session name {name!r}",
            "use letters, digits, '_', '.' and '-' (starting with a letter or digit)",
        )
    existing = None if req.parallel else _existing(sessions, name)
    if existing is not None and copies_of(existing.labels):
        if req.replace:
            raise SessionConflict(
                f"{name} is an isolated session: --replace would lose its copies",
                f"apply what you want (`claudex apply --name {name}`), destroy it, then start "
                "again",
            )
        copies = copies_of(existing.labels)
        # (with its label: a session that never ran is made again, with the same copies)
        if remote and far is None:
            raise UsageError(
                f"{name} is an isolated session on a remote engine: it cannot be started from here",
                "start it with `claudex` on the command line",
            )
        if far is None:
            found = isolated_plan(plan, copies, git_writable)
        else:
            found = isolated_plan(plan, copies, git_writable, far.fs, far.shared(list(copies)))
        new = replace(req, name=name, plan=found)
        return replace(new, isolated=copies), False
    if not want:
        return req, False
    if existing is not None and not req.replace:
        raise SessionConflict(
            f"session {name} works on your directories themselves, not on copies",
            "add --parallel for an isolated session beside it, or --replace to recreate it "
            "isolated",
        )
    if remote and far is None:
        raise UsageError(
            "--isolated is not available yet for sessions on a remote engine from here",
            "start it with `claudex DIR --isolated` on the command line, or without --isolated",
        )
    if req.parallel:
        taken = [s.name for s in sessions.list_sessions(name_glob=f"{name}*")]
        if far is not None:  # (a session's name is unique on its engine: copies follow it)
            name = parallel_name(name, taken) if name in taken else name
        elif name in taken or session_folder(name).exists():
            taken += [p.name for p in isolated_root().glob(f"{name}*")]
            name = parallel_name(name, taken)
    for d in plan.read_only_dirs:
        step(f"--isolated: {d} is read-only: mounted as it is, not copied")
    for m in plan.mounts:
        if m.role == "extra" and not m.read_only:
            step(f"--isolated: the config's mount {m.source} is shared read-write, not copied")
    writable = [d for d in plan.dirs if d not in plan.read_only_dirs]
    if not writable:
        return replace(req, name=name), False
    if far is None:
        copies = make_copies(name, writable, step)
        found = isolated_plan(plan, copies, git_writable)
    else:
        copies, shared = far.make_copies(name, writable, step)
        found = isolated_plan(plan, copies, git_writable, far.fs, shared)
    return replace(req, name=name, plan=found, isolated=copies), True
