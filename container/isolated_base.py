"""The base of an isolated copy: the user's files as they were copied, which `claudex apply`
takes as the common ancestor. Host side, never mounted, so the agent cannot change it.

For a git repository the base is a commit in a bare repository of claudex's own
(`base/<n>`, its objects borrowed from the user's `.git/objects` through alternates): it is
written from a temporary index seeded from the user's index, so only the files changed since
the user's last `git add` are hashed (like `git stash`), and the session's copy is checked out
from it. Nothing is written to the user's `.git`. Anything else (or a repository whose
attributes would convert files on the way in or out) has a plain copy as its base.

Beside each base, `<n>.stamps` records what lstat said of every file of the session's copy
right after it was made: a file whose inode, size, mtime and ctime are still those was not
written since (the agent can set a file's mtime but not its ctime), so comparing hashes only
the files the session touched.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from container.errors import ClaudexError
from container.isolated_tree import Node, Tree, _chunks, _open_file, _same_bytes, _text_copy, scan

COMMIT_SUFFIX = ".commit"  # base/<n>.commit: the base commit, when base/<n> is a repository
STAMPS_SUFFIX = ".stamps"
LINKS_SUFFIX = ".links"  # base/<n>.links: the linked base's files as they were linked
IGNORED_SUFFIX = ".ignored"  # base/<n>.ignored: what git ignored, copied but never applied
# Attributes that make git change a file's bytes on `add` or checkout: such a repository's
# files could not be given to the session exactly as the user has them through git.
CONVERTING = re.compile(rb"\b(text|eol|crlf|filter|ident|working-tree-encoding)\b")

GitRunner = Callable[..., "subprocess.CompletedProcess[str]"]


# -- making it ------------------------------------------------------------------------------


def _fail(what: str, proc: subprocess.CompletedProcess[str]) -> ClaudexError:
    return ClaudexError(f"{what}: {proc.stderr.strip() or f'exit code {proc.returncode}'}")


def make_git_base(git: GitRunner, directory: str, base: str, head: str) -> str | None:
    """A commit of `directory`'s files (uncommitted and untracked ones too, not the ignored)
    in a new bare repository at `base`; None (and nothing left) when this repository cannot be
    copied exactly through git (nested repositories, converting attributes)."""
    user_git = os.path.join(directory, ".git")
    proc = git("init", "-q", "--bare", "--template=", base)
    if proc.returncode != 0:
        raise _fail(f"cannot make the base of {directory}", proc)
    objects = os.path.realpath(os.path.join(user_git, "objects"))
    with open(os.path.join(base, "objects", "info", "alternates"), "w") as fh:
        fh.write(objects + "\n")
    with tempfile.TemporaryDirectory(prefix="claudex-index-") as tmp:
        index = os.path.join(tmp, "index")
        with suppress(OSError):  # no index yet: every file is hashed
            shutil.copyfile(os.path.join(user_git, "index"), index)
        env = {"GIT_INDEX_FILE": index}
        excludes = os.path.join(user_git, "info", "exclude")
        on_user = (
            "--git-dir",
            base,
            "--work-tree",
            directory,
            "-c",
            f"core.excludesFile={excludes}",
        )
        proc = git(*on_user, "add", "-A", env=env)
        if proc.returncode != 0:  # e.g. a split index kept in the user's .git: start afresh
            os.unlink(index)
            proc = git(*on_user, "add", "-A", env=env)
        if proc.returncode != 0:
            raise _fail(f"cannot record the files of {directory}", proc)
        staged = git("--git-dir", base, "ls-files", "-s", "-z", env=env)
        if staged.returncode != 0:
            raise _fail(f"cannot record the files of {directory}", staged)
        if not _exact(directory, staged.stdout):
            shutil.rmtree(base)
            return None
        ignored = git(*on_user, "ls-files", "-z", "-o", "-i", "--exclude-standard", "--directory",
                      env=env)  # fmt: skip
        if ignored.returncode != 0:
            raise _fail(f"cannot list the ignored files of {directory}", ignored)
        names = [n.rstrip("/") for n in ignored.stdout.split("\0") if n.rstrip("/")]
        with open(base + IGNORED_SUFFIX, "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write("\0".join(names))
        tree = git("--git-dir", base, "write-tree", env=env)
        if tree.returncode != 0:
            raise _fail(f"cannot record the files of {directory}", tree)
        commit = git(
            "--git-dir", base, "-c", "user.name=claudex", "-c", "user.email=claudex@localhost",
            "commit-tree", tree.stdout.strip(), "-p", head, "-m", "the files given to the session",
        )  # fmt: skip
        if commit.returncode != 0:
            raise _fail(f"cannot record the files of {directory}", commit)
    oid = commit.stdout.strip()
    proc = git("--git-dir", base, "update-ref", "refs/heads/base", oid)
    if proc.returncode != 0:
        raise _fail(f"cannot record the files of {directory}", proc)
    with open(base + COMMIT_SUFFIX, "w") as fh:
        fh.write(oid + "\n")
    return oid


def _exact(directory: str, ls_files: str) -> bool:
    """Whether git keeps these files byte for byte: no nested repository (a gitlink holds
    none of its files) and no attribute that converts content."""
    for entry in ls_files.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        if meta.startswith("160000"):
            return False
        if path == ".gitattributes" or path.endswith("/.gitattributes"):
            try:
                with open(os.path.join(directory, path), "rb") as fh:
                    if CONVERTING.search(fh.read(1 << 20)):
                        return False
            except OSError:
                return False
    try:
        with open(os.path.join(directory, ".git", "info", "attributes"), "rb") as fh:
            return not CONVERTING.search(fh.read(1 << 20))
    except FileNotFoundError:
        return True
    except OSError:
        return False


def check_out(git: GitRunner, base: str, commit: str, work: str) -> None:
    """The base commit's files written into the clone at `work` (not yet the agent's), and
    the clone's index set to its HEAD with the files' stat data (`git status` stays fast and
    shows what was uncommitted)."""
    with tempfile.TemporaryDirectory(prefix="claudex-index-") as tmp:
        index = os.path.join(tmp, "index")
        env = {"GIT_INDEX_FILE": index}
        # One checkout worker per core (`cp` of a plain directory is spread out the same way).
        parallel = ("-c", "checkout.workers=0")
        on_work = ("--git-dir", base, "--work-tree", work)
        proc = git(*parallel, *on_work, "read-tree", "-u", "--reset", commit, env=env)
        if proc.returncode != 0:
            raise _fail(f"cannot write the copy {work}", proc)
        shutil.copyfile(index, os.path.join(work, ".git", "index"))
    proc = git("-C", work, "reset", "-q")
    if proc.returncode not in (0, 1):  # 1: files differ from HEAD (the uncommitted ones)
        raise _fail(f"cannot prepare the copy {work}", proc)


def record_stamps(work: str, base: str, suffix: str = STAMPS_SUFFIX) -> None:
    """What lstat says of each file of the session's copy, before the agent has it (or of a
    linked base's files, with LINKS_SUFFIX)."""
    lines = []
    for rel, node in scan(work).items():
        if node.kind == "file":
            lines.append(" ".join(map(str, node.stamp)) + " " + rel)
    with open(base + suffix, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write("\0".join(lines))


def link_base(directory: str, base: str) -> bool:
    """A plain directory's base as hard links to the user's files (`cp -al`: no file is
    written), their stamps recorded; False (nothing left) where links cannot be made (another
    file system, links not allowed)."""
    try:
        if os.stat(directory).st_dev != os.stat(os.path.dirname(base)).st_dev:
            return False
        proc = subprocess.run(
            ["cp", "-a", "-l", "-T", "--", directory, base], capture_output=True, check=False
        )
    except OSError:
        return False
    if proc.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        return False
    record_stamps(base, base, LINKS_SUFFIX)
    return True


def read_ignored(base: str) -> list[str]:
    """The paths git ignored when the copy was made (none for a plain copy)."""
    try:
        with open(base + IGNORED_SUFFIX, encoding="utf-8", errors="surrogateescape") as fh:
            return [n for n in fh.read().split("\0") if n]
    except FileNotFoundError:
        return []


def ignored_filter(base: str) -> Callable[[str], bool]:
    """Whether a relative path is one of the ignored ones or inside one."""
    ignored = set(read_ignored(base))

    def test(rel: str) -> bool:
        if not ignored:
            return False
        parts = rel.split("/")
        return any("/".join(parts[:i]) in ignored for i in range(1, len(parts) + 1))

    return test


def read_stamps(base: str, suffix: str = STAMPS_SUFFIX) -> dict[str, tuple[int, int, int, int]]:
    try:
        with open(base + suffix, encoding="utf-8", errors="surrogateescape") as fh:
            data = fh.read()
    except OSError:
        return {}
    stamps = {}
    for line in data.split("\0"):
        parts = line.split(" ", 4)
        if len(parts) == 5:
            ino, size, mtime, ctime, rel = parts
            stamps[rel] = (int(ino), int(size), int(mtime), int(ctime))
    return stamps


# -- reading it -----------------------------------------------------------------------------


def _git_env(base: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_DIR": base, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return env


def _git_bytes(base: str, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], input=stdin, env=_git_env(base), capture_output=True, timeout=600,
            check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClaudexError(f"cannot read the base {base}: {exc}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise ClaudexError(f"cannot read the base {base}: {err}")
    return proc.stdout


@dataclass
class DirBase:
    """A base that is a plain copy of the user's files, or hard links to them (`.links`).

    A linked file is the user's own: when the user writes it in place (its inode, size or
    mtime no longer those recorded; its ctime moves with every link made or removed, as other
    sessions' bases come and go) its old bytes are gone, and the path is "stale": a change of
    the session's to it is a conflict, never applied over the user's edit."""

    root: str

    def __post_init__(self) -> None:
        self.stale: set[str] = set()

    def tree(self) -> Tree:
        tree = scan(self.root)
        links = read_stamps(self.root, LINKS_SUFFIX)
        for rel, node in tree.items():
            if node.kind == "file" and rel in links and links[rel][:3] != node.stamp[:3]:
                tree[rel] = Node("stale", node.size, node.mode)
                self.stale.add(rel)
        return tree

    def stamps(self) -> dict[str, tuple[int, int, int, int]]:
        return read_stamps(self.root)

    def same(self, rel: str, root: str) -> bool:
        """Whether `rel` under `root` holds the base's bytes."""
        return rel not in self.stale and _same_bytes(root, rel, self.root, rel)

    def text(self, rel: str, dest: str) -> bool:
        return rel not in self.stale and _text_copy(self.root, rel, dest)

    def contents(self, rels: list[str], limit: int) -> dict[str, bytes | None]:
        """Each file's bytes (None: not a regular file, or larger than `limit`)."""
        found: dict[str, bytes | None] = {}
        for rel in rels:
            if rel in self.stale:
                found[rel] = None
                continue
            try:
                with _open_file(self.root, rel) as (fd, size):
                    found[rel] = b"".join(_chunks(fd, size)) if size <= limit else None
            except (OSError, ClaudexError):
                found[rel] = None
        return found


@dataclass
class GitBase:
    """A base that is a commit of claudex's own repository."""

    repo: str
    commit: str

    def __post_init__(self) -> None:
        self.oids: dict[str, str] = {}
        self._stamps: dict[str, tuple[int, int, int, int]] | None = None

    def stamps(self) -> dict[str, tuple[int, int, int, int]]:
        if self._stamps is None:
            self._stamps = read_stamps(self.repo)
        return self._stamps

    def tree(self) -> Tree:
        """Sizes come from the copy's stamps (it was checked out from this commit; `ls-tree
        -l` would open every object): -1 where there is none."""
        out = _git_bytes(self.repo, "ls-tree", "-r", "-t", "-z", "--full-tree", self.commit)
        sizes = self.stamps()
        tree: Tree = {}
        links: list[tuple[str, str]] = []
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, _, raw = entry.partition(b"\t")
            mode, _kind, oid = meta.split()
            rel = os.fsdecode(raw)
            if mode == b"040000":
                tree[rel] = Node("dir", mode=0o755)
            elif mode in (b"100644", b"100755"):
                stamp = sizes.get(rel)
                size = stamp[1] if stamp else -1
                tree[rel] = Node("file", size, 0o755 if mode == b"100755" else 0o644)
                self.oids[rel] = oid.decode()
            elif mode == b"120000":
                links.append((rel, oid.decode()))
        if links:
            data = _git_bytes(
                self.repo, "cat-file", "--batch", stdin="".join(f"{o}\n" for _, o in links).encode()
            )
            pos = 0
            for rel, _ in links:
                header_end = data.index(b"\n", pos)
                length = int(data[pos:header_end].split()[2])
                target = data[header_end + 1 : header_end + 1 + length]
                tree[rel] = Node("link", target=os.fsdecode(target))
                pos = header_end + 1 + length + 1
        return tree

    def same(self, rel: str, root: str) -> bool:
        oid = self.oids.get(rel)
        if oid is None:
            return False
        algo = hashlib.sha1() if len(oid) == 40 else hashlib.sha256()
        try:
            with _open_file(root, rel) as (fd, size):
                algo.update(b"blob %d\0" % size)
                read = 0
                for data in _chunks(fd, size):
                    algo.update(data)
                    read += len(data)
                if read != size:
                    return False
        except (OSError, ClaudexError):
            return False
        return algo.hexdigest() == oid

    def contents(self, rels: list[str], limit: int) -> dict[str, bytes | None]:
        """Each file's bytes, read in one `git cat-file --batch` (None: not a file, or larger
        than `limit`)."""
        found: dict[str, bytes | None] = {rel: None for rel in rels}
        wanted = [(rel, self.oids[rel]) for rel in rels if rel in self.oids]
        if not wanted:
            return found
        query = "".join(f"{oid}\n" for _, oid in wanted).encode()
        data = _git_bytes(self.repo, "cat-file", "--batch", stdin=query)
        pos = 0
        for rel, _ in wanted:
            end = data.index(b"\n", pos)
            header = data[pos:end].split()
            if len(header) != 3:  # "<oid> missing"
                pos = end + 1
                continue
            length = int(header[2])
            if length <= limit:
                found[rel] = data[end + 1 : end + 1 + length]
            pos = end + 1 + length + 1
        return found

    def text(self, rel: str, dest: str) -> bool:
        oid = self.oids.get(rel)
        if oid is None:
            return False
        data = _git_bytes(self.repo, "cat-file", "blob", oid)
        if len(data) > (1 << 20) or b"\0" in data[:8192]:
            return False
        with open(dest, "wb") as fh:
            fh.write(data)
        return True


def open_base(base: str) -> DirBase | GitBase:
    """The base at `base` (claudex wrote it host side: trusted)."""
    try:
        with open(base + COMMIT_SUFFIX) as fh:
            commit = fh.read().strip()
    except FileNotFoundError:
        return DirBase(base)
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        raise ClaudexError(f"the base {base} is damaged: {base + COMMIT_SUFFIX}")
    return GitBase(base, commit)
