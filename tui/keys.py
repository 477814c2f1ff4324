"""What each key does on a screen: the one source of the ``?`` help and the command palette.

:func:`bound_actions` reads a screen's active bindings (the focused widget's, the screen's and
the console's, as Textual dispatches keys: a key the screen binds hides the console's) and gives
one :class:`BoundAction` per action with every key bound to it, in our words. The help lists
them all (:meth:`tui.app.RailfiestaApp.key_groups`); the palette offers each console action
once (:func:`palette_actions`), with the binding's ``tooltip`` as its explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.screen import Screen

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

#: Actions of the generic cursor, scrolling and paging keys (the help collapses them).
NAVIGATION_PREFIXES = ("cursor_", "scroll_", "page_")
NAVIGATION_ACTIONS = frozenset({"screen.copy_text"})

#: Clearer words for inherited keys (and a few of ours), in the help and the palette.
DESCRIPTIONS = {
    "app.focus_next": "Next pane or log",
    "app.focus_previous": "Previous pane or log",
    "command_palette": "Command palette (pairs, themes, reload …)",
    "mapping": "Mapping editor (fields, statuses, priorities, types, users)",
    "filter": "Filter both trees",
    "next_theme": "Next theme",
}

#: The same keys' words on a screen other than the main one.
OTHER_SCREENS = {"app.focus_next": "Next part", "app.focus_previous": "Previous part"}

#: Actions the palette does not offer: the palette's own key.
NOT_IN_PALETTE = frozenset({"command_palette"})

#: Rank of the console's own keys, the screen's and its widgets', the navigation keys.
CONSOLE, HERE, NAVIGATION_RANK = 0, 1, 2


@dataclass
class BoundAction:
    """One action bound on a screen: ``keys`` as shown (``"q"``, ``"^q"``), ``words`` what it
    does, ``tooltip`` a longer explanation ("" when its bindings have none); ``node`` runs
    it. ``ours``: a console action (bound by a class of ours or worded in
    :data:`DESCRIPTIONS`), not a Textual widget's editing key."""

    action: str
    node: DOMNode
    keys: list[str]
    words: str
    tooltip: str
    rank: tuple[int, int]
    ours: bool

    @property
    def key_text(self) -> str:
        """The keys, shortest first: ``"q ^q"``."""
        return " ".join(sorted(self.keys, key=len))

    @property
    def navigation(self) -> bool:
        """A cursor, scrolling or paging key."""
        return self.rank[0] == NAVIGATION_RANK


def own_bindings(node: DOMNode) -> list[Binding]:
    """The bindings the console's own classes (``tui.``) declare for ``node``."""
    return [
        binding
        for cls in type(node).__mro__
        if cls.__module__.startswith("tui.")
        for binding in cls.__dict__.get("BINDINGS", ())
        if isinstance(binding, Binding)
    ]


def bound_actions(
    app: App[Any], screen: Screen[Any], main: Screen[Any] | None
) -> list[BoundAction]:
    """Every described action bound on ``screen`` now, sorted: the console's own keys (in
    the app's ``BINDINGS`` order), then the screen's and its focused widget's, then the
    navigation keys. Keys bound to the same action share one entry. ``main``: the main
    screen (its words for ``tab`` differ, see :data:`OTHER_SCREENS`)."""
    app_order = [b.action for b in type(app).BINDINGS if isinstance(b, Binding)]
    found: dict[str, BoundAction] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description:
            continue
        action = binding.action
        name = action.split(".", 1)[-1]
        node = active.node
        if action in NAVIGATION_ACTIONS or name.startswith(NAVIGATION_PREFIXES):
            rank = (NAVIGATION_RANK, 0)
        elif node is app:
            rank = (CONSOLE, app_order.index(action) if action in app_order else len(app_order))
        else:
            rank = (HERE, 0 if isinstance(node, Screen) else 1)
        key = app.get_key_display(binding)
        entry = found.get(action)
        if entry is None:
            words = DESCRIPTIONS.get(action, binding.description)
            if action in OTHER_SCREENS and screen is not main:
                words = OTHER_SCREENS[action]  # no panes nor log here
            ours_bound = [b for b in own_bindings(node) if b.action == action]
            tooltip = next((b.tooltip for b in ours_bound if b.tooltip), "")
            ours = bool(ours_bound) or action in DESCRIPTIONS
            entry = found[action] = BoundAction(action, node, [], words, tooltip, rank, ours)
        entry.keys.append(key)
        if not entry.tooltip and binding.tooltip:
            entry.tooltip = binding.tooltip
    return sorted(found.values(), key=lambda entry: entry.rank)


def palette_actions(actions: list[BoundAction]) -> list[BoundAction]:
    """The actions the palette offers: the console's, not the navigation keys, not Textual
    widgets' editing keys, not the palette itself."""
    return [
        entry
        for entry in actions
        if entry.ours and not entry.navigation and entry.action not in NOT_IN_PALETTE
    ]
