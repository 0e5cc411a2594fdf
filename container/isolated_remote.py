"""Isolated sessions on a remote engine: the copies are made, counted, applied and removed on
that engine's host, by short-lived helper containers of claudex's image on that engine, which
run the local code itself (container.isolated_ops.main, with the modules it needs sent into
the helper before it starts: nothing the agent can write is ever run).

Where the copies live on that host: in the named volume `claudex-isolated` of that engine,
under the same layout as locally (`<volume>/claudex/isolated/<session>/work|base/...`). A
volume is owned by root on that host, survives reboots and claudex's own absence, sits
wherever that engine keeps its data (rootless engines too: no path of the host has to be
guessed or made writable), and shows up in `docker volume ls`. The session's container binds
its copies by their path on that host (the volume's mountpoint + the layout), which is what
the session's labels record, so `copies_of`, `check_copy_path` and `base_of` hold unchanged.

Each helper: no network, read-only binds of the user's directories at their own paths (read-
write only for `claudex apply` writing), the volume read-write at its mountpoint's path (so
the paths a clone records, e.g. its alternates, are the host's), every capability dropped but
those a root copy needs to keep owners and modes (CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH,
FOWNER, FSETID), no-new-privileges. Git runs there only as it does locally: on the user's
repository, on claudex's base repository and on a clone the agent has not had yet; the copy
is read as data (container.isolated_tree: no link followed, `.git` never read).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import secrets
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from container import errors, labels
from container.engine import engine_errors
from container.errors import ClaudexError, UsageError
from container.host_fs import HELPER_LABEL, EngineFS

if TYPE_CHECKING:
    import docker

    from container.isolated_compare import Difference
    from container.isolated_model import FileReview
    from container.labels import SessionInfo
    from container.tracking_model import ChangedFile

VOLUME = "claudex-isolated"
PY = "/opt/claudex-isolated"  # where the helper's modules are, inside the helper only
SENT = f"{PY}/sent"  # a file sent into the helper (apply --branch: the session's bundle)
# The modules container.isolated_ops imports (tests/unit/test_isolated_remote.py checks it).
MODULES = (
    "__init__", "agent_home", "diff_text", "engine", "errors", "host_entries", "isolated",
    "isolated_apply", "isolated_base", "isolated_branch", "isolated_compare", "isolated_model",
    "isolated_ops",
    "isolated_review", "isolated_tree", "labels", "local_fs", "mount_targets", "mounts",
    "naming", "sizes", "tracking_model",
)  # fmt: skip
RUN = f"import sys; sys.path.insert(0, {PY!r}); from container.isolated_ops import main; sys.exit(main(sys.argv[1:]))"  # noqa: E501
# Host paths a helper cannot bind at their own place, nor anything in or above them: what
# its python3 and git need (a folder there is not a project anyway); nor /tmp itself.
HELPER_RESERVED = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/proc", "/sys", "/dev", PY)
CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID"]
HELPER_TIMEOUT = 3600


def _modules_tar() -> bytes:
    buf = io.BytesIO()
    package = files("container")
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in MODULES:
            data = package.joinpath(f"{name}.py").read_bytes()
            info = tarfile.TarInfo(f"{posixpath.basename(PY)}/container/{name}.py")
            info.size, info.mode = len(data), 0o444
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _send(api: Any, helper: str, path: str) -> None:
    """The local file `path` put into the helper at SENT (streamed from a tar on disk)."""
    with tempfile.TemporaryFile() as buf:
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(path, arcname=f"{posixpath.basename(PY)}/{posixpath.basename(SENT)}")
        buf.seek(0)
        api.put_archive(helper, "/opt", buf)


def check_directory(d: str) -> None:
    """A user directory a helper binds at its own path: not one of the helper's own folders."""
    if (
        not posixpath.isabs(d)
        or posixpath.normpath(d) != d
        or d in ("/", "/tmp", "/run", "/var")
        or any(d == r or d.startswith(r + "/") or r.startswith(d + "/") for r in HELPER_RESERVED)
    ):
        raise ClaudexError(
            f"--isolated on a remote engine cannot copy {d}: it is a system folder there",
            "pick a project folder, or drop --isolated",
        )


class EngineCopies:
    """The isolated copies kept on a remote engine's host."""

    def __init__(self, client: docker.DockerClient, image: str, engine_name: str) -> None:
        self.client = client
        self.image = image
        self.engine_name = engine_name
        self.label = f"engine {engine_name}"
        self._root: str | None = None
        self._fs: EngineFS | None = None

    @property
    def fs(self) -> EngineFS:
        """That host's files (the copies' git guards are listed through it)."""
        if self._fs is None:
            self._fs = EngineFS(self.client, self.image, self.engine_name)
        return self._fs

    def close(self) -> None:
        if self._fs is not None:
            self._fs.close()

    def root(self) -> str:
        """The volume's path on that host (the volume is made the first time)."""
        if self._root is None:
            api = self.client.api
            with engine_errors(f"preparing the isolated copies' volume on {self.label}"):
                api.create_volume(VOLUME, labels={labels.MANAGED: labels.MANAGED_VALUE})
                self._root = str(api.inspect_volume(VOLUME)["Mountpoint"])
        return self._root

    # -- running the local code there ------------------------------------------------------

    def run(
        self,
        op: str,
        args: dict[str, Any],
        dirs: Iterable[str] = (),
        *,
        writable: bool = False,
        emit: Callable[[str], None] = lambda _t: None,
        info: Callable[[str], None] = lambda _t: None,
        user: str = "0:0",
        send: str | None = None,
    ) -> Any:
        """`op` of container.isolated_ops run in a helper that sees `dirs` (read-only unless
        `writable`) and the copies, as `user`, with the file `send` put beside its modules
        (at SENT); its result, or its ClaudexError raised here."""
        from docker.types import Mount

        root = self.root()
        # Mounts, not binds: a directory gone from that host is an error, never made anew.
        mounts = [Mount(root, root, type="bind")]
        for d in dirs:
            check_directory(d)
            mounts.append(Mount(d, d, type="bind", read_only=not writable))
        api = self.client.api
        host_config = api.create_host_config(
            mounts=mounts,
            network_mode="none",
            cap_drop=["ALL"],
            cap_add=CAPS,
            security_opt=["no-new-privileges"],
        )
        with engine_errors(f"starting a helper container on {self.label}"):
            created = api.create_container(
                self.image,
                entrypoint=["python3", "-I", "-c", RUN],
                command=[op, json.dumps(args)],
                user=user,
                working_dir="/",
                environment={"XDG_DATA_HOME": root},
                name=f"claudex-isolated-{secrets.token_hex(4)}",
                labels={HELPER_LABEL: "isolated"},
                host_config=host_config,
                network_disabled=True,
            )
        helper = str(created["Id"])
        try:
            with engine_errors(f"running a helper container on {self.label}"):
                api.put_archive(helper, "/opt", _modules_tar())
                if send is not None:
                    _send(api, helper, send)
                api.start(helper)
                api.wait(helper, timeout=HELPER_TIMEOUT)
                out = api.logs(helper, stdout=True, stderr=False).decode(errors="replace")
                err = api.logs(helper, stdout=False, stderr=True).decode(errors="replace")
        finally:
            with contextlib.suppress(Exception):
                api.remove_container(helper, force=True)
        for line in out.splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if "line" in doc:
                emit(str(doc["line"]))
            elif "info" in doc:
                info(str(doc["info"]))
            elif "result" in doc:
                return doc["result"]
            elif "error" in doc:
                kind = getattr(errors, str(doc.get("kind")), ClaudexError)
                if not (isinstance(kind, type) and issubclass(kind, ClaudexError)):
                    kind = ClaudexError
                raise kind(str(doc["error"]), doc.get("hint"))
        raise ClaudexError(
            f"the helper container on {self.label} failed",
            (err.strip().splitlines() or ["no output"])[-1],
        )

    # -- what the commands ask -------------------------------------------------------------

    def make_copies(
        self, session: str, dirs: list[str], step: Callable[[str], None]
    ) -> tuple[dict[str, str], list[str]]:
        """The copies of `dirs` (user directory -> copy) and the directories whose objects
        the clones share (nothing left there on failure: make_copies cleans up)."""
        found = self.run("copy", {"session": session, "dirs": dirs}, dirs, info=step)
        return {str(k): str(v) for k, v in found["copies"].items()}, list(found["shared"])

    def shared(self, dirs: list[str]) -> list[str]:
        return list(self.run("shared", {"dirs": dirs}, dirs))

    def exists(self, session: str) -> bool:
        return bool(self.run("exists", {"session": session}))

    def differing(self, session: str, session_labels: dict[str, str]) -> int | None:
        from container.isolated import copies_of

        dirs = list(copies_of(session_labels))
        try:
            found = self.run("differ", {"session": session, "labels": session_labels}, dirs)
        except ClaudexError:
            return None
        return None if found is None else int(found)

    def apply(
        self,
        session: str,
        copies: dict[str, str],
        chosen: dict[str, list[str]],
        check: bool,
        emit: Callable[[str], None],
    ) -> tuple[int, int, int]:
        args = {"session": session, "copies": copies, "chosen": chosen, "check": check}
        dirs = [d for d in sorted(copies) if not chosen or d in chosen]
        conflicts, todo, written = self.run("apply", args, dirs, writable=not check, emit=emit)
        return int(conflicts), int(todo), int(written)

    def fetch_branch(self, session: SessionInfo, step: Callable[[str], None]) -> int:
        """`claudex apply --branch` (container.isolated_branch): the bundle is made in the
        session as locally, kept here, then sent into a helper that fetches it into the
        user's repository on that host as the owner of its `.git`."""
        from container.isolated import copies_of
        from container.isolated_branch import SPARE, _bundle, _target_of, branch_ref

        ref = branch_ref(session.name)
        copies = copies_of(session.labels)
        args = {"session": session.name, "copies": copies}
        sources = self.run("branch-sources", args, sorted(copies))
        if not sources:
            raise UsageError(
                f"session {session.name} works on no git repository",
                "`claudex apply` brings its files in",
            )
        for directory, (since, uid, gid) in sorted(sources.items()):
            target = _target_of(self.client.api, session, copies[directory])
            with tempfile.TemporaryDirectory(prefix="claudex-branch-") as tmp:
                st = os.statvfs(tmp)
                limit = max(0, st.f_bavail * st.f_frsize - SPARE)
                bundle = os.path.join(tmp, "session.bundle")
                _bundle(self.client.api, session, target, ref, str(since), bundle, limit)
                fetch = {"session": session.name, "directory": directory, "bundle": SENT}
                self.run("fetch", fetch, [directory], writable=True, user=f"{int(uid)}:{int(gid)}",
                         send=bundle)  # fmt: skip
            step(f"{directory}: branch claudex/{session.name} has the session's commits")
        return len(sources)

    def compare(self, a: SessionInfo, b: SessionInfo) -> list[Difference]:
        """`claudex compare A B` (container.isolated_compare), read where the copies are."""
        from container.isolated_compare import Difference

        args = {"a": a.name, "labels_a": a.labels, "b": b.name, "labels_b": b.labels}
        return [Difference(str(p), str(w), str(t)) for p, w, t in self.run("compare", args)]

    # -- the dashboard's Changes tab (container.isolated_review, run there) ------------------

    def _review(
        self,
        op: str,
        session: SessionInfo,
        writable: bool = False,
        send: str | None = None,
        **more: object,
    ) -> Any:
        """A read (or, `writable`, an apply) of the tab: the user's directories bound at
        their paths, read-only unless it applies (what `claudex apply` writes, as it does)."""
        from container.isolated import copies_of

        args = {"session": session.name, "labels": session.labels, **more}
        dirs = sorted(copies_of(session.labels))
        return self.run(op, args, dirs, writable=writable, send=send)

    def review(self, session: SessionInfo) -> list[ChangedFile]:
        return [_changed_file(c) for c in self._review("review", session)]

    def review_file(self, session: SessionInfo, path: str) -> FileReview:
        return _file_review(self._review("review-file", session, path=path))

    def apply_file(self, session: SessionInfo, path: str) -> str:
        return str(self._review("apply-file", session, writable=True, path=path))

    def apply_hunk(self, session: SessionInfo, path: str, index: int, shown: str) -> str:
        """The hunk as it was shown goes in a file (SENT): one argument of the helper's
        command is at most 128 KiB, a hunk of a file shown may be up to SHOW_LIMIT."""
        with tempfile.TemporaryDirectory(prefix="claudex-hunk-") as tmp:
            at = os.path.join(tmp, "shown")
            with open(at, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
                fh.write(shown)
            more = {"path": path, "hunk": index, "shown": SENT}
            return str(self._review("apply-hunk", session, writable=True, send=at, **more))

    def apply_all(self, session: SessionInfo) -> str:
        return str(self._review("apply-all", session, writable=True))

    def discard(self, session: str) -> None:
        self.run("discard", {"session": session})


# -- the helper's results read back (container.isolated_ops: dataclasses as dicts) ----------


def _changed_file(doc: dict[str, Any]) -> ChangedFile:
    from container.tracking_model import ChangedFile

    old = doc.get("old_path")
    return ChangedFile(
        str(doc["path"]), doc["status"], int(doc["added"]), int(doc["removed"]),
        bool(doc["binary"]), None if old is None else str(old),
    )  # fmt: skip


def _file_review(doc: dict[str, Any]) -> FileReview:
    from container.isolated_model import FileReview, Hunk

    def hunk(h: dict[str, Any]) -> Hunk:
        a0, a1, b0, b1, added, removed = (
            int(h[k]) for k in ("a0", "a1", "b0", "b1", "added", "removed")
        )
        return Hunk(a0, a1, b0, b1, str(h["text"]), added, removed)

    found = [hunk(h) for h in doc["hunks"]]
    return FileReview(
        str(doc["path"]), str(doc["state"]), str(doc["reason"]), found, str(doc["text"])
    )
