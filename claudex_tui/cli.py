"""The `claudex` command line. Non-dashboard commands never import Textual (fast start)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from container.errors import ClaudexError, UsageError
from container.version import __version__

COMMANDS_HELP = """\
commands:
  claudex [DIRS...]        start (or reuse) the session for DIRS (default: .) and open it
  claudex build            build the session image
  claudex update           rebuild the image with the newest agent CLIs
  claudex list             list sessions
  claudex destroy          remove sessions
  claudex push PATH...     copy files into a session
  claudex pull PATH...     copy files out of a session
  claudex shell [NAME]     a plain shell in a session, as the agent user

Run `claudex COMMAND --help` for the options of a command.
A directory whose name is a command is given as ./NAME.
"""


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one clear line) instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.startswith("unrecognized arguments"):
            unknown = message.split(":", 1)[1].strip()
            raise UsageError(
                f"unknown option: {unknown}",
                f"see `{self.prog} --help` (a directory starting with '-' goes after `--`)",
            )
        raise UsageError(message, f"see `{self.prog} --help`")


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
    p.add_argument("--agent", choices=["claude", "codex", "shell"], help="agent to run")
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
        "--expose-env-files",
        action="store_true",
        help="do not hide top-level .env and .env.* files from the agent",
    )
    return p


def _sub(name: str, help_text: str) -> Parser:
    return Parser(prog=f"claudex {name}", description=help_text)


def _build_parser(name: str) -> Parser:
    what = {
        "build": "Build the claudex session image from the context shipped with claudex.",
        "update": "Rebuild the image, refreshing the agent CLIs (Claude Code, Codex) from npm.",
    }[name]
    p = _sub(name, what)
    p.add_argument("--no-cache", action="store_true", help="rebuild every layer")
    p.add_argument(
        "--ca-cert",
        action="append",
        default=[],
        metavar="FILE",
        help="extra CA certificate (PEM, a bundle is fine) to trust during the build; repeatable",
    )
    return p


def _list_parser() -> Parser:
    p = _sub("list", "List claudex sessions (also those made by the Go tool).")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--all", "-a", action="store_true", help="all sessions (default)")
    state.add_argument("--running", action="store_true", help="running sessions only")
    state.add_argument("--stopped", action="store_true", help="sessions that are not running")
    p.add_argument("--format", choices=["table", "json", "names"], default="table")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="name=GLOB, signature=HASH or slug=GLOB (repeatable)",
    )
    return p


def _destroy_parser() -> Parser:
    p = _sub("destroy", "Remove sessions (only containers carrying the claudex labels).")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--name", help="the session of this name (a glob works too)")
    which.add_argument("--signature", metavar="HASH", help="sessions with this signature")
    which.add_argument("--all", action="store_true", help="every session")
    which.add_argument("--prune-stopped", action="store_true", help="every stopped session")
    p.add_argument("--running", action="store_true", help="only running ones")
    p.add_argument("--stopped", action="store_true", help="only stopped ones")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="narrow the selection: name=GLOB, signature=HASH or slug=GLOB (repeatable)",
    )
    p.add_argument("--force", "-f", action="store_true", help="do not ask")
    return p


def _push_parser() -> Parser:
    p = _sub("push", "Copy host files or directories into a session.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--name", help="session (default: the one for the current directory)")
    p.add_argument("--to", default="/workspace", metavar="CONTAINER_DIR")
    p.add_argument("--force", "-f", action="store_true", help="overwrite existing files")
    return p


def _pull_parser() -> Parser:
    p = _sub("pull", "Copy files or directories out of a session (running or stopped).")
    p.add_argument("paths", nargs="+", metavar="CONTAINER_PATH [DEST_DIR]")
    p.add_argument("--name", help="session (default: the one for the current directory)")
    p.add_argument("--force", "-f", action="store_true", help="overwrite existing files")
    return p


def _shell_parser() -> Parser:
    p = _sub("shell", "Open a plain interactive shell in a session, as the agent user.")
    p.add_argument("name", nargs="?", help="session (default: the one for the current directory)")
    return p


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    # Imported on use, so `claudex list` loads only what listing needs.
    if command in ("build", "update"):
        from claudex_tui.commands import image

        return image.run_update if command == "update" else image.run_build
    if command in ("list", "ls"):
        from claudex_tui.commands import listing

        return listing.run
    if command == "destroy":
        from claudex_tui.commands import destroy

        return destroy.run
    if command in ("push", "pull"):
        from claudex_tui.commands import transfer

        return transfer.run_push if command == "push" else transfer.run_pull
    if command == "shell":
        from claudex_tui.commands import shell

        return shell.run
    from claudex_tui.commands import start

    return start.run


PARSERS: dict[str, Callable[[], Parser]] = {
    "build": lambda: _build_parser("build"),
    "update": lambda: _build_parser("update"),
    "list": _list_parser,
    "ls": _list_parser,
    "destroy": _destroy_parser,
    "push": _push_parser,
    "pull": _pull_parser,
    "shell": _shell_parser,
}


def parse(argv: Sequence[str]) -> tuple[str, argparse.Namespace]:
    args = list(argv)
    if args and args[0] in PARSERS:
        return args[0], PARSERS[args[0]]().parse_args(args[1:])
    return "start", _start_parser().parse_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        command, ns = parse(sys.argv[1:] if argv is None else argv)
        return _handler(command)(ns)
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
