"""Screens of the dashboard, one per file, each with its own styles."""
