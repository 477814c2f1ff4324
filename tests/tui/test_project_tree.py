"""ProjectTree's replacements of Textual ``Tree`` internals (textual==8.2.8, pinned in
pyproject.toml): its line list (``_build``) must equal Textual's, and its kept drawn lines
(``_render_line``) must equal lines drawn afresh, after every kind of change to the tree. A
Textual upgrade that changes these internals fails here."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Tree
from textual.widgets._tree import _TreeLine
from textual.widgets.tree import TreeNode as UiNode

from core.service import TreeNode
from core.sync_state import CONFLICT, PENDING
from tui.widgets.project_tree import PaneItem, ProjectTree


class TreeHost(App[None]):
    """A bare app around one ProjectTree."""

    def compose(self) -> ComposeResult:
        yield ProjectTree("t", id="t")


def records() -> list[TreeNode]:
    """Two folders of cases, one holding a subfolder: ``tf:folder:1`` > (``tf:folder:3`` >
    3 cases, 4 cases); ``tf:folder:2`` > 2 cases."""
    sub_cases = [
        TreeNode("case", f"tf:case:3{n}", f"sub case {n}", "tf:folder:3") for n in range(3)
    ]
    sub = TreeNode("folder", "tf:folder:3", "Sub", "tf:folder:1", children=sub_cases)
    cases = [TreeNode("case", f"tf:case:1{n}", f"case {n}", "tf:folder:1") for n in range(4)]
    big = TreeNode("folder", "tf:folder:1", "Big", None, "tr:section:1", children=[sub, *cases])
    small_cases = [TreeNode("case", f"tf:case:2{n}", f"small {n}", "tf:folder:2") for n in range(2)]
    return [big, TreeNode("folder", "tf:folder:2", "Small", None, children=small_cases)]


def textual_lines(tree: ProjectTree) -> tuple[list[tuple[list[int], bool]], list[int], object]:
    """What ``Tree._build`` makes of the tree now: (each line's path as node ids and its
    last flag, each node's line in line order, the virtual size)."""
    Tree._build(tree)
    return shape(tree)


def shape(tree: ProjectTree) -> tuple[list[tuple[list[int], bool]], list[int], object]:
    lines: list[_TreeLine[PaneItem]] = tree._tree_lines
    paths = [([node.id for node in line.path], line.last) for line in lines]
    return paths, [line.node._line for line in lines], tree.virtual_size


def ours(tree: ProjectTree) -> tuple[list[tuple[list[int], bool]], list[int], object]:
    tree._build()
    return shape(tree)


def node_named(tree: ProjectTree, name: str) -> UiNode[PaneItem]:
    return next(line.node for line in tree._tree_lines if str(line.node.label) == name)


def drawn(tree: ProjectTree) -> list[list[Segment]]:
    """The segments of every line on screen, as the tree draws them now (kept lines)."""
    style = tree.rich_style
    tree._styles_now = tree._styles_seen()
    try:
        return [
            list(tree._render_line(y, 0, tree.size.width, style)) for y in range(tree.size.height)
        ]
    finally:
        tree._styles_now = None


def fresh(tree: ProjectTree) -> list[list[Segment]]:
    """The same lines drawn with no line kept."""
    tree._drawn.clear()
    return drawn(tree)


def test_textual_is_the_version_these_replacements_copy() -> None:
    assert version("textual") == "8.2.8"
    # ProjectTree replaces Tree's line cache, so Tree must still draw through it
    source = inspect.getsource(Tree._render_line)
    assert "if cache_key in self._line_cache:" in source
    assert "self._line_cache[cache_key] = Strip(segments)" in source
    assert "pad_width = max(self.virtual_size.width, width)" in source
    assert 'Style(meta={"line": y})' in source


async def test_build_equals_textuals_after_each_change() -> None:
    app = TreeHost()
    async with app.run_test(size=(60, 20)) as pilot:
        tree = app.query_one(ProjectTree)
        tree.show_records(records())
        await pilot.pause()
        assert ours(tree) == textual_lines(tree)
        steps = [
            lambda: tree._toggle_node(node_named(tree, "Big")),
            lambda: tree._toggle_node(node_named(tree, "Sub")),
            lambda: tree._toggle_node(node_named(tree, "Small")),
            lambda: node_named(tree, "small 1").remove(),  # "small 0" becomes the last
            lambda: node_named(tree, "Sub").set_label("A much longer folder name than any"),
            lambda: tree._toggle_node(node_named(tree, "Big")),  # closed again
            lambda: setattr(tree, "show_root", True),
            lambda: tree._toggle_node(node_named(tree, "Big")),
            lambda: setattr(tree, "show_root", False),
        ]
        for step in steps:
            step()
            await pilot.pause()
            assert ours(tree) == textual_lines(tree)
            assert tree.cursor_line == (tree.cursor_node.line if tree.cursor_node else -1)
        assert len(tree._tree_lines) == 11


async def test_opening_adds_the_children_at_once() -> None:
    app = TreeHost()
    async with app.run_test(size=(60, 20)):
        tree = app.query_one(ProjectTree)
        tree.show_records(records())
        big = node_named(tree, "Big")
        tree._toggle_node(big)  # no NodeExpanded handled yet
        assert [str(child.label) for child in big.children] == [
            "Sub",
            "case 0",
            "case 1",
            "case 2",
            "case 3",
        ]
        assert big.is_expanded


async def press_and_settle(pilot: Pilot[None], key: str) -> None:
    await pilot.press(key)
    await pilot.pause()


async def test_kept_lines_equal_lines_drawn_afresh() -> None:
    app = TreeHost()
    async with app.run_test(size=(60, 12)) as pilot:
        tree = app.query_one(ProjectTree)
        tree.show_records(records())
        tree.focus()
        await pilot.pause()
        changes = [
            lambda: press_and_settle(pilot, "space"),  # open Big (cursor on it)
            lambda: press_and_settle(pilot, "down"),
            lambda: press_and_settle(pilot, "space"),  # open Sub
            lambda: press_and_settle(pilot, "down"),
            lambda: press_and_settle(pilot, "down"),
            lambda: press_and_settle(pilot, "up"),
        ]
        edits = [
            lambda: tree.set_states({"tf:case:30": CONFLICT}),
            lambda: tree.set_states({f"tf:case:1{n}": PENDING for n in range(4)}),
            lambda: tree.mark_linked("tf:case:31"),
            lambda: node_named(tree, "sub case 2").remove(),  # "sub case 1" now the last
            lambda: tree.mark_linked("tf:case:12"),  # scrolls
            # Sub becomes Big's last child: the guides of its children's lines change
            lambda: [node_named(tree, f"case {n}").remove() for n in range(4)],
            lambda: setattr(tree, "hover_line", 2),
            lambda: setattr(tree, "hover_line", -1),
            lambda: tree.blur(),
            lambda: tree.focus(),
            lambda: setattr(app, "theme", "textual-light"),
        ]
        seen = 0
        for change in changes:
            await change()
            kept = drawn(tree)
            assert kept == fresh(tree)
            seen += 1
        for edit in edits:
            edit()
            await pilot.pause()
            kept = drawn(tree)
            assert kept == fresh(tree)
            seen += 1
        assert seen == 17
        assert len(tree._tree_lines) == 5


class LazyHost(App[None]):
    """A bare app around one ProjectTree whose folders' cases come from outside."""

    def compose(self) -> ComposeResult:
        yield ProjectTree("t", lazy_kinds={"folder"}, id="t")


def count_builds(tree: ProjectTree) -> list[int]:
    """Count the full rebuilds of ``tree``'s line list from now on (one entry each)."""
    builds: list[int] = []
    full = tree._build

    def counted() -> None:
        builds.append(len(tree.root.children))
        full()

    tree._build = counted  # type: ignore[method-assign]
    return builds


def spliced_equals_rebuilt(tree: ProjectTree) -> int:
    """Assert the line list as spliced equals our full rebuild and Textual's; the line
    count. Leaves the tree with our rebuilt list (its line widths kept with it)."""
    spliced = shape(tree)
    assert spliced == textual_lines(tree)
    assert spliced == ours(tree)
    return len(spliced[0])


async def test_opening_and_closing_splice_the_lines_without_a_rebuild() -> None:
    app = TreeHost()
    async with app.run_test(size=(60, 20)) as pilot:
        tree = app.query_one(ProjectTree)
        tree.show_records(records())
        await pilot.pause()
        assert len(tree._tree_lines) == 2
        builds = count_builds(tree)
        counts = []
        steps = [
            lambda: tree._toggle_node(node_named(tree, "Big")),  # +5 lines
            lambda: tree._toggle_node(node_named(tree, "Sub")),  # +3
            lambda: tree._toggle_node(node_named(tree, "Small")),  # +2, after Big's
            lambda: tree._toggle_node(node_named(tree, "Sub")),  # -3
            lambda: tree._toggle_node(node_named(tree, "Big")),  # -5
            lambda: tree._toggle_node(node_named(tree, "Big")),  # +5: Sub stays closed
        ]
        for step in steps:
            step()
            await pilot.pause()
            assert builds == []  # read on idle and drawn: spliced only
            counts.append(spliced_equals_rebuilt(tree))
            builds.clear()  # spliced_equals_rebuilt's own rebuild
            assert tree.cursor_line == (tree.cursor_node.line if tree.cursor_node else -1)
        assert counts == [7, 10, 12, 9, 4, 9]


async def test_a_lazy_open_and_its_leaves_splice_the_lines_without_a_rebuild() -> None:
    app = LazyHost()
    async with app.run_test(size=(60, 20)) as pilot:
        tree = app.query_one(ProjectTree)
        tree.show_records(records())
        await pilot.pause()
        builds = count_builds(tree)
        big = node_named(tree, "Big")
        tree._toggle_node(big)  # Sub, 4 cases, then "loading…"
        await pilot.pause()
        assert builds == []
        assert spliced_equals_rebuilt(tree) == 8
        builds.clear()
        leaves = [TreeNode("case", f"tf:case:9{n}", f"leaf {n}", "tf:folder:1") for n in range(3)]
        tree.fill(big, leaves)  # "loading…" gone, 3 leaves after the cases
        await pilot.pause()
        assert builds == []
        assert spliced_equals_rebuilt(tree) == 10
        assert [str(line.node.label) for line in tree._tree_lines] == [
            "Big",
            "Sub",
            *[f"case {n}" for n in range(4)],
            "leaf 0",
            "leaf 1",
            "leaf 2",
            "Small",
        ]


def screen_lines(app: App[None]) -> list[list[Segment]]:
    """The screen as the compositor shows it now, from each widget's kept lines (a line a
    repaint missed shows here as it was)."""
    return [list(strip) for strip in app.screen._compositor.render_strips()]


async def test_a_repaint_from_the_changed_line_down_shows_what_a_full_repaint_shows() -> None:
    app = LazyHost()
    async with app.run_test(size=(40, 8)) as pilot:
        tree = app.query_one(ProjectTree)
        folders = [TreeNode("folder", f"tf:folder:{n}", f"Folder {n}", None) for n in range(12)]
        tree.show_records(folders)
        tree.focus()
        await pilot.pause()

        def leaves(folder: int, count: int) -> list[TreeNode]:
            return [
                TreeNode(
                    "case", f"tf:case:{folder}0{n}", f"case {folder}.{n}", f"tf:folder:{folder}"
                )
                for n in range(count)
            ]

        regions: list[tuple[Region, ...] | None] = []
        changed = tree._changed_region

        def noted() -> tuple[Region, ...] | None:
            region = changed()
            regions.append(region)
            return region

        tree._changed_region = noted  # type: ignore[method-assign]
        steps = [
            lambda: tree._toggle_node(node_named(tree, "Folder 2")),  # "loading…" at line 3
            lambda: tree.fill(node_named(tree, "Folder 2"), leaves(2, 3)),  # lines 3-5
            lambda: tree.scroll_to(y=6, animate=False),
            lambda: tree._toggle_node(node_named(tree, "Folder 9")),  # the view's last line
            lambda: tree.fill(node_named(tree, "Folder 9"), leaves(9, 4)),  # below the view
            lambda: tree._toggle_node(node_named(tree, "Folder 11")),  # below the view
            lambda: tree._toggle_node(node_named(tree, "Folder 2")),  # closed, above the view
            lambda: tree._toggle_node(node_named(tree, "Folder 5")),  # in the middle
            lambda: tree.fill(node_named(tree, "Folder 5"), leaves(5, 2)),
        ]
        for step in steps:
            step()
            await pilot.pause()
            shown = screen_lines(app)
            tree.refresh()  # every line painted again
            await pilot.pause()
            assert shown == screen_lines(app)
        top = tree.scroll_offset.y
        assert [str(line.node.label) for line in tree._tree_lines[top : top + 8]] == [
            "case 5.0",
            "case 5.1",
            "Folder 6",
            "Folder 7",
            "Folder 8",
            "Folder 9",
            "case 9.0",
            "case 9.1",
        ]
        # the view was repainted in part, or not at all, where nothing above a change moved
        assert () in regions
        assert any(region and region[0].y > 0 for region in regions)


async def test_the_scrollbars_come_and_go_with_the_lines_as_a_layout_decides() -> None:
    app = LazyHost()
    async with app.run_test(size=(40, 8)) as pilot:
        tree = app.query_one(ProjectTree)
        folders = [TreeNode("folder", f"tf:folder:{n}", f"Folder {n}", None) for n in range(4)]
        tree.show_records(folders)
        await pilot.pause()

        def cases(folder: int, *names: str) -> list[TreeNode]:
            return [
                TreeNode("case", f"tf:case:{folder}{n}", name, f"tf:folder:{folder}")
                for n, name in enumerate(names)
            ]

        # a case line of 39 cells (guide 3, badge 2, title 34): it fits the tree's 40
        # cells, but not the 38 left once the vertical scrollbar shows
        wide = "x" * 34
        seen = []
        layouts: list[int] = []  # screen layouts not asked for by this test
        screen = app.screen
        layout = screen._refresh_layout

        def counted(size: object = None, scroll: bool = False) -> None:
            if size is None:
                layouts.append(len(seen))
            layout(size, scroll)  # type: ignore[arg-type]

        screen._refresh_layout = counted  # type: ignore[method-assign]
        steps = [
            lambda: tree._toggle_node(node_named(tree, "Folder 0")),
            lambda: tree.fill(node_named(tree, "Folder 0"), cases(0, "a")),  # 5 lines
            lambda: tree._toggle_node(node_named(tree, "Folder 1")),
            lambda: tree.fill(node_named(tree, "Folder 1"), cases(1, "b", wide)),  # 7, wide
            lambda: tree._toggle_node(node_named(tree, "Folder 2")),  # 8: "loading…"
            lambda: tree.fill(node_named(tree, "Folder 2"), cases(2, "c", "d")),  # 9 lines
            lambda: tree._toggle_node(node_named(tree, "Folder 2")),  # 7 lines
            lambda: tree._toggle_node(node_named(tree, "Folder 1")),  # 5 lines, narrow
        ]
        for step in steps:
            step()
            await pilot.pause()
            shown = (tree.show_horizontal_scrollbar, tree.show_vertical_scrollbar)
            app.screen._refresh_layout(app.screen.size)  # what a layout decides
            await pilot.pause()
            assert shown == (tree.show_horizontal_scrollbar, tree.show_vertical_scrollbar)
            seen.append((len(tree._tree_lines), tree.virtual_size.width, *shown))
        assert seen == [
            (5, 12, False, False),
            (5, 12, False, False),
            (6, 12, False, False),
            (7, 39, False, False),
            (8, 39, False, False),
            (9, 39, True, True),
            (7, 39, False, False),
            (5, 12, False, False),
        ]
        # laid out only when a scrollbar came (step 5) or went (step 6)
        assert sorted(set(layouts)) == [5, 6]


async def test_an_id_or_key_with_its_number_filters_that_record_not_those_it_begins() -> None:
    app = TreeHost()
    async with app.run_test(size=(60, 20)) as pilot:
        tree = app.query_one(ProjectTree)
        # TestFiesta's copies of C12, C125 and C1200, and a case whose title holds "C12"
        cases = [
            TreeNode("case", "tf:case:40", "Sign in", "tf:folder:1", "tr:case:12"),
            TreeNode("case", "tf:case:41", "Express delivery", "tf:folder:1", "tr:case:125"),
            TreeNode("case", "tf:case:42", "Gift wrap", "tf:folder:1", "tr:case:1200"),
            TreeNode("case", "tf:case:43", "Regression of C12's bug", "tf:folder:1"),
        ]
        tree.show_records([TreeNode("folder", "tf:folder:1", "Checkout", None, children=cases)])
        await pilot.pause()

        def shown(text: str) -> list[str]:
            tree.apply_filter(text)
            folder = next(iter(tree.root.children), None)
            return [str(node.label) for node in folder.children] if folder else []

        assert shown("C12") == ["Sign in", "Regression of C12's bug"]
        assert shown("tr:case:12") == ["Sign in"]
        assert shown("tr:case:1") == []  # no copy of C1
        assert shown("tr:case") == ["Sign in", "Express delivery", "Gift wrap"]  # every copy
        assert shown("tf:case:4") == []
        assert shown("tf:case:41") == ["Express delivery"]
        assert shown("4") == ["Sign in", "Express delivery", "Gift wrap", "Regression of C12's bug"]
