"""Removing a push's staged files: after an unfinished push (in the session as the agent, and
on the host when the destination is a bind mount: that needs no session, which may have been
destroyed or stopped mid-way, nor the engine), and every push's before a destroy."""

from __future__ import annotations

import contextlib
import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from container import scripts
from container.errors import ClaudexError
from container.mount_targets import WORKSPACE
from container.transfer.common import MANIFEST_PREFIX, TEMP_PREFIX, run_script

if TYPE_CHECKING:
    from docker import APIClient


_CLEANUP_SCRIPT = scripts.source("push_cleanup.sh")


def cleanup(
    api: APIClient,
    container_id: str,
    dest: str,
    token: str,
    dirs: list[str],
    user: str,
    host: Path | None,
) -> None:
    """Remove staged files of an unfinished push, as the agent in the session (`dest` is the
    agent's, and root would follow the links it put there), and on the host when `dest` is a
    bind mount: that needs no session, which may be stopped or gone, nor the engine."""
    with contextlib.suppress(ClaudexError):
        run_script(
            api, container_id, _CLEANUP_SCRIPT, dest, f"{TEMP_PREFIX}{token}-", *dirs, user=user
        )
    if host is not None:
        with contextlib.suppress(OSError):
            _sweep_host(host, f"{TEMP_PREFIX}{token}-", f"{MANIFEST_PREFIX}{token}", dirs)


# Staged files of pushes that never ended (a killed claudex) anywhere under /workspace.
_STALE_SCRIPT = scripts.source("remove_staging.sh")


def remove_staging(api: APIClient, container_id: str, user: str) -> None:
    """Delete every push's staged files under /workspace, as the agent `user` ("uid:gid"):
    before a destroy saves the history, so none lands in the audit bundle. Best effort."""
    with contextlib.suppress(ClaudexError):
        run_script(api, container_id, _STALE_SCRIPT, WORKSPACE, user=user)


def host_dir(api: APIClient, container_id: str, dest: str) -> Path | None:
    """The host folder behind `dest` when it lies in a bind mount (staged files land there)."""
    try:
        mounts = api.inspect_container(container_id).get("Mounts") or []
    except Exception:
        return None
    best: tuple[str, str] | None = None
    for mount in mounts:
        target, source = mount.get("Destination") or "", mount.get("Source") or ""
        if mount.get("Type") != "bind" or not target.startswith("/") or not source:
            continue
        inside = dest == target or dest.startswith(target.rstrip("/") + "/")
        if inside and (best is None or len(target) > len(best[0])):
            best = (target, source)
    if best is None:
        return None
    rel = posixpath.relpath(dest, best[0])
    return Path(best[1]) if rel == "." else Path(best[1], rel)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _sweep_host(folder: Path, prefix: str, manifest: str, dirs: list[str]) -> None:
    """Delete this push's staged files under the host `folder` (the agent writes there: no
    link is followed on the way down, below the mount's own folder)."""
    fd = os.open(folder, _DIR_FLAGS)
    try:
        for entry in os.scandir(fd):
            if entry.name.startswith(prefix) or entry.name == manifest:
                with contextlib.suppress(OSError):
                    os.unlink(entry.name, dir_fd=fd)
        for name in dirs:
            with contextlib.suppress(OSError):
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                try:
                    _sweep_tree(sub, prefix)
                finally:
                    os.close(sub)
    finally:
        os.close(fd)


def _sweep_tree(fd: int, prefix: str) -> None:
    for entry in os.scandir(fd):
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                sub = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                try:
                    _sweep_tree(sub, prefix)
                finally:
                    os.close(sub)
            elif entry.name.startswith(prefix):
                os.unlink(entry.name, dir_fd=fd)
