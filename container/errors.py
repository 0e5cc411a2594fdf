"""Errors that reach the user as one clear message (and a hint saying what to do)."""

from __future__ import annotations


class ClaudexError(Exception):
    """A failure the user can act on. `str()` is the message; `hint` says what to do next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class EngineUnavailable(ClaudexError):
    """The Docker Engine cannot be reached (down, wrong DOCKER_HOST, no permission)."""


class SessionNotFound(ClaudexError):
    """No claudex session matches the name or signature given."""


class SessionConflict(ClaudexError):
    """A name is taken by a session with other mounts, or mounts differ under --strict-mounts."""


class SessionNotRunning(ClaudexError):
    """The command needs a running session."""


class ImageError(ClaudexError):
    """The image is missing or its build failed."""


class UsageError(ClaudexError):
    """Bad arguments or paths given on the command line."""

    exit_code = 2


class SessionGone(SessionNotFound):
    """The session was removed while claudex was using it (another command destroyed it)."""
