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
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen

#: One shown key: (key, key display, description, action, enabled, tooltip, group name)
KeyShown = tuple[str, str, str, str, bool, str, str | None]


def shown(
    display: str, binding: Binding, enabled: bool, tooltip: str, group: str | None
) -> KeyShown:
    """The parts of one binding that the footer draws."""
    return (binding.key, display, binding.description, binding.action, enabled, tooltip, group)


#: The console's actions a screen other than the main one shows right after its own keys,
#: before the console's other keys (sync, migrate, conflicts ...): at 80 columns the footer
#: cuts what comes last, and there ``?`` and ``q`` matter more than keys about the panes.
CONSOLE_FIRST = ("help", "quit")

#: Below this many columns the footer drops the padding around keys (``Footer.compact``) and
#: the palette's key, so the main screen's keys fit in 80 columns.
COMPACT_BELOW = 100


class KeyFooter(Footer):
    """A ``Footer`` that skips the recompose when the shown keys are unchanged, compact
    below :data:`COMPACT_BELOW` columns.

    Keys show in the order of the screen's active bindings (the focused widget's, the
    screen's, then the console's), except that the console's actions named in
    ``console_first`` come right after the screen's own keys (default
    :data:`CONSOLE_FIRST`; the main screen passes ``()``: there the console's keys are the
    screen's and keep their ``BINDINGS`` order)."""

    def on_resize(self, event: events.Resize) -> None:
        """Compact on a narrow terminal, and without the palette's key there (``?`` lists
        it); roomy on a wide one."""
        narrow = event.size.width < COMPACT_BELOW
        self.compact = narrow
        self.show_command_palette = not narrow

    def __init__(
        self,
        *,
        console_first: tuple[str, ...] = CONSOLE_FIRST,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        #: the console's actions shown right after the screen's own keys
        self.console_first = console_first
        #: the keys the footer shows now (None before its first compose with bindings)
        self.shown: tuple[KeyShown, ...] | None = None

    def bindings_shown(self) -> list[tuple[Binding, bool, str]]:
        """(binding, enabled, tooltip) of each key to show, one per action, in the order
        drawn: the screen's own keys, the console's :attr:`console_first`, the console's
        others (the palette's key is apart: :meth:`keys_wanted`)."""
        app = self.app
        own: list[tuple[Binding, bool, str]] = []
        first: dict[str, tuple[Binding, bool, str]] = {}
        rest: list[tuple[Binding, bool, str]] = []
        actions: set[str] = set()
        for node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in actions:
                continue  # one key per action, the first bound (as Footer.compose shows)
            actions.add(binding.action)
            entry = (binding, enabled, tooltip)
            if node is not app:
                own.append(entry)
            elif binding.action in self.console_first:
                first[binding.action] = entry
            else:
                rest.append(entry)
        ordered = [first[action] for action in self.console_first if action in first]
        return own + ordered + rest

    def keys_wanted(self) -> tuple[KeyShown, ...]:
        """What the footer would show now: :meth:`bindings_shown`, then the command
        palette's key."""
        app = self.app
        wanted: list[KeyShown] = []
        for binding, enabled, tooltip in self.bindings_shown():
            group = binding.group.description if binding.group is not None else None
            wanted.append(shown(app.get_key_display(binding), binding, enabled, tooltip, group))
        palette = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE and palette is not None:
            _node, binding, enabled, tooltip = palette
            wanted.append(shown(app.get_key_display(binding), binding, enabled, tooltip, "⌘"))
        return tuple(wanted)

    def compose(self) -> ComposeResult:
        """One key per action in the order of :meth:`bindings_shown`, then the palette's
        (``Footer.compose`` without key groups, which the console does not use)."""
        if not self._bindings_ready:
            return
        keys = self.bindings_shown()
        self.styles.grid_size_columns = len(keys)
        for binding, enabled, tooltip in keys:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette is not None:
            _node, binding, enabled, tooltip = palette
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

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
