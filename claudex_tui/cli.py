"""The `claudex` command line. Non-dashboard commands never import Textual (fast start)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from claudex_tui.commands.session_arg import merge_session_name
from container.agents import AGENTS
from container.errors import ClaudexError, UsageError
from container.version import __version__

COMMANDS_HELP = """\
commands:
  claudex [DIRS...]            start (or reuse) the session for DIRS (default: .), open the
                               dashboard on it
  claudex build                build the session image
  claudex update               rebuild the image with the newest agent CLIs
  claudex list                 list sessions
  claudex destroy [--name NAME]
                               remove sessions (asks first)
  claudex push PATH...         copy files into a session
  claudex pull PATH... [DEST]  copy files out of a session (DEST is made if missing)
  claudex attach [NAME]        the agent's terminal here, without the dashboard
  claudex shell [NAME]         a plain shell in a session, as the agent user
  claudex dashboard [--name NAME]
                               the dashboard, without starting a session
  claudex firewall status [NAME]
  claudex firewall allow|deny NAME DOMAIN...
                               a session's firewall: see it, allow and deny live
  claudex diff [NAME] [PATH...]
                               what changed in a session since it started
  claudex checkpoint [NAME]    record the session's files as a checkpoint
  claudex log [NAME]           list a session's checkpoints
  claudex revert [NAME] PATH...
                               restore files to the last checkpoint
  claudex apply [PATH...] [--check] [--branch]
                               bring an isolated session's changes into your directories
  claudex compare A B          how two isolated sessions' results differ
  claudex doctor [--fix [--yes]]
                               check the engine, image, firewall, DNS, logins, config, disk;
                               --fix: no engine answers? install and start one (root on
                               Debian/Ubuntu; claudex DIRS offers it too on a terminal)
  claudex mcp list|add|remove  the config's MCP servers, each run in a container of its own

Every command that acts on a session takes --name NAME (those shown with NAME also take it
as their first word); without one, the session for the current directory. Options may come
before, between or after the other arguments. `claudex COMMAND --help` lists the options.
Every command takes --engine NAME: a Docker Engine from the config's [engines] or a context.
A directory whose name is a command is given as ./NAME.
"""


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one clear line) instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.startswith("unrecognized arguments"):
            unknown = message.split(":", 1)[1].strip()
            if not unknown.startswith("-"):  # a word too many, not a misspelt option
                raise UsageError(f"unexpected argument: {unknown}", f"see `{self.prog} --help`")
            raise UsageError(
                f"unknown option: {unknown}",
                f"see `{self.prog} --help` (a directory starting with '-' goes after `--`)",
            )
        raise UsageError(message, f"see `{self.prog} --help`")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Options may come anywhere (`pull PATH --name N DEST`): intermixed parsing, except
        where argparse cannot do it (subcommands) and after `--` (its intermixed parser
        loses the positionals there); it calls back here, hence the guard."""
        argv = list(sys.argv[1:] if args is None else args)
        positionals = self._get_positional_actions()
        plain = "--" in argv or any(
            a.nargs in (argparse.PARSER, argparse.REMAINDER) for a in positionals
        )
        if plain or getattr(self, "_intermixing", False):
            return super().parse_known_args(argv, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(argv, namespace)
        finally:
            self._intermixing = False


def _start_parser() -> Parser:
    p = Parser(
        prog="claudex",
        description="Run AI coding agents in sandboxed, firewalled, git-tracked Docker sessions.",
        epilog=COMMANDS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dirs", nargs="*", metavar="DIRS", help="directories to mount (default: .)")
    p.add_argument("--version", action="version", version=f"claudex {__version__}")
    p.add_argument("--name", help="session name (default: claudex-<slug>-<signature>)")
    p.add_argument(
        "--parallel", action="store_true", help="start another session for the same DIRS"
    )
    p.add_argument(
        "--isolated",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="work on the session's own copy of each read-write directory (a clone sharing "
        "objects for a git repository); `claudex apply` brings its changes back (default for "
        "--parallel: the config's `isolated`)",
    )
    p.add_argument("--replace", action="store_true", help="recreate the session if it exists")
    p.add_argument(
        "--strict-mounts",
        action="store_true",
        help="refuse to reuse a session whose mounts differ from the ones asked for",
    )
    p.add_argument(
        "--host-network",
        action="store_true",
        help="share the host's network: NO firewall at all",
    )
    p.add_argument("--network", metavar="NAME", help="Docker network for a new session")
    p.add_argument("--no-git", action="store_true", help="do not track changes in git")
    p.add_argument(
        "--no-host-ca",
        action="store_true",
        help="if the image must be built now, do not add the CAs this host trusts",
    )
    p.add_argument("--agent", choices=AGENTS, help="agent to run")
    p.add_argument(
        "--ro", action="append", default=[], metavar="DIR", help="mount DIR read-only (repeatable)"
    )
    p.add_argument(
        "--detach", "-d", action="store_true", help="start, print the name, do not attach"
    )
    p.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="allow DOMAIN (and its subdomains) through the firewall (repeatable)",
    )
    p.add_argument(
        "--docker-socket",
        action="store_true",
        help="mount the Docker socket (DANGEROUS: gives the agent root on the host)",
    )
    p.add_argument(
        "--git-writable",
        action="store_true",
        help="let the agent write the mounted repositories' .git/config, hooks and info "
        "(DANGEROUS: your next git command there may run what the agent wrote); by default "
        "they are read-only in the session, and commits and branches still work",
    )
    p.add_argument(
        "--share-agent-home",
        action="store_true",
        help="mount your ~/.claude, ~/.claude.json, ~/.codex, ~/.gemini and ~/.copilot "
        "read-write, shared with every "
        "such session (DANGEROUS: the agent reads all your transcripts and can plant hooks); "
        "by default each session gets its own home with a copy of your logins",
    )
    p.add_argument(
        "--expose-env-files",
        action="store_true",
        help="do not hide top-level .env and .env.* files from the agent",
    )
    _engine_option(p)
    return p


# command -> (module under claudex_tui.commands, its entry function, description).
# Each module has `arguments(name, parser)` and the entry function `(args) -> exit code`;
# modules are imported on use, so `claudex list` loads only what listing needs.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "build": (
        "image",
        "run_build",
        "Build the claudex session image from the context shipped "
        "with claudex (skipped when the image is up to date).",
    ),
    "update": (
        "image",
        "run_update",
        "Rebuild the image, refreshing the agent CLIs (Claude Code, Codex, Gemini CLI, Copilot "
        "CLI, opencode) from npm.",
    ),
    "list": ("listing", "run", "List claudex sessions (also those made by the Go tool)."),
    "ls": ("listing", "run", "List claudex sessions (also those made by the Go tool)."),
    "destroy": ("destroy", "run", "Remove sessions (only containers carrying the claudex labels)."),
    "push": ("transfer", "run_push", "Copy host files or directories into a session."),
    "pull": (
        "transfer",
        "run_pull",
        "Copy files or directories out of a session (running or stopped).",
    ),
    "shell": ("shell", "run", "Open a plain interactive shell in a session, as the agent user."),
    "attach": (
        "shell",
        "run_attach",
        "Attach this terminal to a session's agent, without the "
        "dashboard (Ctrl-] detaches; the agent keeps running).",
    ),
    "dashboard": ("dashboard", "run", "Open the dashboard without starting a session."),
    "firewall": ("firewall", "run", "See a session's firewall; allow or deny names live."),
    "diff": (
        "tracking",
        "run_diff",
        "Show what changed in a session since its baseline (the files when it started).",
    ),
    "checkpoint": ("tracking", "run_checkpoint", "Record the session's files as a checkpoint."),
    "log": ("tracking", "run_log", "List a session's checkpoints, newest first."),
    "revert": (
        "tracking",
        "run_revert",
        "Restore files or directories in a session to the last checkpoint.",
    ),
    "doctor": ("doctor", "run", "Check that claudex can run sessions here."),
    "apply": (
        "apply",
        "run",
        "Bring an isolated session's changes into your directories (lines changed there "
        "and by you since the session started are a conflict: nothing is written).",
    ),
    "compare": (
        "compare",
        "run",
        "Show how two isolated sessions' results differ (their copies, read as data).",
    ),
    "mcp": ("mcp", "run", "List, add and remove the MCP servers of the config ([mcp.NAME])."),
}


def _engine_option(p: argparse.ArgumentParser) -> None:
    """`--engine NAME`, the same on every command (see `select_engine`)."""
    p.add_argument(
        "--engine",
        metavar="NAME",
        help="Docker Engine to use: a name from the config's [engines] or a docker context "
        "(default: DOCKER_HOST or the local engine; `list` shows every engine)",
    )


def select_engine(ns: argparse.Namespace) -> None:
    """Point every `connect()` of this process at the engine --engine names."""
    name = getattr(ns, "engine", None)
    if not name:
        return
    from claudex_tui.config import load_config
    from container import engine
    from container.engines import available_engines, find_engine

    engine.select(find_engine(name, available_engines(load_config().engines)))


def _command(
    name: str, argv: list[str]
) -> tuple[Callable[[argparse.Namespace], int], argparse.Namespace]:
    module_name, function, description = COMMANDS[name]
    module = importlib.import_module(f"claudex_tui.commands.{module_name}")
    parser = Parser(prog=f"claudex {name}", description=description)
    module.arguments(name, parser)
    _engine_option(parser)
    ns = parser.parse_args(argv)
    finish = getattr(module, "finish_arguments", None)
    if finish is not None:  # a module's own checks that argparse cannot express
        finish(ns)
    merge_session_name(ns)
    return getattr(module, function), ns


def _run_start(args: argparse.Namespace) -> int:
    from claudex_tui.commands import start

    return start.run(args)


def parse(argv: Sequence[str]) -> tuple[Callable[[argparse.Namespace], int], argparse.Namespace]:
    """The entry function for argv and its parsed arguments."""
    args = list(argv)
    if args and args[0] in COMMANDS:
        return _command(args[0], args[1:])
    return _run_start, _start_parser().parse_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        entry, ns = parse(sys.argv[1:] if argv is None else argv)
        select_engine(ns)
        return entry(ns)
    except ClaudexError as exc:
        from claudex_tui import output

        output.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nclaudex: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one readable message, the traceback on request
        if os.environ.get("CLAUDEX_DEBUG"):
            raise
        from claudex_tui import output

        output.error(
            ClaudexError(
                f"unexpected {type(exc).__name__}: {exc}",
                "this is a bug in claudex; run again with CLAUDEX_DEBUG=1 to see where",
            )
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
