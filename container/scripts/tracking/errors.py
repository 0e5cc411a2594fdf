"""The failures a command reports: their kind decides the exit code."""

from __future__ import annotations


class Failure(Exception):
    """An error to report on stderr (exit 2)."""


class NoBaseline(Failure):
    """The baseline snapshot has not been taken (exit 3)."""


class Blocked(Failure):
    """A named pipe in the work tree held git: trying again would only wait again."""
