"""Textual widgets of the claudex dashboard."""
