"""claudex: AI coding agents in sandboxed Docker sessions, driven from one dashboard."""

from container.version import __version__

__all__ = ["__version__"]
