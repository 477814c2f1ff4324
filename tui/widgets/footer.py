"""The key bar at the bottom of a screen, rebuilt only when the keys it shows change.

Textual's ``Footer`` recomposes (removes and mounts one widget per key) every time the screen
publishes ``bindings_updated``, which it does on every focus change, and the console does
when the sync state changes. Most of those leave the shown keys as they were (the two
project trees have the same bindings), yet each recompose cost ~145 ms of CPU with the
console's keys (bench/console.py, "switch pane"). :class:`KeyFooter` compares what it would
show with what it shows and recomposes only on a difference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events
from textual.binding import Binding
from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

#: One shown key: (key, key display, description, action, enabled, tooltip, group name)
KeyShown = tuple[str, str, str, str, bool, str, str | None]


def shown(
    display: str, binding: Binding, enabled: bool, tooltip: str, group: str | None
) -> KeyShown:
    """The parts of one binding that the footer draws."""
    return (binding.key, display, binding.description, binding.action, enabled, tooltip, group)


#: Below this many columns the footer drops the padding around keys (``Footer.compact``) and
#: the palette's key, so the main screen's keys fit in 80 columns.
COMPACT_BELOW = 100


class KeyFooter(Footer):
    """A ``Footer`` that skips the recompose when the shown keys are unchanged, compact
    below :data:`COMPACT_BELOW` columns."""

    def on_resize(self, event: events.Resize) -> None:
        """Compact on a narrow terminal, and without the palette's key there (``?`` lists
        it); roomy on a wide one."""
        narrow = event.size.width < COMPACT_BELOW
        self.compact = narrow
        self.show_command_palette = not narrow

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: the keys the footer shows now (None before its first compose with bindings)
        self.shown: tuple[KeyShown, ...] | None = None

    def keys_wanted(self) -> tuple[KeyShown, ...]:
        """What the footer would show now: every shown binding of the screen's active
        bindings, then the command palette's key (the order ``Footer.compose`` uses)."""
        active = self.screen.active_bindings
        app = self.app
        wanted: list[KeyShown] = []
        for _node, binding, enabled, tooltip in active.values():
            if binding.show:
                group = binding.group.description if binding.group is not None else None
                wanted.append(shown(app.get_key_display(binding), binding, enabled, tooltip, group))
        palette = active.get(app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE and palette is not None:
            _node, binding, enabled, tooltip = palette
            wanted.append(shown(app.get_key_display(binding), binding, enabled, tooltip, "⌘"))
        return tuple(wanted)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """The screen's bindings may have changed: recompose after the next refresh, only
        if the shown keys differ then."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        wanted = self.keys_wanted()
        if wanted == self.shown:
            return
        self.shown = wanted
        await self.recompose()
