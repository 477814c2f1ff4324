"""A project pane's tree: records from ``core.service.TreeNode`` with sync badges, built lazily.

Nothing is added to the Textual tree until its parent opens, and no node ever receives more
than :attr:`ProjectTree.CHUNK` children at once: the rest wait behind a "N more…" node that
loads the next chunk when selected. Kinds listed in ``lazy_kinds`` (TestRail sections, whose
cases the service lists separately) also get a "loading…" placeholder on first open and post
:class:`ProjectTree.LoadLeaves`; the owner fetches the leaves and calls :meth:`ProjectTree.fill`.

The cursor sits on a row as soon as there is one (so enter and space act at once) and stays on
the same record across a reload. Enter on a case, or ``i`` on any record, posts
:class:`ProjectTree.DetailsWanted`.

Each record row carries its sync badge (:data:`BADGES`; the state comes from
``Service.sync_states``, the rule lives in ``core.sync_state``), and a container row the
records below it in conflict and pending, after its name (``Login  ✖ 1  ◐ 3``:
``Service.roll_up``, :meth:`ProjectTree.set_roll_up`); :meth:`ProjectTree.mark_linked`
underlines the record linked to the other pane's cursor and opens the way to it; and
:meth:`ProjectTree.apply_filter` narrows the tree to the records whose name or id holds a text,
with their parents, still at most :attr:`ProjectTree.CHUNK` children per node; the
containers holding matches open (showing them) until :attr:`ProjectTree.FILTER_LINES` lines
are shown, the others stay closed and show their matches when opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import ClassVar, Concatenate, ParamSpec, TypeVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets._tree import LineCacheKey, _TreeLine
from textual.widgets.tree import TreeNode as UiNode

from core.service import TreeNode
from core.sync_state import CONFLICT, ONLY_HERE, PENDING, ROLLED_UP, SYNCED, Below

#: Badge glyphs; shapes differ so they read without colour (NO_COLOR, monochrome terminals).
SYNCED_BADGE = "●"
PENDING_BADGE = "◐"
CONFLICT_BADGE = "✖"
ONLY_HERE_BADGE = "○"
#: state (``core.sync_state``) -> (glyph, words for the legend, the help and the details)
BADGES: dict[str, tuple[str, str]] = {
    SYNCED: (SYNCED_BADGE, "synced"),
    PENDING: (PENDING_BADGE, "pending"),
    CONFLICT: (CONFLICT_BADGE, "conflict"),
    ONLY_HERE: (ONLY_HERE_BADGE, "only here"),
}
#: cells a badge takes before the name (glyph and a space)
BADGE_CELLS = {state: cell_len(glyph) + 1 for state, (glyph, _) in BADGES.items()}


def display_id(key: str) -> str:
    """How people read a record key: ``tr:case:12`` -> ``C12``, ``tr:section:3`` -> ``S3``,
    ``tf:case:40`` -> ``40``; other keys as they are."""
    parts = key.split(":")
    if len(parts) != 3:
        return key
    side, kind, number = parts
    if side == "tr":
        return {"case": "C", "section": "S", "suite": "Suite "}.get(kind, "") + number
    return number


@dataclass
class PaneItem:
    """What one line of the tree stands for.

    ``kind``: a record kind (``suite``, ``section``, ``folder``, ``case``) when ``record`` is
    set, else ``loading``, ``more`` (holds ``rest``: records not shown yet) or ``note`` (a
    message such as an error or "empty"). ``suite_id`` is the TestRail suite a section belongs
    to (None elsewhere). ``populated`` turns True once the node's children were added.
    """

    kind: str
    record: TreeNode | None = None
    suite_id: int | None = None
    rest: list[TreeNode] = field(default_factory=list)
    populated: bool = False
    #: the width of the node's label (:meth:`ProjectTree._label_width`) and what it was
    #: measured at: (the node's change count, the tree's label generation)
    width: int = field(default=-1, repr=False, compare=False)
    width_at: tuple[int, int] = field(default=(-1, -1), repr=False, compare=False)
    #: the node's line as the last rebuild made it (:meth:`ProjectTree._build` reuses it)
    line: _TreeLine[PaneItem] | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str | None:
        """The record key (``tr:section:12``), or None for a non-record line."""
        return self.record.key if self.record is not None else None


P = ParamSpec("P")
R = TypeVar("R")


def batched(
    method: Callable[Concatenate[ProjectTree, P], R],
) -> Callable[Concatenate[ProjectTree, P], R]:
    """Run a :class:`ProjectTree` method inside its :meth:`ProjectTree._batch`."""

    @wraps(method)
    def run(tree: ProjectTree, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with tree._batch():
            return method(tree, *args, **kwargs)

    return run


#: How record keys start, per side.
SIDES = ("tr:", "tf:")


def _case_key(needle: str) -> str | None:
    """``"c12"`` (a TestRail case id, case-folded) -> ``"tr:case:12"``; None otherwise."""
    if len(needle) > 1 and needle[0] == "c" and needle[1:].isascii() and needle[1:].isdigit():
        return "tr:case:" + needle[1:]
    return None


def _is_display_id(needle: str) -> bool:
    """Whether ``needle`` (case-folded) is a TestRail id as :func:`display_id` shows it: a
    letter and digits, ``c12``, ``s3``."""
    return len(needle) > 1 and needle[0] in "cs" and needle[1:].isascii() and needle[1:].isdigit()


def record_id(key: str) -> int:
    """The numeric id at the end of a record key: ``"tr:section:12"`` -> ``12``.

    Raises ``ValueError`` when the key does not end in a number.
    """
    return int(key.rsplit(":", 1)[-1])


class _NoLineCache(LRUCache[LineCacheKey, Strip]):
    """Keeps nothing: stands in for ``Tree``'s line cache, whose key holds the tree's change
    count (every node added, opened or removed moves it); :class:`ProjectTree` keeps its
    drawn lines itself (:meth:`ProjectTree._render_line`)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0)

    def set(self, key: LineCacheKey, value: Strip) -> None:
        """Keep nothing."""

    __setitem__ = set

    def __contains__(self, key: object) -> bool:
        return False


class ProjectTree(Tree[PaneItem]):
    """A lazy tree of one side's records.

    Feed it with :meth:`show_records` (top level); :meth:`clear_records` empties it.
    ``lazy_kinds`` are record kinds whose leaves come from outside. Under a node, containers
    come before cases on both sides.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = Tree.COMPONENT_CLASSES | {
        "project-tree--synced",
        "project-tree--pending",
        "project-tree--conflict",
        "project-tree--only-here",
        "project-tree--note",
        "project-tree--linked",
        "project-tree--cursor",
    }

    # The console's stylesheet recolours the badges with its theme variables ($synced ...).
    DEFAULT_CSS = """
    ProjectTree > .project-tree--synced { color: $success; }
    ProjectTree > .project-tree--pending { color: $warning; }
    ProjectTree > .project-tree--conflict { color: $error; text-style: bold; }
    ProjectTree > .project-tree--only-here { color: $secondary; }
    ProjectTree > .project-tree--note { color: $text-muted; text-style: italic; }
    ProjectTree > .project-tree--linked { text-style: bold underline; }
    /* the focus is not restyled (ProjectTree._focus_changed): a focused tree looks as an
       unfocused one but for its cursor, drawn in project-tree--cursor */
    ProjectTree {
        & > .tree--cursor {
            color: $foreground;
        }
        & > .project-tree--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
        &:focus {
            background-tint: transparent;
            & > .tree--cursor {
                color: $foreground;
                background: $block-cursor-blurred-background;
                text-style: $block-cursor-blurred-text-style;
            }
            & > .tree--guides, & > .tree--guides-hover {
                color: $surface-lighten-2;
            }
            & > .tree--guides-selected {
                color: $block-cursor-blurred-background;
            }
        }
    }
    """

    #: Most children added under one node in one go.
    CHUNK: ClassVar[int] = 200
    #: While a filter is set, containers with matches open until this many lines show
    #: (two screens at 160x48); the rest stay closed until opened. A filter over a big
    #: project finds thousands of cases, and every line added is a node to make and to
    #: measure (bench/console.py: most of a filter's CPU), though a screen shows ~40.
    FILTER_LINES: ClassVar[int] = 100

    # Same keys as Tree, described for the help screen; ``i`` is ours.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "select_cursor", "Open, or a case's details", show=False,
            tooltip="Open the record under the cursor, or show a case on both sides",
        ),
        Binding(
            "space", "toggle_node", "Open or close", show=False,
            tooltip="Open or close the record under the cursor",
        ),
        Binding(
            "shift+space", "toggle_expand_all", "Open or close all below", show=False,
            tooltip="Open or close the record under the cursor and everything in it",
        ),
        Binding(
            "i", "details", "Details", show=False,
            tooltip="The selected record on both sides, differences marked",
        ),
    ]  # fmt: skip

    @dataclass
    class DetailsWanted(Message):
        """The user asked for the details of the record on ``node`` (enter on a case, ``i``)."""

        tree: ProjectTree
        node: UiNode[PaneItem]

        @property
        def control(self) -> ProjectTree:
            """The tree that asks."""
            return self.tree

    @dataclass
    class LoadLeaves(Message):
        """A node of a lazy kind opened for the first time; its leaves are wanted.

        Answer with :meth:`ProjectTree.fill` (or :meth:`ProjectTree.fill_error`).
        """

        tree: ProjectTree
        node: UiNode[PaneItem]

        @property
        def control(self) -> ProjectTree:
            """The tree that asks."""
            return self.tree

    def __init__(
        self,
        label: str,
        *,
        lazy_kinds: Iterable[str] = (),
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(label, PaneItem("note"), id=id, classes=classes)
        self.show_root = False
        self.guide_depth = 3
        self.lazy_kinds = frozenset(lazy_kinds)
        self._reopen: set[str] = set()
        #: every record the tree holds (shown or not yet), by key
        self._records: dict[str, TreeNode] = {}
        #: the record the cursor should return to when a lazy load brings it back
        self._cursor_key: str | None = None
        #: keys of the records of a lazy kind whose leaves arrived (:meth:`fill`)
        self._filled: set[str] = set()
        #: the leaves of each lazy record that arrived, by its key (the filter searches them)
        self._leaves: dict[str, list[TreeNode]] = {}
        #: the top level and its suite id, as :meth:`show_records` got them
        self._top: list[TreeNode] = []
        self._top_suite: int | None = None
        self._empty = "(empty)"
        #: shown node per record key (nodes not added yet are absent)
        self._node_by_key: dict[str, UiNode[PaneItem]] = {}
        #: sync state per record key (``core.sync_state``); absent: no badge state known
        self.states: dict[str, str] = {}
        #: per container key, what waits below it (``Service.roll_up``); absent: nothing
        self.below: dict[str, Below] = {}
        #: the record linked to the other pane's cursor (underlined), or None
        self.linked_key: str | None = None
        #: the filter text ("" shows everything) and the keys it lets through
        self.filter_text = ""
        self._visible: set[str] | None = None
        #: records open before the filter was set (reopened when it is cleared)
        self._before_filter: set[str] = set()
        #: lines a filtered build may still add before it stops opening containers
        self._filter_room = 0
        #: what the filter searches in each record: (name, display id), case-folded
        self._haystack: dict[str, tuple[str, str]] = {}
        #: drawn lines, by what they show (:meth:`_render_line`); ``Tree``'s own line cache
        #: is replaced by one that keeps nothing (:class:`_NoLineCache`)
        self._drawn: LRUCache[tuple[object, ...], Strip] = LRUCache(256)
        self._line_cache = _NoLineCache()
        #: nodes whose lines are to be spliced into the kept line list (:meth:`_splice`)
        self._dirty: set[UiNode[PaneItem]] = set()
        #: each line's width in cells (label and guide), as :attr:`_tree_lines` is
        self._line_widths: list[int] = []

    # ------------------------------------------------------------------ batching

    _batching = 0
    _batch_dirty = False

    #: the node whose subtree the changes now under way touch (:meth:`_within`), or None
    _scope: UiNode[PaneItem] | None = None
    #: the first line of the line list that the changes noted since the last repaint may
    #: have moved or redrawn (0: the whole list was dropped), or None: no shown line
    _changed_from: int | None = None

    def _invalidate(self) -> None:
        """``Tree`` calls this on every node added, expanded or removed: it drops the line
        list and asks for a layout of the whole screen. A change inside :meth:`_within` keeps
        the list and notes the node whose lines are to be spliced (:meth:`_splice`) instead,
        and the first line it can move (the node's: those above it stay as they are).
        Inside :meth:`_batch` the layout is asked for once at the end (a filter over a big
        project adds hundreds of nodes)."""
        scope = self._scope
        lines = self._tree_lines_cached
        if scope is not None and lines is not None:
            self._dirty.add(scope)
            at = scope._line
            if 0 <= at < len(lines) and lines[at].path[-1] is scope:  # on a line now
                self._note_changed_from(at)
        else:
            self._clear_line_cache()
            self._note_changed_from(0)
        self._updates += 1
        if self._batching:
            self._batch_dirty = True
            return
        self._laid_out()

    def _note_changed_from(self, line: int) -> None:
        """Note that the lines from ``line`` on may have changed (:attr:`_changed_from`)."""
        if self._changed_from is None or line < self._changed_from:
            self._changed_from = line

    def _laid_out(self) -> None:
        """The rest of ``Tree._invalidate``, once the line list is dropped or its splice
        noted: the hover reset and a layout (:meth:`refresh`), which repaints only the part
        of the view from the first changed line down (:meth:`_changed_region`)."""
        self.root._reset()
        region = self._changed_region()
        if region is None:
            self.refresh(layout=True)
        else:
            self.refresh(*region, repaint=bool(region), layout=True)

    def _changed_region(self) -> tuple[Region, ...] | None:
        """The part of the view to repaint for the changes noted since the last repaint
        (:attr:`_changed_from`, which this resets): None for all of it, ``()`` for none (the
        changes are below the view or on no line), else the region from the first changed
        line to the bottom of the view. Opening a section at the bottom of the view, or its
        cases arriving below it, so repaints a line or none instead of every line shown
        (bench/console.py)."""
        start, self._changed_from = self._changed_from, None
        if start is None:
            return ()
        top = start - self.scroll_offset.y
        height = self.size.height
        if top <= 0 or not height:
            return None
        if top >= height:
            return ()
        width = max(self.virtual_size.width, self.size.width)
        return (Region(0, top, width, height - top),)

    def _clear_line_cache(self) -> None:
        """``Tree._clear_line_cache``; no splice is pending then (the next read rebuilds)."""
        super()._clear_line_cache()
        self._dirty = set()

    @contextmanager
    def _within(self, node: UiNode[PaneItem]) -> Iterator[None]:
        """Changes made inside touch only ``node``'s line (its icon, its label) and the lines
        of what is below it: the line list is kept and those lines spliced in when it is next
        read (:meth:`_splice`), not the whole list rebuilt. The root and nested scopes keep
        the outer scope (the root's changes rebuild the list)."""
        if self._scope is not None or node is self.root:
            yield
            return
        self._scope = node
        try:
            yield
        finally:
            self._scope = None

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Group changes to the nodes: one invalidation when the outermost batch ends."""
        self._batching += 1
        try:
            yield
        finally:
            self._batching -= 1
            if not self._batching and self._batch_dirty:
                self._batch_dirty = False
                # each change dropped the lines or noted their splice already: dropping them
                # here too rebuilt the list a second time when it was read inside the batch
                self._updates += 1
                self._laid_out()

    # ------------------------------------------------------------------ layout

    _updating_scrollbars = False

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> ProjectTree:
        """``Widget.refresh``, without the layout of the whole screen that ``Tree`` asks for
        whenever its lines change (nodes added, opened, closed; its ``virtual_size``): the
        tree's size comes from the stylesheet, not from its lines, so only a scrollbar that
        appears or goes needs one. Otherwise the scrollbars take the new line count here and
        the tree is repainted (a screen layout redraws every widget: it was most of the CPU
        of opening a section or applying a filter, bench/console.py)."""
        if layout and not recompose and self._scrollbars_stay():
            layout = False
            self._updating_scrollbars = True
            try:
                self._scroll_update(self.virtual_size)
            finally:
                self._updating_scrollbars = False
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self

    def _scroll_update(self, virtual_size: Size) -> None:
        """``Widget._scroll_update`` (the scrollbars' shown state and numbers), without the
        repaint of both scrollbars it asks for every time: a scrollbar's numbers are
        reactive, so it is repainted when they change, and only then (each open of a section
        repainted both, a third of the frame's cost, bench/console.py)."""
        self._refresh_scrollbars()
        width, height = self.container_size
        if self.show_vertical_scrollbar and self.styles.scrollbar_size_vertical:
            vertical = self.vertical_scrollbar
            vertical.window_virtual_size = virtual_size.height
            vertical.window_size = height - self.scrollbar_size_horizontal
        if self.show_horizontal_scrollbar and self.styles.scrollbar_size_horizontal:
            horizontal = self.horizontal_scrollbar
            horizontal.window_virtual_size = virtual_size.width
            horizontal.window_size = width - self.scrollbar_size_vertical
        self.scroll_x = self.validate_scroll_x(self.scroll_x)
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def _scrollbars_stay(self) -> bool:
        """True when a layout asked for now would only show the tree's new line count in its
        scrollbars: the tree was laid out and both its overflows are ``auto``. Whether a
        scrollbar then appears or goes is decided by :meth:`_scroll_update`
        (``Widget._refresh_scrollbars``), and a change of either lays the tree out through
        ``show_*_scrollbar``, whose refresh asks for a layout (made while
        :attr:`_updating_scrollbars`, so not skipped). Guessing that here instead asked for
        a layout of the whole screen whenever the widest line was within a scrollbar's
        width of the view's (~30 ms each, bench/console.py)."""
        if self._updating_scrollbars or not self.is_attached or not self.size:
            return False
        styles = self.styles
        return bool(styles.overflow_x == "auto" and styles.overflow_y == "auto")

    # ------------------------------------------------------------------ feeding

    @batched
    def clear_records(self) -> None:
        """Remove every line."""
        self.clear()
        self._reopen = set()
        self._records = {}
        self.below = {}
        self._haystack = {}
        self._filled = set()
        self._leaves = {}
        self._top = []
        self._node_by_key = {}
        self._cursor_key = None

    @batched
    def show_records(
        self,
        records: Sequence[TreeNode],
        *,
        reopen: Iterable[str] | None = None,
        empty: str = "(empty)",
        suite_id: int | None = None,
    ) -> None:
        """Replace everything with ``records`` as the top level.

        ``reopen``: record keys to expand again as they appear (to keep what the user had open
        across a reload, and the cursor on its record); None (a first load) opens a lone
        top-level record instead and puts the cursor on the first row. ``empty`` is the note
        shown when there are no records. ``suite_id``: the TestRail suite the top-level
        records belong to when the suite itself is not shown.
        """
        path = self._cursor_path() if reopen is not None else []
        self.clear()
        self._reopen = set(reopen or ())
        self._records = {}
        self._haystack = {}
        self._filled = set()
        self._leaves = {}
        self._node_by_key = {}
        self._top, self._top_suite, self._empty = list(records), suite_id, empty
        self._index(records)
        if self.filter_text:
            self._visible = self._matching(self.filter_text)[0]
        self._build_top(first=reopen is None)
        self._place_cursor(path)

    def _build_top(self, *, first: bool) -> None:
        """Add the top level (filtered while a filter is set) under the emptied root."""
        self._filter_room = self.FILTER_LINES
        records = self._shown(self._top)
        if records:
            self._add_chunk(self.root, records, suite_id=self._top_suite)
            lone = self.root.children[0] if len(self.root.children) == 1 else None
            if first and lone is not None and lone.allow_expand:
                lone.expand()  # a single suite or folder: open it
                self._populate_node(lone)
        elif self._visible is not None:
            self.root.add_leaf(Text(f"nothing matches “{self.filter_text}”"), PaneItem("note"))
        else:
            self.root.add_leaf(Text(self._empty), PaneItem("note"))
        self.root.expand()

    def _shown(self, records: Iterable[TreeNode]) -> list[TreeNode]:
        """``records`` the filter lets through (all of them without a filter)."""
        if self._visible is None:
            return list(records)
        return [record for record in records if record.key in self._visible]

    def record(self, key: str) -> TreeNode | None:
        """The record with ``key`` if the tree holds it (shown or not; leaves of a lazy kind
        only once loaded)."""
        return self._records.get(key)

    def records(self) -> list[TreeNode]:
        """Every record the tree holds (see :meth:`record`)."""
        return list(self._records.values())

    def leaves_pending(self) -> int:
        """How many records of a lazy kind the tree holds whose leaves have not arrived
        (never opened, still loading, or failed): while any has, :meth:`records` is only
        part of the project."""
        return sum(
            1
            for key, record in self._records.items()
            if record.kind in self.lazy_kinds and key not in self._filled
        )

    def _index(self, records: Iterable[TreeNode]) -> None:
        stack = list(records)
        while stack:
            record = stack.pop()
            self._hold(record)
            stack.extend(record.children)

    def _hold(self, record: TreeNode) -> None:
        """Keep ``record`` (not its children), with what the filter searches in it."""
        self._records[record.key] = record
        self._haystack[record.key] = (record.name.casefold(), display_id(record.key).casefold())

    # ------------------------------------------------------------------ cursor

    def _cursor_path(self) -> list[str]:
        """Record keys from the cursor's record up to the top (empty when none)."""
        path = []
        node = self.cursor_node
        while node is not None and node is not self.root:
            if node.data is not None and node.data.key:
                path.append(node.data.key)
            node = node.parent
        return path

    def _node_of(self, key: str) -> UiNode[PaneItem] | None:
        """The shown node of the record ``key`` (None when it is not on a line now)."""
        node = self._node_by_key.get(key)
        if node is None or self._tree_nodes.get(node.id) is not node:
            return None
        parent = node.parent
        while parent is not None:
            if not parent.is_expanded:
                return None
            parent = parent.parent
        _ = self._tree_lines  # lines rebuilt if stale, so node.line is current
        return node

    def _place_cursor(self, path: list[str]) -> None:
        """Put the cursor on the first record of ``path`` that is shown (nearest first), else
        on the first row; a record that comes back with lazily loaded leaves gets it then."""
        self._cursor_key = path[0] if path else None
        for key in path:
            node = self._node_of(key)
            if node is not None:
                self.move_cursor(node)
                return
        if self._tree_lines:
            self.move_cursor(self._tree_lines[0].node)

    def action_details(self) -> None:
        """Ask for the details of the record under the cursor."""
        node = self.cursor_node
        if node is not None and node.data is not None and node.data.record is not None:
            self.post_message(self.DetailsWanted(self, node))

    def expanded_keys(self) -> set[str]:
        """Keys of the records whose nodes are open now."""
        keys: set[str] = set()
        stack = list(self.root.children)
        while stack:
            node = stack.pop()
            if node.is_expanded and node.data is not None and node.data.key:
                keys.add(node.data.key)
                stack.extend(node.children)
        return keys

    def closed_keys(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` whose records have a node in the tree, closed now (under an open
        parent or a closed one); a lookup per key, not a walk of the tree."""
        nodes = self._tree_nodes
        closed: set[str] = set()
        for key in keys:
            node = self._node_by_key.get(key)
            if node is not None and nodes.get(node.id) is node and not node.is_expanded:
                closed.add(key)
        return closed

    @batched
    def fill(self, node: UiNode[PaneItem], leaves: Sequence[TreeNode]) -> None:
        """Put the leaves fetched for ``node`` where its "loading…" placeholder is."""
        with self._within(node):
            self._fill(node, leaves)

    def _fill(self, node: UiNode[PaneItem], leaves: Sequence[TreeNode]) -> None:
        """:meth:`fill`'s work."""
        self._drop_loading(node)
        item = node.data
        suite_id = item.suite_id if item is not None else None
        if item is not None and item.key is not None:
            self._filled.add(item.key)
            self._leaves[item.key] = list(leaves)
        self._index(leaves)
        if self._visible is not None:  # a filter is set: the new leaves it lets through
            self._visible |= self._matching(self.filter_text)[0] & {leaf.key for leaf in leaves}
            leaves = self._shown(leaves)
        if leaves:
            self._add_chunk(node, list(leaves), suite_id=suite_id)
        elif not node.children:
            node.add_leaf("(empty)", PaneItem("note"))
        # the cursor was on one of these leaves before a reload, and has not moved since
        wanted = self._cursor_key
        if wanted and self.cursor_node is node and any(leaf.key == wanted for leaf in leaves):
            found = self._node_of(wanted)
            if found is not None:
                self.move_cursor(found)

    @batched
    def fill_error(self, node: UiNode[PaneItem], message: str) -> None:
        """Replace ``node``'s "loading…" placeholder with an error note."""
        with self._within(node):
            self._drop_loading(node)
            node.add_leaf(Text(message), PaneItem("note"))

    # ------------------------------------------------------------------ lazy growth

    def _toggle_node(self, node: UiNode[PaneItem]) -> None:
        """``Tree._toggle_node`` (space, enter, a click on the icon); a node opened for the
        first time gets its children in the same batch as the open: one rebuild of the lines
        and one frame, not one for the open and another when ``NodeExpanded`` arrives."""
        if not node.allow_expand:
            return
        if node.is_expanded:
            with self._within(node):
                node.collapse()
            return
        with self._batch(), self._within(node):
            node.expand()
            self._filter_room = self.FILTER_LINES  # opened by hand: its matches open below
            self._populate_node(node)

    @on(Tree.NodeExpanded)
    def _populate(self, event: Tree.NodeExpanded[PaneItem]) -> None:
        self._filter_room = self.FILTER_LINES  # opened by hand: its matches open below it
        self._populate_node(event.node)

    @batched
    def _populate_node(self, node: UiNode[PaneItem]) -> None:
        """Add ``node``'s children the first time it opens."""
        item = node.data
        if item is None or item.record is None or item.populated:
            return
        with self._within(node):
            self._populate_children(node, item)

    def _populate_children(self, node: UiNode[PaneItem], item: PaneItem) -> None:
        """:meth:`_populate_node`'s work, ``item`` being ``node``'s record item."""
        assert item.record is not None
        item.populated = True
        suite_id = item.suite_id
        if item.kind == "suite":
            suite_id = record_id(item.record.key)
        key = item.record.key
        children = sorted(item.record.children, key=lambda record: record.kind == "case")
        lazy = item.kind in self.lazy_kinds
        if lazy and (key in self._filled or self._visible is not None):
            # all its leaves once filled; while filtering, also those the search found
            children += self._leaves.get(key, [])
        children = self._shown(children)
        if children:
            self._add_chunk(node, children, suite_id=suite_id)
        if lazy and key not in self._filled and self._visible is None:
            node.add_leaf("loading…", PaneItem("loading"))
            self.post_message(self.LoadLeaves(self, node))
        elif not children:
            node.add_leaf("(empty)", PaneItem("note"))

    @on(Tree.NodeSelected)
    @batched
    def _selected(self, event: Tree.NodeSelected[PaneItem]) -> None:
        node = event.node
        item = node.data
        if item is not None and item.kind == "case":
            event.stop()
            self.post_message(self.DetailsWanted(self, node))
            return
        if item is None or item.kind != "more" or node.parent is None:
            return
        event.stop()
        parent = node.parent
        rest = item.rest
        with self._within(parent):
            node.remove()
            self._add_chunk(parent, rest, suite_id=item.suite_id)

    def _add_chunk(
        self, parent: UiNode[PaneItem], records: list[TreeNode], *, suite_id: int | None
    ) -> None:
        shown, rest = records[: self.CHUNK], records[self.CHUNK :]
        self._filter_room -= len(shown)
        for record in shown:
            item = PaneItem(record.kind, record, suite_id=suite_id)
            if record.kind == "case":
                self._node_by_key[record.key] = parent.add_leaf(Text(record.name), item)
            else:
                child = parent.add(Text(record.name), item)
                self._node_by_key[record.key] = child
                filtering = self._visible is not None
                if record.key in self._reopen or (filtering and self._filter_room > 0):
                    child.expand()
                    self._populate_node(child)  # now, so the cursor can return to it
        if rest:
            parent.add_leaf(
                Text(f"{len(rest)} more…"), PaneItem("more", rest=rest, suite_id=suite_id)
            )

    @staticmethod
    def _drop_loading(node: UiNode[PaneItem]) -> None:
        for child in list(node.children):
            if child.data is not None and child.data.kind == "loading":
                child.remove()

    # ------------------------------------------------------------------ drawing

    def _component_style(self, name: str) -> Style:
        # Labels are measured before the widget is styled (e.g. when show_root is set).
        return self.get_component_rich_style(name, partial=True, default=Style())

    #: the theme the drawn lines in ``Tree``'s line cache were drawn in
    _drawn_in: str | None = None

    def _on_focus(self, event: events.Focus) -> None:
        """``Widget._on_focus`` (which it replaces: ``prevent_default``), repainting only the
        lines the focus changes (:meth:`_focus_changed`)."""
        event.prevent_default()
        self._focus_changed(True)
        if self.parent is not None:
            self.parent.post_message(events.DescendantFocus(self))

    def _on_blur(self, event: events.Blur) -> None:
        """``Widget._on_blur``, repainting only the lines the focus changes."""
        event.prevent_default()
        self._focus_changed(False)
        if self.parent is not None:
            self.parent.post_message(events.DescendantBlur(self))

    def _focus_changed(self, focused: bool) -> None:
        """Take the focus state and repaint the cursor's line and its children's (their
        guides): the only lines it changes. The tree is not restyled (:meth:`watch_has_focus`):
        its stylesheet draws every line alike in and out of focus (app.tcss), and the cursor
        takes the focused look from ``project-tree--cursor`` (:meth:`get_component_rich_style`).
        A restyle and a repaint of both trees were most of a pane switch (bench/console.py)."""
        self.has_focus = focused
        node = self.cursor_node
        if node is not None and self.is_attached and self.size:
            self._refresh_node(node)

    def watch_has_focus(self, _has_focus: bool) -> None:
        """No restyle on a focus change (``Widget.watch_has_focus`` restyles the tree and its
        component classes): see :meth:`_focus_changed`."""

    def get_component_rich_style(
        self, *names: str, partial: bool = False, default: Style | None = None
    ) -> Style:
        """``Widget.get_component_rich_style``; the cursor (``tree--cursor``) of the focused
        tree is drawn in ``project-tree--cursor``, which no ``:focus`` rule changes."""
        if self.has_focus and names == ("tree--cursor",):
            names = ("project-tree--cursor",)
        return super().get_component_rich_style(*names, partial=partial, default=default)

    def notify_style_update(self) -> None:
        """Styles changed (focus, theme): redraw the lines. ``Tree``'s own also rebuilds the
        line list and lays out the whole screen, which a change of colours does not need (it
        was most of the CPU of a pane switch: every focus change restyles the trees).

        The drawn lines are kept unless the theme changed: each is filed under the styles,
        focus, hover and enabled state it was drawn in (:meth:`_render_line`), so a focus
        change finds the lines of the other state there when the focus comes back, and draws
        only those it has not drawn yet."""
        super(Tree, self).notify_style_update()  # Widget's: its style caches
        if self.is_attached and self.app.theme != self._drawn_in:
            self._drawn_in = self.app.theme
            self._drawn.clear()
        self.refresh()

    _style_now: Style | None = None
    #: the component styles of this drawing pass (:meth:`_styles_seen`), or None
    _styles_now: tuple[Style, ...] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in ``crop``; the widget's style and its component styles are worked out
        once for all of them (``Tree.render_line`` asks for the style on every line, and it
        walks the ancestors)."""
        self._style_now = self.rich_style
        self._styles_now = self._styles_seen()
        try:
            return super().render_lines(crop)
        finally:
            self._style_now = self._styles_now = None

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the view (``Tree.render_line``, with the style of this pass)."""
        scroll_x, scroll_y = self.scroll_offset
        style = self._style_now if self._style_now is not None else self.rich_style
        return self._render_line(y + scroll_y, scroll_x, scroll_x + self.size.width, style)

    def _styles_seen(self) -> tuple[Style, ...]:
        """Every component style a line may be drawn with, whole and partial (a line drawn
        under other styles is drawn again: a theme, a class or a rule changed)."""
        get = super().get_component_rich_style  # not :meth:`get_component_rich_style`'s swap
        blank = Style()
        return tuple(
            get(name, partial=partial, default=blank)
            for name in sorted(self.COMPONENT_CLASSES)
            for partial in (False, True)
        )

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """Line ``y`` of the tree, cells ``x1`` to ``x2`` (``Tree._render_line``), drawn once
        per look it has and kept in :attr:`_drawn`.

        ``Tree`` files its drawn lines under its own change count, which every node added,
        opened or removed moves: after each, every line shown was drawn again (two thirds of
        opening a section in a tree of thousands of lines, bench/console.py). Here a line is
        filed under what its drawing reads: the node, the line number (the line's mouse
        meta), the change count and last-child flag of each node on its path (labels, icons,
        hover, cursor, guides), whether the cursor or the mouse is on it, the padded width,
        the widget's and its component styles, focus and the guide settings. Lines whose
        node did not change are then taken as drawn, wherever the tree changed."""
        tree_lines = self._tree_lines
        if y >= len(tree_lines):
            return Strip.blank(self.size.width, base_style)
        line = tree_lines[y]
        path = line.path
        hover_line = self.hover_line
        styles = self._styles_now if self._styles_now is not None else self._styles_seen()
        key = (
            path[-1],
            y,
            line.last,
            tuple([(node._updates, node.is_last) for node in path]),
            self.cursor_line == y,
            hover_line == y,
            hover_line >= 0 and any(node._hover for node in path),
            max(self.virtual_size.width, self.size.width),
            base_style,
            styles,
            self.get_pseudo_class_state(),
            self.has_focus,
            self.guide_depth,
            self.show_guides,
            self.show_root,
        )
        strip = self._drawn.get(key)
        if strip is None:
            # Tree's drawing, whole (the crop of x2 beyond its end is the strip itself)
            strip = super()._render_line(y, 0, key[7], base_style)
            self._drawn[key] = strip
        return strip.crop(x1, x2)

    def _on_resize(self, event: events.Resize) -> None:
        """``Tree._on_resize``: room for a screen of drawn lines, the lines rebuilt."""
        self._drawn.grow(event.size.height * 4)
        super()._on_resize(event)

    #: moves when every label may have changed width (:meth:`_refresh_labels`)
    _label_generation = 0

    def _label_width(self, node: UiNode[PaneItem]) -> int:
        """:meth:`get_label_width`, kept on the node's item until the node changes."""
        item = node.data
        if item is None:
            return self.get_label_width(node)
        at = (node._updates, self._label_generation)
        if item.width_at != at:
            item.width, item.width_at = self.get_label_width(node), at
        return item.width

    def _build(self) -> None:
        """``Tree._build``: the lines (each node's ``_line``), the virtual size and the
        cursor's line, with each label's width kept on its item (:meth:`_label_width`) and
        each node's line object reused while it has the same path and last-child flag.
        ``Tree``'s measured every label of every line on each rebuild and made a path list
        and a line per line, most of its cost in a tree of thousands of lines, and garbage
        that set off the collector's full walks (100 ms pauses, bench/console.py). Opening or
        closing a node, and the leaves it gets, splice its lines instead (:meth:`_splice`).
        ``tests/tui/test_project_tree.py`` checks both against ``Tree._build``."""
        self._dirty = set()
        lines: list[_TreeLine[PaneItem]] = []
        widths: list[int] = []
        # Tree: without the root, each top-level line is drawn as a last child
        self._add_lines(
            lines, widths, [], [self.root] if self.show_root else self.root._children, True
        )
        self._tree_lines_cached = lines
        self._line_widths = widths
        self._sized()

    def _sized(self) -> None:
        """The virtual size and the cursor's line, after the line list changed. The new
        size lays out the tree (its scrollbars) without repainting it: ``virtual_size``'s
        own refresh repaints every line, where the changes repaint what they moved
        (:meth:`_laid_out`)."""
        lines = self._tree_lines_cached or []
        widest = max(self._line_widths, default=0)
        size = Size(widest if lines else self.size.width, len(lines))
        if size != self.virtual_size:
            self.set_reactive(ProjectTree.virtual_size, size)
            self.refresh(repaint=False, layout=True)
        if self.cursor_line != -1:
            if self.cursor_node is not None:
                self.cursor_line = self.cursor_node._line
            if self.cursor_line >= len(lines):
                self.cursor_line = -1

    def _add_lines(
        self,
        lines: list[_TreeLine[PaneItem]],
        widths: list[int],
        path: list[UiNode[PaneItem]],
        nodes: Sequence[UiNode[PaneItem]],
        top: bool,
        offset: int = 0,
    ) -> None:
        """Append to ``lines`` (and their widths to ``widths``) the lines of ``nodes`` (the
        children of ``path[-1]``, or the top level when ``top``) and of their shown
        descendants; each node's ``_line`` is its index in ``lines`` plus ``offset``."""
        add_line = lines.append
        add_width = widths.append
        guide_depth = self.guide_depth
        label_width = self._label_width

        def add(path: list[UiNode[PaneItem]], nodes: Sequence[UiNode[PaneItem]], top: bool) -> None:
            # Tree: the guide of a line is (path length - 1) * guide_depth cells, root or not
            guide = len(path) * guide_depth
            last_index = len(nodes) - 1
            for index, node in enumerate(nodes):
                last = top or index == last_index
                item = node.data
                line = item.line if item is not None else None
                # a node's parent never changes, so neither does its path, but for the root
                # in it or not (show_root)
                if (
                    line is None
                    or line.last != last
                    or line.path[-1] is not node
                    or len(line.path) != len(path) + 1
                ):
                    line = _TreeLine([*path, node], last)
                    if item is not None:
                        item.line = line
                node._line = len(lines) + offset
                add_line(line)
                add_width(label_width(node) + guide)
                if node._expanded and node._children:
                    add(line.path, node._children, False)

        add(path, nodes, top)

    @property
    def _tree_lines(self) -> list[_TreeLine[PaneItem]]:
        """``Tree._tree_lines``: the line list, rebuilt when dropped, spliced when changes
        inside :meth:`_within` are pending."""
        if self._tree_lines_cached is None:
            self._build()
        elif self._dirty:
            self._splice()
        assert self._tree_lines_cached is not None
        return self._tree_lines_cached

    def _splice(self) -> None:
        """Bring the kept line list up to date with the changes under the nodes noted by
        :meth:`_within`: each one's line is measured again and the lines below it replaced
        by those of its children now (none when closed), the lines after renumbered. Costs
        the lines of the nodes changed and a renumbering, not a measure of every line (a
        tree of thousands of lines rebuilt twice was most of opening a section,
        bench/console.py). Rebuilds the list when a noted node is gone or is the root."""
        dirty, self._dirty = self._dirty, set()
        lines = self._tree_lines_cached
        assert lines is not None
        tops: list[UiNode[PaneItem]] = []
        for node in dirty:
            up = node.parent
            while up is not None and up not in dirty:
                up = up.parent
            if up is not None:
                continue  # its lines come with its noted ancestor's
            if node.parent is None or self._tree_nodes.get(node.id) is not node:
                self._build()
                return
            if 0 <= node._line < len(lines) and lines[node._line].path[-1] is node:
                tops.append(node)  # not on a line: nor are its lines now (nothing above it changed)
        if not tops:
            return
        widths = self._line_widths
        tops.sort(key=lambda node: node._line, reverse=True)  # later splices first
        for node in tops:
            at = node._line
            line = lines[at]
            depth = len(line.path)
            end = at + 1
            while end < len(lines) and len(lines[end].path) > depth:
                end += 1
            new_lines: list[_TreeLine[PaneItem]] = []
            new_widths: list[int] = []
            if node._expanded and node._children:
                self._add_lines(new_lines, new_widths, line.path, node._children, False, at + 1)
            lines[at + 1 : end] = new_lines
            widths[at + 1 : end] = new_widths
            widths[at] = self._label_width(node) + (depth - 1) * self.guide_depth
        for number in range(tops[-1]._line + 1, len(lines)):
            lines[number].path[-1]._line = number
        self._sized()

    def get_label_width(self, node: UiNode[PaneItem]) -> int:
        """Cells of the line :meth:`render_label` draws for ``node``, without drawing it
        (``Tree`` renders every shown label to measure the widest one each time the line list
        is rebuilt)."""
        label = node.label
        width = label.cell_len if isinstance(label, Text) else cell_len(label)
        if node.allow_expand:
            width += cell_len(self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE)
        item = node.data
        if item is not None and item.record is not None:
            width += BADGE_CELLS[self._state_of_record(item.record)]
            width += sum(part.cell_len for part in self._below_parts(item.record.key))
        return width

    def _below_parts(self, key: str) -> list[Text]:
        """What follows the name of container ``key``: per state of
        ``core.sync_state.ROLLED_UP`` with records below it, two spaces, its badge and the
        count (``  ✖ 2  ◐ 5``); nothing when nothing waits below."""
        below = self.below.get(key)
        if below is None:
            return []
        parts = []
        for state in ROLLED_UP:
            count = below.count(state)
            if count:
                parts.append(
                    Text(
                        f"  {BADGES[state][0]} {count}",
                        self._component_style(f"project-tree--{state}"),
                    )
                )
        return parts

    def _drawn_state(self, key: str) -> str | None:
        """The badge state record ``key``'s line shows (None: the tree does not hold it)."""
        record = self._records.get(key)
        return self._state_of_record(record) if record is not None else None

    def _state_of_record(self, record: TreeNode) -> str:
        state = self.states.get(record.key) or (SYNCED if record.linked else ONLY_HERE)
        return state if state in BADGES else ONLY_HERE

    def render_label(self, node: UiNode[PaneItem], base_style: Style, style: Style) -> Text:
        """The label with the sync badge between the open/close icon and the name; notes
        (errors, "loading…", "N more…") are muted; the record linked to the other pane's
        cursor is underlined."""
        label = super().render_label(node, base_style, style)
        item = node.data
        if item is None:
            return label
        if item.record is None:
            label.stylize(self._component_style("project-tree--note"))
            return label
        record = item.record
        state = self._state_of_record(record)
        glyph = BADGES[state][0]
        badge = Text(glyph + " ", self._component_style(f"project-tree--{state}"))
        icon = len(self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE)
        head, tail = label.divide([icon]) if node.allow_expand else (Text(), label)
        if record.key == self.linked_key:
            tail.stylize(self._component_style("project-tree--linked"))
        return Text.assemble(head, badge, tail, *self._below_parts(record.key))

    # ------------------------------------------------------------------ badges, links, filter

    def state_of(self, key: str) -> str:
        """The badge state of record ``key`` (``core.sync_state`` names)."""
        record = self._records.get(key)
        fallback = SYNCED if record is not None and record.linked else ONLY_HERE
        return self.states.get(key, fallback)

    #: Above this many changed badges the whole view is redrawn instead of line by line.
    REDRAW_LINES: ClassVar[int] = 40

    def set_states(self, states: dict[str, str]) -> None:
        """Take the sync states of some records (``Service.sync_states``) and redraw the
        lines whose badge changed (most answers repeat what the lines show)."""
        self._redraw_badges(list(states), lambda: self.states.update(states))

    def set_badges(self, badges: dict[str, tuple[str, str | None]]) -> None:
        """Take ``(state, linked key)`` of some records (``Service.badges``): the records
        the tree holds get the link, their lines the state; the lines whose badge changed
        are redrawn."""

        def take() -> None:
            for key, (state, linked) in badges.items():
                record = self._records.get(key)
                if record is not None:
                    record.linked = linked
                self.states[key] = state

        self._redraw_badges(list(badges), take)

    @batched
    def take_read(self, key: str | None, name: str | None, state: str | None) -> None:
        """Record ``key`` as both sides were just read (the details): its ``name`` there (None:
        that side does not hold it) on its line and in the filter, and its ``state``
        (``core.sync_state``; None: unchanged) on its badge. A record the tree does not hold
        is left alone."""
        record = self._records.get(key) if key is not None else None
        if record is None:
            return
        if name is not None and name != record.name:
            record.name = name
            self._hold(record)
            node = self._node_by_key.get(record.key)
            if node is not None and self._tree_nodes.get(node.id) is node:
                with self._within(node):  # its line is measured again, the others kept
                    node.set_label(name)
                    self._invalidate()
        if state is not None:
            self.set_badges({record.key: (state, record.linked)})

    def set_roll_up(self, below: dict[str, Below]) -> None:
        """Take what waits below each container (``Service.roll_up``: the whole tree's, it
        replaces the last) and redraw the lines when a count changed (a count's cells change
        the line's width, so the lines are measured again)."""
        if below == self.below:
            return
        self.below = dict(below)
        self._drawn.clear()
        self._label_generation += 1
        self._invalidate()

    def _redraw_badges(self, keys: list[str], change: Callable[[], None]) -> None:
        """Run ``change`` (new states or links of ``keys``) and redraw the lines whose
        badge it changed: one by one, or the whole view when there are many."""
        before = {key: self._drawn_state(key) for key in keys}
        change()
        changed = [key for key in keys if self._drawn_state(key) != before[key]]
        if len(changed) > self.REDRAW_LINES:
            self._refresh_labels()
        else:
            for key in changed:
                self._refresh_record(key)

    def _refresh_labels(self) -> None:
        """Redraw the lines (labels changed, not the shape of the tree nor the width of a
        line: every badge is two cells)."""
        self._drawn.clear()
        self._label_generation += 1
        self.refresh()

    def _refresh_record(self, key: str | None) -> None:
        """Redraw the line of record ``key`` only (when it is on a line now)."""
        node = self._node_by_key.get(key) if key is not None else None
        if node is not None and self._tree_nodes.get(node.id) is node and node.line >= 0:
            node.refresh()

    @batched
    def mark_linked(self, key: str | None, *, reveal: bool = True) -> bool:
        """Underline record ``key`` (the one linked to the other pane's cursor; None: none)
        and, with ``reveal``, open its parents and scroll it into view without moving this
        tree's cursor. False when the tree does not hold the record (a TestRail case whose
        section was not opened yet)."""
        before, self.linked_key = self.linked_key, key
        found = key is not None and key in self._records
        if found and reveal and key is not None and self._reveal(key) is not None:
            node = self._node_of(key)  # lines rebuilt after the parents opened
            if node is not None and node.line >= 0:
                self.scroll_to_line(node.line, animate=False)
        if before != key:  # two lines change: the one underlined before and this one
            self._refresh_record(before)
            self._refresh_record(key)
        return found

    def _reveal(self, key: str) -> UiNode[PaneItem] | None:
        """Make record ``key``'s node shown: open its parents (adding their children, chunk
        by chunk up to the record), as a user would."""
        chain: list[str] = []
        record = self._records.get(key)
        while record is not None:
            chain.insert(0, record.key)
            record = self._records.get(record.parent) if record.parent else None
        if self._visible is not None and not all(k in self._visible for k in chain):
            return None
        for ancestor in chain[:-1]:
            node = self._node_by_key.get(ancestor) or self._load_more_for(ancestor)
            if node is None:
                return None
            if not node.is_expanded:
                with self._within(node):
                    node.expand()
                    self._populate_node(node)
        return self._node_by_key.get(key) or self._load_more_for(key)

    def _load_more_for(self, key: str) -> UiNode[PaneItem] | None:
        """Select "N more…" nodes until record ``key`` is added (None: it is not waiting
        behind one)."""
        record = self._records.get(key)
        if record is None:
            return None
        parent = self._node_by_key.get(record.parent) if record.parent else self.root
        if parent is None:
            return None
        while key not in self._node_by_key:
            more = next(
                (
                    c
                    for c in parent.children
                    if c.data is not None
                    and c.data.kind == "more"
                    and any(r.key == key for r in c.data.rest)
                ),
                None,
            )
            if more is None or more.data is None:
                return None
            rest, suite_id = more.data.rest, more.data.suite_id
            with self._within(parent):
                more.remove()
                self._add_chunk(parent, rest, suite_id=suite_id)
        return self._node_by_key.get(key)

    def suite_ids(self) -> list[int]:
        """The TestRail suites the tree shows (the lone suite when it is not shown)."""
        if self._top_suite is not None:
            return [self._top_suite]
        return [record_id(r.key) for r in self._top if r.kind == "suite"]

    def _matching(self, text: str) -> tuple[set[str], int]:
        """(keys of the records whose name or id holds ``text`` (case-insensitive) and of
        their parents, how many records match). The id is the one the pane shows and ``y``
        copies (:func:`display_id`: ``C12``, ``S3``, ``40``). A ``text`` with a colon is also
        looked for in the record keys the details and the log show (``tr:case:12``,
        ``tf:case:40``), and a TestRail case id (``C12``) as ``tr:case:12``: in each record's
        key and in the key of the record linked to it, so both trees show the case and its
        copy. Other texts are not looked for in keys, or ``case`` would match every case.
        An id or key that ends in its number (``C12``, ``S3``, ``tr:case:12``) is that record
        only, not every one whose number starts so (``C125``, ``tr:case:1200``)."""
        needle = text.casefold()
        key_needle = (needle if ":" in needle else _case_key(needle)) or ""
        whole_key = key_needle[-1:].isdigit()
        whole_id = _is_display_id(needle)
        # a key of one side (tr:..., tf:...) is looked for in this tree's own keys or in its
        # links, not both: each pass over 50,000 records costs ~10 ms
        side = next(iter(self._haystack), "")[:3]
        named = key_needle[:3] if key_needle[:3] in SIDES else None
        own = bool(key_needle) and named in (None, side)
        links = bool(key_needle) and named != side
        visible: set[str] = set()
        matches = 0
        records = self._records
        for key, (name, shown_id) in self._haystack.items():
            linked = records[key].linked or ""
            if (
                needle in name
                or (needle == shown_id if whole_id else needle in shown_id)
                or (own and (key == key_needle if whole_key else key_needle in key))
                or (links and (linked == key_needle if whole_key else key_needle in linked))
            ):
                matches += 1
                up: TreeNode | None = records[key]
                while up is not None and up.key not in visible:
                    visible.add(up.key)
                    up = records.get(up.parent) if up.parent else None
        return visible, matches

    @batched
    def apply_filter(self, text: str, extra: Sequence[TreeNode] = ()) -> int:
        """Show only the records whose name or id holds ``text``, with their parents (""
        shows everything again, with what was open before the filter). ``extra``: more leaves
        that match (found by the server in sections not opened yet); they are kept as those
        sections' leaves. Returns how many records match."""
        text = text.strip()
        added = 0
        for leaf in extra:
            if leaf.key not in self._records and leaf.parent in self._records:
                self._hold(leaf)
                self._leaves.setdefault(leaf.parent, []).append(leaf)
                added += 1
        if not text and not self.filter_text:
            return len(self._records)
        if text == self.filter_text and not added:  # the same lines: nothing to rebuild
            return self._count_matching(text)
        if not self.filter_text:
            self._before_filter = self.expanded_keys()
        path = self._cursor_path()
        self.filter_text = text
        self._visible, matches = self._matching(text) if text else (None, len(self._records))
        reopen = self._before_filter if not text else set()
        self.clear()
        self._node_by_key = {}
        self._reopen = reopen
        self._build_top(first=False)
        self._place_cursor(path)
        return matches

    def _count_matching(self, text: str) -> int:
        """How many records the filter ``text`` matches (all of them for "")."""
        return self._matching(text)[1] if text else len(self._records)
