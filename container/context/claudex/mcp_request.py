"""What the per-session MCP broker accepts from the agent's side (see the README's design): one
line, `start NAME`, for a NAME the host configured for that session. Everything else about the
server (image, command, env, mounts, allow-list) comes from the host, never from the request,
so this is the whole of what the agent can say to the part of claudex that holds the engine."""

from __future__ import annotations

from collections.abc import Collection

REQUEST_LIMIT = 64  # bytes: "start " and a name of at most 32
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


class Refused(Exception):
    """A request the broker does not carry out; the message is what it records and answers."""


def parse_request(line: bytes, configured: Collection[str]) -> str:
    """The server NAME of a `start NAME` request line, or Refused saying why."""
    if len(line) > REQUEST_LIMIT:
        raise Refused("request too long")
    if not line.endswith(b"\n"):
        raise Refused("request not ended by a newline")
    try:
        text = line[:-1].decode("ascii")
    except UnicodeDecodeError:
        raise Refused("request is not ASCII") from None
    verb, sep, name = text.partition(" ")
    if verb != "start" or not sep:
        raise Refused("only `start NAME` is accepted")
    if not name or not set(name) <= _NAME_CHARS or name[0] in "-_":
        raise Refused("not a server name")
    if name not in configured:
        raise Refused(f"{name} is not configured for this session")
    return name
