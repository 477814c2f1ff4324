"""A project pane's tree: records from ``core.service.TreeNode`` with sync badges, built lazily.

Nothing is added to the Textual tree until its parent opens, and no node ever receives more
than :attr:`ProjectTree.CHUNK` children at once: the rest wait behind a "N more…" node that
loads the next chunk when selected. Kinds listed in ``lazy_kinds`` (TestRail sections, whose
cases the service lists separately) also get a "loading…" placeholder on first open and post
:class:`ProjectTree.LoadLeaves`; the owner fetches the leaves and calls :meth:`ProjectTree.fill`.

The cursor sits on a row as soon as there is one (so enter and space act at once) and stays on
the same record across a reload. Enter on a case, or ``i`` on any record, posts
:class:`ProjectTree.DetailsWanted`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode as UiNode

from core.service import TreeNode

#: Badge glyphs; shapes differ so they read without colour (NO_COLOR, monochrome terminals).
SYNCED_BADGE = "●"
ONLY_HERE_BADGE = "○"


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

    @property
    def key(self) -> str | None:
        """The record key (``tr:section:12``), or None for a non-record line."""
        return self.record.key if self.record is not None else None


def record_id(key: str) -> int:
    """The numeric id at the end of a record key: ``"tr:section:12"`` -> ``12``.

    Raises ``ValueError`` when the key does not end in a number.
    """
    return int(key.rsplit(":", 1)[-1])


class ProjectTree(Tree[PaneItem]):
    """A lazy tree of one side's records.

    Feed it with :meth:`show_records` (top level); :meth:`clear_records` empties it.
    ``lazy_kinds`` are record kinds whose leaves come from outside. Under a node, containers
    come before cases on both sides.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = Tree.COMPONENT_CLASSES | {
        "project-tree--synced",
        "project-tree--only-here",
        "project-tree--note",
    }

    # The console's stylesheet recolours the badges with its theme variables ($synced ...).
    DEFAULT_CSS = """
    ProjectTree > .project-tree--synced { color: $success; }
    ProjectTree > .project-tree--only-here { color: $secondary; }
    ProjectTree > .project-tree--note { color: $text-muted; text-style: italic; }
    """

    #: Most children added under one node in one go.
    CHUNK: ClassVar[int] = 200

    # Same keys as Tree, described for the help screen; ``i`` is ours.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open, or a case's details", show=False),
        Binding("space", "toggle_node", "Open or close", show=False),
        Binding("shift+space", "toggle_expand_all", "Open or close all below", show=False),
        Binding("i", "details", "Details", show=False),
    ]

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

    # ------------------------------------------------------------------ feeding

    def clear_records(self) -> None:
        """Remove every line."""
        self.clear()
        self._reopen = set()
        self._records = {}
        self._filled = set()
        self._cursor_key = None

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
        self._filled = set()
        self._index(records)
        if records:
            self._add_chunk(self.root, list(records), suite_id=suite_id)
            lone = self.root.children[0] if len(self.root.children) == 1 else None
            if reopen is None and lone is not None and lone.allow_expand:
                lone.expand()  # a single suite or folder: open it
                self._populate_node(lone)
        else:
            self.root.add_leaf(Text(empty), PaneItem("note"))
        self.root.expand()
        self._place_cursor(path)

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
            self._records[record.key] = record
            stack.extend(record.children)

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
        """The shown node of the record ``key`` (None when it is not shown)."""
        for line in self._tree_lines:
            if line.node.data is not None and line.node.data.key == key:
                return line.node
        return None

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

    def fill(self, node: UiNode[PaneItem], leaves: Sequence[TreeNode]) -> None:
        """Put the leaves fetched for ``node`` where its "loading…" placeholder is."""
        self._drop_loading(node)
        item = node.data
        suite_id = item.suite_id if item is not None else None
        if item is not None and item.key is not None:
            self._filled.add(item.key)
        self._index(leaves)
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

    def fill_error(self, node: UiNode[PaneItem], message: str) -> None:
        """Replace ``node``'s "loading…" placeholder with an error note."""
        self._drop_loading(node)
        node.add_leaf(Text(message), PaneItem("note"))

    # ------------------------------------------------------------------ lazy growth

    @on(Tree.NodeExpanded)
    def _populate(self, event: Tree.NodeExpanded[PaneItem]) -> None:
        self._populate_node(event.node)

    def _populate_node(self, node: UiNode[PaneItem]) -> None:
        """Add ``node``'s children the first time it opens."""
        item = node.data
        if item is None or item.record is None or item.populated:
            return
        item.populated = True
        suite_id = item.suite_id
        if item.kind == "suite":
            suite_id = record_id(item.record.key)
        if item.record.children:
            children = sorted(item.record.children, key=lambda record: record.kind == "case")
            self._add_chunk(node, children, suite_id=suite_id)
        if item.kind in self.lazy_kinds:
            node.add_leaf("loading…", PaneItem("loading"))
            self.post_message(self.LoadLeaves(self, node))
        elif not item.record.children:
            node.add_leaf("(empty)", PaneItem("note"))

    @on(Tree.NodeSelected)
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
        node.remove()
        self._add_chunk(parent, rest, suite_id=item.suite_id)

    def _add_chunk(
        self, parent: UiNode[PaneItem], records: list[TreeNode], *, suite_id: int | None
    ) -> None:
        shown, rest = records[: self.CHUNK], records[self.CHUNK :]
        for record in shown:
            item = PaneItem(record.kind, record, suite_id=suite_id)
            if record.kind == "case":
                parent.add_leaf(Text(record.name), item)
            else:
                child = parent.add(Text(record.name), item)
                if record.key in self._reopen:
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

    def render_label(self, node: UiNode[PaneItem], base_style: Style, style: Style) -> Text:
        """The label with the sync badge between the open/close icon and the name; notes
        (errors, "loading…", "N more…") are muted."""
        label = super().render_label(node, base_style, style)
        item = node.data
        if item is None:
            return label
        if item.record is None:
            label.stylize(self._component_style("project-tree--note"))
            return label
        linked = item.record.linked is not None
        badge = Text(
            (SYNCED_BADGE if linked else ONLY_HERE_BADGE) + " ",
            self._component_style("project-tree--synced" if linked else "project-tree--only-here"),
        )
        icon = len(self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE)
        head, tail = label.divide([icon]) if node.allow_expand else (Text(), label)
        return Text.assemble(head, badge, tail)
