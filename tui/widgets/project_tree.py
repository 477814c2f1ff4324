"""A project pane's tree: records from ``core.service.TreeNode`` with sync badges, built lazily.

Nothing is added to the Textual tree until its parent opens, and no node ever receives more
than :attr:`ProjectTree.CHUNK` children at once: the rest wait behind a "N more…" node that
loads the next chunk when selected. Kinds listed in ``lazy_kinds`` (TestRail sections, whose
cases the service lists separately) also get a "loading…" placeholder on first open and post
:class:`ProjectTree.LoadLeaves`; the owner fetches the leaves and calls :meth:`ProjectTree.fill`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
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

    # ------------------------------------------------------------------ feeding

    def clear_records(self) -> None:
        """Remove every line."""
        self.clear()
        self._reopen = set()

    def show_records(
        self,
        records: Sequence[TreeNode],
        *,
        reopen: Iterable[str] | None = None,
        empty: str = "(empty)",
    ) -> None:
        """Replace everything with ``records`` as the top level.

        ``reopen``: record keys to expand again as they appear (to keep what the user had open
        across a reload); None (a first load) opens a lone top-level record instead. ``empty``
        is the note shown when there are no records.
        """
        self.clear()
        self._reopen = set(reopen or ())
        if records:
            self._add_chunk(self.root, list(records), suite_id=None)
            lone = self.root.children[0] if len(self.root.children) == 1 else None
            if reopen is None and lone is not None and lone.allow_expand:
                lone.expand()  # a single suite or folder: open it
        else:
            self.root.add_leaf(Text(empty), PaneItem("note"))
        self.root.expand()

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
        if leaves:
            self._add_chunk(node, list(leaves), suite_id=suite_id)
        elif not node.children:
            node.add_leaf("(empty)", PaneItem("note"))

    def fill_error(self, node: UiNode[PaneItem], message: str) -> None:
        """Replace ``node``'s "loading…" placeholder with an error note."""
        self._drop_loading(node)
        node.add_leaf(Text(message), PaneItem("note"))

    # ------------------------------------------------------------------ lazy growth

    @on(Tree.NodeExpanded)
    def _populate(self, event: Tree.NodeExpanded[PaneItem]) -> None:
        node = event.node
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
    def _more(self, event: Tree.NodeSelected[PaneItem]) -> None:
        node = event.node
        item = node.data
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
