"""`claudex build` and `claudex update`."""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable

from claudex_tui import output
from claudex_tui.config import load_config
from container.build_progress import duration, size, summary
from container.engine import connect
from container.image import (
    BuildProgress,
    build_ca_files,
    build_image,
    ca_change,
    context_hash,
    image_state,
    split_certificates,
    trusted_summary,
    up_to_date,
)


def build_progress(bar: output.Progress) -> Callable[[BuildProgress], None]:
    """Show a build: on a terminal one line redrawn each second (a bar, then the step, elapsed
    time, estimate, downloaded size and the step's instruction), elsewhere (logs, CI) one line
    per step."""
    last_step = [-1]

    def show(p: BuildProgress) -> None:
        if last_step[0] < 0:  # the bar's label once, as a line of its own
            print(f"claudex: {bar.label}", file=bar.stream, flush=True)
            last_step[0] = 0
        if bar.tty:
            columns = shutil.get_terminal_size((80, 24)).columns
            filled = int(12 * p.step / p.total) if p.total else 0
            line = f"{'█' * filled}{'░' * (12 - filled)} {summary(p, width=columns)}"
            bar.stream.write("\r\x1b[2K" + line[: columns - 1])
            bar.stream.flush()
        elif p.step != last_step[0] and p.total:
            last_step[0] = p.step
            print(summary(p, width=100), file=bar.stream, flush=True)

    return show


def build_with_progress(
    image: str,
    ca_files: list[str],
    *,
    host_ca: bool = True,
    no_cache: bool = False,
    refresh_agents: bool = False,
) -> None:
    client = connect(timeout=3600)
    bar = output.Progress(f"building image {image}; CAs: {trusted_summary(ca_files, host_ca)}")
    started = time.monotonic()
    seen: list[BuildProgress] = []
    show = build_progress(bar)

    def follow(p: BuildProgress) -> None:
        seen[:] = [p]
        show(p)

    try:
        build_image(
            client,
            image,
            ca_files=ca_files,
            host_ca=host_ca,
            no_cache=no_cache,
            refresh_agents=refresh_agents,
            on_progress=follow,
        )
    finally:
        bar.close()
    fetched = f", {size(seen[0].downloaded)} downloaded" if seen and seen[0].downloaded else ""
    output.info(
        f"built image {image} (context {context_hash()}) in "
        f"{duration(time.monotonic() - started)}{fetched}"
    )


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true", help="rebuild every layer")
    p.add_argument(
        "--ca-cert",
        action="append",
        default=[],
        metavar="FILE",
        help="extra CA certificate (PEM, a bundle is fine) to trust during the build; repeatable",
    )
    p.add_argument(
        "--no-host-ca",
        action="store_true",
        help="do not add the CAs this host trusts (SSL_CERT_FILE, else the system bundle)",
    )


def _ca_files(args: argparse.Namespace) -> list[str]:
    config = load_config()
    return [*map(str, config.ca_certs), *args.ca_cert]


def run_build(args: argparse.Namespace) -> int:
    config = load_config()
    image, ca_files, host_ca = config.image, _ca_files(args), config.host_ca and not args.no_host_ca
    client = connect()
    if not args.no_cache and up_to_date(client, image, ca_files, host_ca=host_ca):
        output.info(f"image {image} is up to date (context {context_hash()}); --no-cache rebuilds")
        return 0
    state = image_state(client, image)
    why = state.stale_reason() or (
        state.exists and ca_change(state, split_certificates(build_ca_files(ca_files, host_ca)))
    )
    if why:
        output.info(f"rebuilding image {image}: {why}")
    build_with_progress(image, ca_files, host_ca=host_ca, no_cache=args.no_cache)
    return 0


def run_update(args: argparse.Namespace) -> int:
    config = load_config()
    build_with_progress(
        config.image,
        _ca_files(args),
        host_ca=config.host_ca and not args.no_host_ca,
        no_cache=args.no_cache,
        refresh_agents=True,
    )
    return 0
