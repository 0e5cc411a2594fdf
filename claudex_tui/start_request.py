"""What the user asked for (CLI flags, or the dashboard's new-session form) as a StartRequest,
and the baseline recorded once the session runs.

One place, so `claudex DIRS` and the dashboard start sessions the same way: same extra
mounts, environment, limits, allow list and change tracking. Everything here does I/O (the
local filesystem, the engine): call it off the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from claudex_tui.config import Config
from container import allow_entries, firewall, state
from container.errors import ClaudexError
from container.host_entries import HostFS
from container.labels import SessionInfo
from container.local_fs import LOCAL
from container.mounts import plan_mounts
from container.session_spec import StartRequest
from container.sessions import Sessions


def _not_confirmed(_found: firewall.ProjectAllow) -> bool:
    return False


def allow_list(
    config: Config,
    dirs: Sequence[str],
    extra: Sequence[str] = (),
    *,
    host_network: bool = False,
    confirm: Callable[[firewall.ProjectAllow], bool] = _not_confirmed,
    fs: HostFS = LOCAL,
    public_ok: bool = False,
) -> list[str]:
    """Defaults, the config's entries, confirmed .claudex.toml entries, then `extra`.

    A repository must not silently widen its own sandbox: a `.claudex.toml` the user has not
    trusted yet is asked about through `confirm`, and remembered once confirmed.
    """
    if host_network:
        return []
    project: list[str] = []
    for found in firewall.read_project_allow(dirs, fs):
        if firewall.is_trusted(found):
            project += found.entries
        elif confirm(found):
            firewall.trust(found)
            project += found.entries
    defaults = firewall.DEFAULT_ALLOW if config.allow_defaults else ()
    asked = allow_entries.merge_entries(allow_entries.split_all(extra))
    if not public_ok:  # the dashboard's form asks; the command line has no way to
        allow_entries.refuse_public(asked, "--allow")
    return firewall.merge_entries(defaults, config.allow, project, asked)


def start_request(
    config: Config,
    dirs: Sequence[str],
    read_only: Sequence[str] = (),
    *,
    targets: Mapping[str, str] | None = None,
    name: str | None = None,
    agent: str | None = None,
    parallel: bool = False,
    replace: bool = False,
    strict_mounts: bool = False,
    host_network: bool = False,
    network: str | None = None,
    git: bool = True,
    allow: Sequence[str] = (),
    expose_env_files: bool = False,
    docker_socket: bool = False,
    share_agent_home: bool = False,
    git_writable: bool = False,
    confirm: Callable[[firewall.ProjectAllow], bool] = _not_confirmed,
    fs: HostFS = LOCAL,
    public_ok: bool = False,
) -> StartRequest:
    """The request for a session of `dirs` (read-write) and `read_only`, with the config's
    extra mounts, environment, image and limits. `fs` is the engine host's file system: the
    directories are that machine's."""
    plan = plan_mounts(
        dirs,
        read_only,
        expose_env_files=expose_env_files,
        # The .env mask is bound from the engine's host: /dev/null is on every one.
        empty_file="/dev/null" if fs.remote else state.empty_file(),
        docker_socket=docker_socket,
        share_agent_home=share_agent_home,
        git_writable=git_writable,
        extra=[(str(m.path), m.read_only) for m in config.mounts],
        targets=targets,
        fs=fs,
    )
    from container.mcp_agent_config import with_mcp_configs
    from container.mcp_host import server_specs
    from container.mcp_project import confirmed_servers
    from container.session_spec import shares_agent_home

    # A project's confirmed servers, then the user's own (the same name: the user's wins).
    mcp = {**confirmed_servers(plan.dirs, confirm, fs), **server_specs(config.mcp)}
    if not shares_agent_home(plan):  # never written into the host's own folders
        plan.logins = with_mcp_configs(list(mcp), plan.logins)
    return StartRequest(
        mcp=mcp,
        plan=plan,
        name=name,
        agent=agent or config.agent,
        parallel=parallel,
        replace=replace,
        strict_mounts=strict_mounts,
        host_network=host_network,
        network=network or config.network,
        git=git,
        allow=allow_list(
            config,
            plan.dirs,
            allow,
            host_network=host_network,
            confirm=confirm,
            fs=fs,
            public_ok=public_ok,  # `allow` holds public suffixes the user confirmed
        ),
        env={var: os.environ[var] for var in config.env if var in os.environ},
        image=config.image,
        memory=config.resources.memory,
        cpus=config.resources.cpus,
    )


def record_baseline(
    sessions: Sessions,
    session: SessionInfo,
    info: Callable[[str], None],
    warn: Callable[[str], None],
) -> None:
    """The baseline commit, once per container (a re-created session gets a new one)."""
    from container.tracking import Tracker

    tracker = Tracker(sessions.api, session)
    if not tracker.enabled:
        return
    try:
        if tracker.has_baseline():
            return
        info("recording the baseline of the mounted files (git tracking)")
        baseline = tracker.ensure_baseline()
    except ClaudexError as exc:
        # The session is usable without it; the next start tries again.
        warn(f"change tracking is not available: {exc.message}")
        return
    if baseline.created:
        info(f"baseline recorded: {baseline.files} files in {baseline.seconds:.1f}s")
