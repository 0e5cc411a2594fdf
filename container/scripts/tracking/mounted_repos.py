"""The mounted repositories: their refs and the files in `.git` that make git run
programs, recorded at the baseline and compared for the report."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import subprocess
from typing import Any

from . import layout
from .agent_child import as_agent
from .errors import Failure
from .repository import baseline, ensure_repo

# -- the mounted repositories: refs and what makes git run programs ------------------------
#
# Read by a child that runs as the agent user (never root: the agent owns every path here),
# without git for the files (so nothing in them is run), and with git only to count commits,
# as the agent, with no user or system config and a time limit.

REPO_SUBDIRS_MAX = 200  # subdirectories of each mounted directory looked at for a .git
REFS_MAX = 20_000
GUARD_FILES_MAX = 5_000
REF_EVENTS_MAX = 30
AGENT_GIT_SECONDS = 10.0
# In a .git directory: files git reads as config or runs, by name or by the folder they are in.
GUARD_NAMES = {"config", "config.worktree", "commondir", "gitdir"}
GUARD_FOLDERS = {"hooks", "info"}
GUARD_PRUNE = {"objects", "refs", "logs", "lfs", "rr-cache"}


def _read_small(path: str, limit: int) -> bytes | None:
    """A regular file's first `limit` bytes, opened without following a link or waiting."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def _fingerprint(path: str) -> str:
    try:
        st = os.lstat(path)
    except OSError:
        return "missing"
    if stat.S_ISLNK(st.st_mode):
        return "link:" + os.fsdecode(os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if not stat.S_ISREG(st.st_mode):
        return "special"
    data = _read_small(path, 4 << 20)
    digest = hashlib.sha256(data).hexdigest() if data is not None else "unreadable"
    return f"{stat.S_IMODE(st.st_mode):o}:{st.st_size}:{digest}"


def _subdirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as it:
            found = [e.path for e in it if e.is_dir(follow_symlinks=False) and e.name != ".git"]
    except OSError:
        return []
    return sorted(found)


def _guard(git_dir: str) -> dict[str, str]:
    """Fingerprints of the files in a .git directory that git runs or reads as config."""
    out: dict[str, str] = {}
    seen = 0
    for dirpath, dirnames, filenames in os.walk(git_dir):
        rel_dir = os.path.relpath(dirpath, git_dir)
        folders = set() if rel_dir == "." else set(rel_dir.split(os.sep))
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(d for d in dirnames if d not in GUARD_PRUNE and d not in links)
        for name in sorted(filenames + links):
            seen += 1
            if seen > GUARD_FILES_MAX:
                out["..."] = "too many files to look at"
                return out
            if name in GUARD_NAMES or name in GUARD_FOLDERS or folders & GUARD_FOLDERS:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                out[rel] = _fingerprint(os.path.join(dirpath, name))
    return out


def _refs(git_dir: str) -> tuple[str | None, dict[str, str], str | None]:
    """HEAD, every ref (name -> value), and a note when they could not all be read."""
    head_data = _read_small(f"{git_dir}/HEAD", 512)
    head = head_data.decode(errors="replace").strip() if head_data is not None else None
    refs: dict[str, str] = {}
    note = None
    if os.path.isdir(f"{git_dir}/reftable"):
        note = "its refs are in the reftable format, which claudex does not read"
    packed = _read_small(f"{git_dir}/packed-refs", 64 << 20) or b""
    for line in packed.decode(errors="replace").splitlines():
        if line[:1] in ("#", "^") or " " not in line:
            continue
        value, name = line.split(" ", 1)
        refs[name] = value
    for dirpath, dirnames, filenames in os.walk(f"{git_dir}/refs"):
        dirnames.sort()
        for name in sorted(filenames):
            if len(refs) >= REFS_MAX:
                return head, refs, f"more than {REFS_MAX} refs: not all were read"
            path = os.path.join(dirpath, name)
            data = _read_small(path, 512)
            if data is not None:
                refs[os.path.relpath(path, git_dir)] = data.decode(errors="replace").strip()
    return head, refs, note


def repos_now() -> dict[str, dict[str, Any]]:
    """Each directory at the top of /workspace (the mounts) and each of their subdirectories
    that has a .git: what it is, its refs, the fingerprints of its guarded files."""
    repos: dict[str, dict[str, Any]] = {}
    for top in _subdirs(layout.WORK_TREE):
        for folder in [top, *_subdirs(top)[:REPO_SUBDIRS_MAX]]:
            dot_git = f"{folder}/.git"
            try:
                mode = os.lstat(dot_git).st_mode
            except OSError:
                continue
            name = os.path.relpath(folder, layout.WORK_TREE)
            if stat.S_ISDIR(mode):
                head, refs, note = _refs(dot_git)
                repos[name] = {
                    "kind": "dir",
                    "head": head,
                    "refs": refs,
                    "note": note,
                    "guard": _guard(dot_git),
                }
            else:
                repos[name] = {"kind": "file", "guard": {".git": _fingerprint(dot_git)}}
    return repos


def save_repos(uid: int, gid: int) -> None:
    try:
        data = as_agent(uid, gid, lambda _payload: json.dumps(repos_now()).encode(), b"")
        json.loads(data)
    except (Failure, ValueError) as exc:
        data = json.dumps({"error": str(exc)}).encode()
    with open(f"{layout.REPOS_FILE}.tmp", "wb") as fh:
        fh.write(data)
    os.replace(f"{layout.REPOS_FILE}.tmp", layout.REPOS_FILE)


def _agent_git(git_dir: str, *args: str, stdin: bytes = b"") -> str | None:
    """git as the agent in its repository: no user or system config, no fsmonitor or hooks,
    no replace refs, a time limit; its output, or None."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "GIT_DIR": git_dir,
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "LC_ALL": "C",
    }
    cmd = ["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"]
    cmd += ["-c", "core.bare=true", "-c", "safe.directory=*", *args]
    try:
        proc = subprocess.run(
            cmd, input=stdin, env=env, cwd="/", capture_output=True, timeout=AGENT_GIT_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else None


def _ref_label(name: str) -> str:
    for prefix, label in (("refs/heads/", "branch "), ("refs/tags/", "tag ")):
        if name.startswith(prefix):
            return label + name[len(prefix) :]
    if name.startswith("refs/remotes/"):
        return "remote-tracking branch " + name[len("refs/remotes/") :]
    return name


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _is_sha(value: str) -> bool:
    return len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)


def _head_name(head: str | None) -> str:
    if head is None:
        return "nothing"
    if head.startswith("ref: "):
        target = head[5:]
        return target[len("refs/heads/") :] if target.startswith("refs/heads/") else target
    return f"{head[:12]} (detached)"


def ref_events(git_dir: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What happened to the refs of one repository since the baseline, in words."""
    events: list[str] = []
    if old.get("head") != new.get("head"):
        events.append(
            f"HEAD moved from {_head_name(old.get('head'))} to {_head_name(new.get('head'))}"
        )
    before: dict[str, str] = old.get("refs") or {}
    after: dict[str, str] = new.get("refs") or {}
    known = sorted({v for v in before.values() if _is_sha(v)})
    names = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
    for name in names[:REF_EVENTS_MAX]:
        was, now = before.get(name), after.get(name)
        label = _ref_label(name)
        if now is None:
            events.append(f"{label} deleted (was {str(was)[:12]})")
        elif was is None:
            count = None
            if _is_sha(now) and name.startswith("refs/heads/"):
                out = _agent_git(
                    git_dir, "rev-list", "--count", "--stdin", stdin=_revs([now], known)
                )
                count = out.strip() if out and out.strip() != "0" else None
            suffix = f" ({_plural(int(count), 'commit')} since the start)" if count else ""
            events.append(f"{label} created{suffix}")
        else:
            out = None
            if _is_sha(was) and _is_sha(now):
                out = _agent_git(git_dir, "rev-list", "--left-right", "--count", f"{was}...{now}")
            parts = out.split() if out else []
            if len(parts) != 2:
                events.append(f"{label} moved from {was[:12]} to {now[:12]}")
                continue
            dropped, added = int(parts[0]), int(parts[1])
            if not dropped:
                events.append(f"{_plural(added, 'commit')} on {label} since the start")
            elif not added:
                events.append(f"{label} moved back: {_plural(dropped, 'commit')} dropped")
            else:
                events.append(
                    f"{label} rewritten: {_plural(dropped, 'commit')} dropped, {added} new"
                )
    if len(names) > REF_EVENTS_MAX:
        events.append(f"and {len(names) - REF_EVENTS_MAX} more ref changes")
    return events


def _revs(include: list[str], exclude: list[str]) -> bytes:
    return "".join([*(f"{r}\n" for r in include), *(f"^{r}\n" for r in exclude)]).encode()


def _guard_event(rel: str, was: str | None, now: str | None) -> str:
    verb = "created" if was is None else "removed" if now is None else "changed"
    name = f".git/{rel}" if rel != ".git" else ".git"
    parts = rel.split("/")
    if rel == ".git":
        why = "it says where the repository is: git would use another one's config and hooks"
    elif parts[-1] == "commondir":
        why = "git would take the config and hooks of another repository, which can run programs"
    elif parts[-1] in ("config", "config.worktree"):
        why = "git reads it as config, which can run programs"
    elif "hooks" in parts:
        why = "a hook: git runs it"
    elif parts[-1] == "gitdir":
        why = "it says where a worktree is"
    else:
        why = "it changes what git ignores or how it reads files"
    return f"the agent {verb} {name} ({why})"


def repo_report(baseline_repos: dict[str, Any]) -> list[dict[str, Any]]:
    """Differences between the repositories at the baseline and now; runs as the agent."""
    report: list[dict[str, Any]] = []
    now = repos_now()
    for name in sorted(set(baseline_repos) | set(now)):
        old, new = baseline_repos.get(name), now.get(name)

        def add(text: str, danger: bool, repo: str = name) -> None:
            report.append({"repo": repo, "text": text, "danger": danger})

        if old is None:
            add(
                "a new .git appeared in the session: its config and hooks are the agent's, and "
                "git commands run there can run programs",
                True,
            )
            continue
        if new is None:
            add("its .git is gone", True)
            continue
        if old.get("kind") != new.get("kind"):
            add(f"its .git was a {old.get('kind')}, it is now a {new.get('kind')}", True)
        was_guard, now_guard = old.get("guard") or {}, new.get("guard") or {}
        for rel in sorted(set(was_guard) | set(now_guard)):
            if was_guard.get(rel) != now_guard.get(rel):
                add(_guard_event(rel, was_guard.get(rel), now_guard.get(rel)), True)
        if new.get("kind") == "dir" and old.get("kind") == "dir":
            if new.get("note"):
                add(str(new["note"]), False)
            for event in ref_events(f"{layout.WORK_TREE}/{name}/.git", old, new):
                add(event, False)
    return report


def stored_report(uid: str, gid: str) -> list[dict[str, Any]]:
    """The report on the mounted repositories ({repo, text, danger} each), read as the agent
    uid:gid, and the names git refused at the last refresh."""
    ensure_repo()
    baseline()
    report: list[dict[str, Any]] = []
    try:
        with open(layout.REPOS_FILE, "rb") as fh:
            recorded = json.load(fh)
    except FileNotFoundError:
        recorded = {"error": "the repositories were not recorded at the start"}
    except ValueError:
        recorded = {"error": "the record of the repositories is damaged"}
    if "error" in recorded:
        report.append({"repo": "", "text": str(recorded["error"]), "danger": False})
    else:
        data = as_agent(
            int(uid),
            int(gid or uid),
            lambda payload: json.dumps(repo_report(json.loads(payload))).encode(),
            json.dumps(recorded).encode(),
        )
        report += json.loads(data)
    with contextlib.suppress(FileNotFoundError, ValueError):
        with open(layout.REFUSED_FILE) as fh:
            refused_names = json.load(fh)
        if refused_names["count"]:
            shown = ", ".join(refused_names["names"][:5])
            more = refused_names["count"] - min(5, len(refused_names["names"]))
            report.append(
                {
                    "repo": "",
                    "text": f"{_plural(refused_names['count'], 'file')} whose names git cannot "
                    f"record are NOT in the diff: {shown}"
                    + (f" and {more} more" if more > 0 else ""),
                    "danger": True,
                }
            )
    return report
