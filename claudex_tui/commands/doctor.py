"""`claudex doctor`: is this machine ready for sessions? One line per check, with the fix."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_tui.output import _color
from container.doctor_checks import Check, skipped

if TYPE_CHECKING:
    from claudex_tui.config import Config

STATUS_COLORS = {"ok": "32", "warning": "33", "failed": "1;31", "skipped": "2"}


def arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.description = (
        "Check that claudex can run sessions here: the Docker Engine (reachable, version, API, "
        "rootless or not, storage driver, cgroups), the image (present, current, size), the "
        "firewall's needs (iptables, ip6tables, ipset and NET_ADMIN, tried in a throw-away "
        "container), DNS of the default allowed names (from the host), the agents' login "
        "files, the config file, free disk space, and every other configured engine. Prints "
        "one line per check (ok, warning, failed, or skipped when an earlier check failed) "
        "with the fix; exits 1 when a check failed."
    )
    p.add_argument("--format", choices=["text", "json"], default="text", help="json: for scripts")
    p.add_argument("--image", metavar="NAME", help="image to check (default: the config's)")
    p.add_argument(
        "--fix",
        action="store_true",
        help="when no Docker Engine answers and this is root on Debian/Ubuntu, install (if "
        "needed) and start one as the test command does, asking first; elsewhere the engine "
        "line says what to run",
    )
    p.add_argument("--yes", "-y", action="store_true", help="with --fix: do not ask (for scripts)")


def finish_arguments(ns: argparse.Namespace) -> None:
    """doctor chooses the --engine itself: finding it reads the config, and a config that
    cannot be read is one of the things doctor reports (its own failed line), not a stop."""
    ns.doctor_engine, ns.engine = getattr(ns, "engine", None), None


def format_line(check: Check, name_width: int = 12, stream: object = None) -> str:
    """`status  name  detail  fix: ...` on one line (colored on a terminal)."""
    status = _color(STATUS_COLORS[check.status], f"{check.status:<8}", stream or sys.stdout)
    line = f"{status} {check.name:<{name_width}} {check.detail}"
    if check.fix and check.status != "ok":
        line += f"  fix: {check.fix}"
    return line


def format_report(checks: Sequence[Check], stream: object = None) -> str:
    width = max((len(c.name) for c in checks), default=0)
    return "\n".join(format_line(c, width, stream) for c in checks)


def format_json(checks: Sequence[Check]) -> str:
    return json.dumps([c.as_json() for c in checks], indent=2)


def summary(checks: Sequence[Check], seconds: float) -> str:
    counts = {s: sum(c.status == s for c in checks) for s in STATUS_COLORS}
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    return f"{len(checks)} checks in {seconds:.1f}s: " + ", ".join(parts)


def exit_code(checks: Sequence[Check]) -> int:
    return 1 if any(c.status == "failed" for c in checks) else 0


def _choose_engine(name: str | None, config: Config, config_failed: bool) -> Check | None:
    """Point connect() at the engine --engine named; a failed line when there is none."""
    if not name:
        return None
    from container import engine
    from container.engines import available_engines, find_engine
    from container.errors import ClaudexError

    try:
        engine.select(find_engine(name, available_engines(config.engines)))
    except ClaudexError as exc:
        why = " (the config, which names engines, could not be read)" if config_failed else ""
        return Check("engine", "failed", exc.message + why, exc.hint or "")
    return None


def run_checks(image: str | None, engine_name: str | None = None) -> list[Check]:
    from claudex_tui.config import Config, ConfigError, load_config
    from claudex_tui.config_path import config_path
    from container import doctor_checks as dc
    from container.engine import connect
    from container.engines import current_engine
    from container.firewall import DEFAULT_ALLOW
    from container.state import state_dir

    checks: list[Check] = []
    try:
        config = load_config()
        where = config_path()
        checks.append(
            Check("config", "ok", f"{where}" if where.exists() else f"{where}: none (defaults)")
        )
    except ConfigError as exc:
        checks.append(
            Check(
                "config",
                "failed",
                f"{exc.message} (the checks below use the defaults)",
                exc.hint or "fix the file",
            )
        )
        config = Config()
    image = image or config.image
    unknown = _choose_engine(engine_name, config, checks[0].status == "failed")
    engine = current_engine()

    # Slow, independent checks run meanwhile: DNS lookups and the other engines.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="doctor")
    dns = pool.submit(dc.check_dns, DEFAULT_ALLOW)
    others = pool.submit(dc.check_engines, config.engines)

    if unknown is None:
        line, client, facts = dc.check_engine(engine.host, connect)
    else:  # --engine named none that is known: nothing to ask
        line, client, facts = unknown, None, None
    checks.append(line)
    if client is None:
        checks += [
            skipped("image", "the engine did not answer"),
            skipped("firewall", "the engine did not answer"),
        ]
    else:
        line, usable = dc.check_image(client, image, [str(p) for p in config.ca_certs])
        checks.append(line)
        checks.append(
            dc.check_firewall(client, image)
            if usable
            else skipped("firewall", f"image {image} is missing")
        )
    checks.append(dns.result())
    checks.append(dc.check_logins(Path.home()))
    checks.append(dc.check_engine_disk(facts, engine.is_remote))
    checks.append(dc.check_disk("disk-state", str(state_dir()), "state dir"))
    checks += others.result()
    pool.shutdown(wait=False)
    return checks


def _fix_engine(yes: bool) -> None:
    """--fix: get the local engine started if none answers (the checks then see it)."""
    from claudex_tui import output
    from claudex_tui.commands.engine_offer import connect_or_offer
    from container.errors import ClaudexError

    try:
        connect_or_offer(yes).close()
    except ClaudexError as exc:  # the engine line below fails too, with its own fix
        output.error(exc)


def run(args: argparse.Namespace) -> int:
    if args.yes and not args.fix:
        from container.errors import UsageError

        raise UsageError("--yes goes with --fix", "claudex doctor --fix --yes")
    if args.fix and not getattr(args, "doctor_engine", None):
        _fix_engine(args.yes)
    started = time.monotonic()
    checks = run_checks(args.image, getattr(args, "doctor_engine", None))
    if args.format == "json":
        print(format_json(checks))
    else:
        print(format_report(checks))
        from claudex_tui import output

        output.info(summary(checks, time.monotonic() - started))
    return exit_code(checks)
