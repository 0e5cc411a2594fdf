"""The dashboard's footer: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


def shown_keys(screen: Screen[object]) -> tuple[object, ...]:
    """What the footer shows of the screen's active bindings."""
    return tuple(
        (binding.key, binding.description, binding.action, enabled, tooltip)
        for (_, binding, enabled, tooltip) in screen.active_bindings.values()
        if binding.show
    )


class DashboardFooter(Footer):
    """Textual's footer recomposes (every key a new widget) on each focus change; switching
    sessions moves the focus from one terminal to another with the same keys, and that
    rebuild was a good part of the switch. Here it happens only when the keys differ."""

    _shown: tuple[object, ...] | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        if not (self._bindings_ready and screen.app.app_focus and screen is self.screen):
            super().bindings_changed(screen)
            return
        shown = shown_keys(screen)
        if shown == self._shown:
            return
        self._shown = shown
        super().bindings_changed(screen)
