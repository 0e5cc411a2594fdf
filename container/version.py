"""The one place the claudex version lives (labels on images and sessions carry it)."""

__version__ = "0.1.0"
