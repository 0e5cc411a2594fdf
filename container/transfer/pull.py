"""Pull: a session's file or directory into a host directory, as a tar archive streamed through
the Engine API and extracted by `safe_extract` (never a whole file in memory).

Cancelling: pass a `CancelToken` (or a progress callback that raises); the pull stops between
chunks and removes its temporary file.
"""

from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container import scripts
from container.engine import engine_errors
from container.errors import ClaudexError, UsageError
from container.transfer.cancel import CancelToken
from container.transfer.common import (
    Progress,
    TransferReport,
    container_path,
    counter,
    is_dir_stat,
    is_regular_stat,
    run_script,
    stat_path,
)
from container.transfer.safe_extract import ForwardStream, safe_extract

if TYPE_CHECKING:
    from docker import APIClient


_SIZE_SCRIPT = scripts.source("tree_size.sh")


def _total_size(api: APIClient, container_id: str, path: str, st: dict[str, Any]) -> int:
    """Bytes of file data under `path`, for progress; 0 (unknown) when it cannot be told."""
    if is_regular_stat(st):
        return int(st.get("size", 0))
    if not is_dir_stat(st):
        return 0
    try:
        code, out, _ = run_script(api, container_id, _SIZE_SCRIPT, path)
    except ClaudexError:
        return 0  # a stopped session: no exec, so no total
    return int(out.strip() or 0) if code == 0 else 0


def pull(
    api: APIClient,
    container_id: str,
    source: str,
    dest: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    name: str | None = None,
) -> TransferReport:
    """Copy a container path (file or directory) into the host directory `dest`; `name`
    writes it under another name there."""
    if not dest.is_dir():
        raise UsageError(f"destination is not a directory: {dest}")
    path = container_path(source)
    st = stat_path(api, container_id, path)
    if st is None:
        raise UsageError(f"{path} does not exist in the session")
    on_bytes = counter(_total_size(api, container_id, path, st), progress, cancel)
    base = posixpath.basename(path) or "/"
    rename = (base, name) if name and name != base else None
    url = api._url("/containers/{0}/archive", container_id)
    with engine_errors(f"copying {path} out of the session"):
        res = api._get(
            url, params={"path": path}, stream=True, headers={"Accept-Encoding": "identity"}
        )
        api._raise_for_status(res)
    try:
        with engine_errors(f"copying {path} out of the session"):
            return safe_extract(
                ForwardStream(res.raw, cancel),
                dest,
                force=force,
                on_bytes=on_bytes,
                rename_top=rename,
            )
    except tarfile.ReadError as exc:
        raise ClaudexError(f"copying {path} out of the session: broken archive ({exc})") from None
    finally:
        res.close()
