"""`claudex build` and `claudex update`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from claudex_tui import output
from claudex_tui.config import load_config
from container.engine import connect
from container.image import BuildProgress, build_image, context_hash, up_to_date


def build_progress(bar: output.Progress) -> Callable[[BuildProgress], None]:
    def show(p: BuildProgress) -> None:
        bar.update(p.step, p.total, p.line)

    return show


def build_with_progress(
    image: str, ca_files: list[str], *, no_cache: bool = False, refresh_agents: bool = False
) -> None:
    client = connect(timeout=3600)
    bar = output.Progress(f"building {image}")
    started = time.monotonic()
    try:
        build_image(
            client,
            image,
            ca_files=ca_files,
            no_cache=no_cache,
            refresh_agents=refresh_agents,
            on_progress=build_progress(bar),
        )
    finally:
        bar.close()
    output.info(
        f"built image {image} (context {context_hash()}) in {time.monotonic() - started:.0f}s"
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


def _ca_files(args: argparse.Namespace) -> list[str]:
    config = load_config()
    return [*map(str, config.ca_certs), *args.ca_cert]


def run_build(args: argparse.Namespace) -> int:
    image, ca_files = load_config().image, _ca_files(args)
    if not args.no_cache and up_to_date(connect(), image, ca_files):
        output.info(f"image {image} is up to date (context {context_hash()}); --no-cache rebuilds")
        return 0
    build_with_progress(image, ca_files, no_cache=args.no_cache)
    return 0


def run_update(args: argparse.Namespace) -> int:
    build_with_progress(
        load_config().image, _ca_files(args), no_cache=args.no_cache, refresh_agents=True
    )
    return 0
