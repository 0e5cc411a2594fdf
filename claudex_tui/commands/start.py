"""`claudex [DIRS...]`: start or reuse the session for DIRS, then open it."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from claudex_tui import output
from claudex_tui.commands.engine_offer import connect_or_offer
from claudex_tui.config import Config, load_config
from claudex_tui.start_request import record_baseline, start_request
from container import firewall
from container.engine import DockerClient
from container.engines import current_engine, host_fs
from container.errors import ImageError
from container.host_entries import HostFS
from container.image import ensure_image, image_state
from container.isolated import discard_unused, isolate_request
from container.isolated_remote import EngineCopies
from container.labels import SessionInfo
from container.local_fs import LOCAL
from container.session_spec import StartRequest
from container.sessions import Sessions


def _request(args: argparse.Namespace, config: Config, fs: HostFS = LOCAL) -> StartRequest:
    return start_request(
        config,
        args.dirs or ([] if args.ro else ["."]),
        args.ro,
        name=args.name,
        agent=args.agent,
        parallel=args.parallel,
        replace=args.replace,
        strict_mounts=args.strict_mounts,
        host_network=args.host_network,
        network=args.network,
        git=not args.no_git,
        allow=args.allow,
        expose_env_files=args.expose_env_files,
        docker_socket=args.docker_socket,
        share_agent_home=args.share_agent_home,
        git_writable=args.git_writable,
        confirm=_confirm_project,
        fs=fs,
    )


def _confirm_project(found: firewall.ProjectAllow) -> bool:
    """Ask on the terminal whether a .claudex.toml may widen the firewall (or run MCP servers)."""
    if not sys.stdin.isatty():
        output.warn(
            f"{found.where} {found.asks}; ignored (not confirmed "
            f"yet: run claudex on a terminal once to confirm, or {found.instead})"
        )
        return False
    output.info(f"{found.where} {found.asks}")
    if output.confirm("allow these for sessions of this directory?"):
        return True
    output.info("not allowed this time (asked again at the next start)")
    return False


def _build_if_missing(client: DockerClient, config: Config, host_ca: bool = True) -> None:
    host_ca = host_ca and config.host_ca
    from claudex_tui.commands.image import build_progress

    if not image_state(client, config.image).exists and not sys.stdin.isatty():
        # Building takes minutes: only on a terminal, where the user sees the progress.
        raise ImageError(
            f"image {config.image!r} is missing",
            "build it with `claudex build` (or run claudex on a terminal to build it now)",
        )
    bar = output.Progress(f"building image {config.image} (first run, takes minutes)")
    try:
        image = ensure_image(
            client,
            config.image,
            ca_files=[str(p) for p in config.ca_certs],
            host_ca=host_ca,
            on_progress=build_progress(bar),
        )
    finally:
        bar.close()
    reason = image.stale_reason()
    if reason:
        output.warn(f"image {config.image} is out of date ({reason}); run `claudex build`")


def _ready_client(config: Config, host_ca: bool = True) -> DockerClient:
    client = connect_or_offer()  # none answers: offers to start one (root on Debian)
    _build_if_missing(client, config, host_ca)
    return client


def start(args: argparse.Namespace) -> tuple[SessionInfo, Sessions]:
    config = load_config()
    engine = current_engine()
    client = None
    fs: HostFS = LOCAL
    if engine.is_remote:
        # The directories are that host's: looked at there, with the image the helper needs.
        client = _ready_client(config, not args.no_host_ca)
        fs = host_fs(engine, client, config.image)
    try:
        req = _request(args, config, fs)  # here: bad directories before the engine is asked
    finally:
        fs.close()
    host = f"THE HOST OF ENGINE {engine.name}" if engine.is_remote else "THIS HOST"
    if args.docker_socket:
        output.warn(
            f"--docker-socket: the agent can control the Docker Engine, which gives it ROOT ON "
            f"{host}. Use only with agents and code you trust."
        )
    if args.share_agent_home and not engine.is_remote:
        output.warn(
            "--share-agent-home: the agent reads and writes your ~/.claude, ~/.claude.json and "
            "~/.codex: your logins, every project's transcripts, and settings and hooks that "
            "run when you next use claude or codex on THIS HOST. Use only with agents and code "
            "you trust."
        )
    elif args.share_agent_home:
        output.warn(
            f"--share-agent-home: this machine's logins are not shared with a session on "
            f"{engine.name}; log in inside the session"
        )
    if args.git_writable:
        output.warn(
            f"--git-writable: the agent can write the .git/config and hooks of the mounted "
            f"repositories: your next git command in them may run its programs on {host}"
        )
    if args.host_network:
        output.warn("--host-network: the session shares the host's network and has NO firewall")
    client = client or _ready_client(config, not args.no_host_ca)
    sessions = Sessions(client)
    want = args.isolated if args.isolated is not None else (args.parallel and config.isolated)
    # On a remote engine the copies are made on its host (container.isolated_remote).
    far = EngineCopies(client, config.image, engine.name) if engine.is_remote else None
    try:
        req, copied = isolate_request(
            sessions,
            req,
            want=want,
            git_writable=args.git_writable,
            remote=engine.is_remote,
            step=output.info,
            engine_copies=far,
        )
        try:
            result = sessions.start_session(req, on_step=output.info)
        except BaseException:
            if copied and req.name:  # a session that was never made leaves no copies behind
                discard_unused(sessions, req.name, far)
            raise
    finally:
        if far is not None:
            far.close()
    for warning in result.warnings:
        output.warn(warning)
    if req.plan.hidden_env_files:
        output.info(
            "hidden from the agent (--expose-env-files to show): "
            + ", ".join(req.plan.hidden_env_files)
        )
    verb = "created" if result.created else ("started" if result.started else "reusing")
    output.info(f"{verb} session {result.session.name}")
    record_baseline(sessions, result.session, output.info, output.warn)
    return result.session, sessions


def run(args: argparse.Namespace) -> int:
    session, _ = start(args)
    if args.detach:
        print(session.name)
        return 0
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        output.info("not attaching: not a terminal (use --detach in scripts)")
        print(session.name)
        return 0
    from claudex_tui.commands.dashboard import open_dashboard
    from widgets.session_list import row_key

    engine = current_engine().name
    return open_dashboard(select=row_key(replace(session, engine=engine)), focus_terminal=True)
