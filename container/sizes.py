"""Byte counts as people read them (pure: the widgets use it too)."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    """`1536` -> `1.5 KiB`; bytes stay whole."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
