"""When no Docker Engine answers: on a terminal, offer to install and start one (root on
Debian/Ubuntu, as the test command does); `claudex doctor --fix --yes` does it for scripts;
otherwise one line saying what to run. Used by `claudex [DIRS]`, `claudex dashboard` and
`claudex doctor --fix`."""

from __future__ import annotations

import sys
from dataclasses import replace

from claudex_tui import output
from container import engine
from container.engine import DockerClient
from container.engine_fix import host_facts
from container.engine_setup import YES_COMMAND, Offer, decide, has_apt, start_engine
from container.errors import EngineUnavailable

QUESTION = (
    "No Docker Engine answers. Install (if needed) and start one now, as the test command does?"
)


def offer(yes: bool = False) -> Offer:
    """What to do here when the engine is down (nothing is asked yet)."""
    if engine.selected() is not None:  # --engine NAME: that engine's host, never this one
        return Offer.FIX
    # The engine claudex would ask (DOCKER_HOST, else the docker context's, else the local one).
    facts = replace(host_facts(), docker_host=engine.describe_host())
    return decide(facts, has_apt(), sys.stdin.isatty(), yes)


def connect_or_offer(yes: bool = False) -> DockerClient:
    """A client for the engine; when none answers, get one started as `offer` decides, or raise
    EngineUnavailable whose hint says what to run."""
    try:
        return engine.connect()
    except EngineUnavailable as exc:
        if "permission denied" in exc.message:  # it runs: starting another would not help
            raise
        start_or_explain(exc, offer(yes))
    return engine.connect()


def start_or_explain(exc: EngineUnavailable, what: Offer) -> None:
    """Start the engine (after asking when `what` says so), or raise what to run instead."""
    yourself = exc.hint or "start the Docker Engine"
    if what is Offer.FIX:
        raise exc
    if what is Offer.TELL:
        raise EngineUnavailable(
            exc.message,
            f"to install and start one as the test command does: {YES_COMMAND} "
            f"(or yourself: {yourself})",
        )
    if what is Offer.ASK:
        output.info(exc.message)
        if not output.confirm(QUESTION):
            raise EngineUnavailable(
                "no Docker Engine answers", f"not installing; to do it yourself: {yourself}"
            )
    output.info("installing (if needed) and starting a Docker Engine")
    code = start_engine()
    if code != 0:
        raise EngineUnavailable(
            f"the Docker Engine could not be started (ensure_engine.sh exited {code})", yourself
        )
    output.info("the Docker Engine answers now")
