"""The panes' badges on the demo's data (migrated once per session, headless: the
``migrated_demo`` fixture of ``tests/conftest.py``; each test gets its own copy, the
``demo`` fixture of ``tests/tui/test_demo_keys.py``): what a migration wrote reads as
synced at once, a container shows the conflicts and pending records below it, the details
show both sides as they are now, and the conflict list marks an open conflict with the
trees' conflict badge.

Sync is off throughout (the demo's config): nothing is polled unless ``S`` is pressed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from rich.style import Style
from textual.widgets.tree import TreeNode as UiNode

from core.sync_state import CONFLICT, PENDING, SYNCED
from tests.demo import DEMO_GROUP
from tests.tui.pilot import child, loaded, names, wait_for
from tests.tui.test_demo_keys import (
    MODULES,
    REMEMBER_ME,
    REMEMBER_ME_ID,
    TF_TITLE,
    Demo,
    demo,
    make_conflict,
    open_path,
    trees,
)
from tui.app import RailfiestaApp
from tui.screens.conflicts import ConflictsScreen
from tui.screens.details import RecordDetails
from tui.screens.help import BADGES, key_row
from tui.widgets.project_tree import CONFLICT_BADGE, PENDING_BADGE, SYNCED_BADGE, PaneItem

pytestmark = pytest.mark.xdist_group(DEMO_GROUP)  # one worker migrates the demo once
__all__ = ["demo"]  # the fixture: each test's private copy of the migrated demo


def label(tree: Any, node: UiNode[PaneItem]) -> str:
    """The row of ``node`` as the tree draws it, without the open/close icon: badge, name,
    and for a container what waits below it."""
    text = str(tree.render_label(node, Style(), Style()).plain)
    return text[2:] if node.allow_expand else text


async def open_details(pilot: Any, app: RailfiestaApp, tree: Any, node: Any) -> RecordDetails:
    tree.focus()
    tree.move_cursor(node)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
    details = app.screen
    assert isinstance(details, RecordDetails)
    await wait_for(pilot, lambda: details.sides is not None)
    return details


async def test_after_the_migration_every_case_reads_synced_without_a_sync(demo: Demo) -> None:
    # the migration's writes are stamped seconds after its observation (its cursor); they
    # are the bases on both sides all the same (core.sync_state: settled:<pair>)
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        left, right = trees(app)
        await wait_for(pilot, lambda: names(right.root) == MODULES)
        login = await open_path(pilot, app, right, "Authentication", "Login")
        tr_login = await open_path(pilot, app, left, "Authentication", "Login")
        await wait_for(pilot, lambda: right.state_of(f"tf:case:{demo.tf_row(1)['uid']}") == SYNCED)
        remember = child(login, REMEMBER_ME)
        assert label(right, remember) == f"{SYNCED_BADGE} {REMEMBER_ME}"
        assert label(left, child(tr_login, REMEMBER_ME)) == f"{SYNCED_BADGE} {REMEMBER_ME}"
        # every TestFiesta record (600 cases, 89 folders) and every TestRail one loaded
        assert Counter(right.state_of(r.key) for r in right.records()) == {SYNCED: 689}
        tr_states = Counter(left.state_of(r.key) for r in left.records())
        assert set(tr_states) == {SYNCED} and tr_states[SYNCED] > len(tr_login.children)
        # and nothing waits below any folder
        assert right.below == {} and left.below == {}
        assert label(right, child(right.root, "Authentication")) == (
            f"{SYNCED_BADGE} Authentication"
        )


async def test_a_folder_shows_the_conflicts_and_pending_records_below_it(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        left, right = trees(app)
        await wait_for(pilot, lambda: names(right.root) == MODULES)
        screen = await make_conflict(pilot, app, demo)  # case 1's title, on both sides
        assert screen.views[0].title == REMEMBER_ME
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen)
        # TestRail: Login is not opened, its cases not read; the conflict counts all the same
        tr_auth = child(left.root, "Authentication")
        await wait_for(pilot, lambda: "✖" in label(left, tr_auth))
        assert label(left, tr_auth) == f"{SYNCED_BADGE} Authentication  {CONFLICT_BADGE} 1"
        tf_auth = child(right.root, "Authentication")
        await wait_for(pilot, lambda: "✖" in label(right, tf_auth))
        assert label(right, tf_auth) == f"{SYNCED_BADGE} Authentication  {CONFLICT_BADGE} 1"
        login = child(await open_path(pilot, app, right, "Authentication"), "Login")
        assert label(right, login) == f"{SYNCED_BADGE} Login  {CONFLICT_BADGE} 1"
        assert label(right, child(right.root, "Checkout")) == f"{SYNCED_BADGE} Checkout"
        tr_login = await open_path(pilot, app, left, "Authentication", "Login")
        assert label(left, tr_login) == f"{SYNCED_BADGE} Login  {CONFLICT_BADGE} 1"
        # the case itself shows the conflict, on both sides
        login = await open_path(pilot, app, right, "Authentication", "Login")
        conflicting = [n for n in login.children if right.state_of(str(n.data.key)) == CONFLICT]  # type: ignore[union-attr]
        assert [label(right, n) for n in conflicting] == [f"{CONFLICT_BADGE} {REMEMBER_ME}"]

        # a TestFiesta-only edit of another Login case, read by the next load of the pane
        # (sync off: no poll), is pending, and so are the folders above it
        other = next(
            n
            for n in login.children
            if n.data is not None and n.data.kind == "case" and str(n.label) != REMEMBER_ME
        )
        assert other.data is not None and other.data.key is not None
        assert other.data.record is not None and other.data.record.linked is not None
        case_id = int(other.data.record.linked.rsplit(":", 1)[1])  # its TestRail case
        await asyncio.sleep(1.05)  # TestFiesta stamps whole seconds: past the S cycle's end
        assert demo.tf.update(demo.tf_row(case_id), {"name": "Edited on TestFiesta only"})
        app.main_screen.reload_panes()
        await wait_for(
            pilot, lambda: PENDING_BADGE in label(right, child(right.root, "Authentication"))
        )
        assert label(right, child(right.root, "Authentication")) == (
            f"{SYNCED_BADGE} Authentication  {CONFLICT_BADGE} 1  {PENDING_BADGE} 1"
        )
        assert right.state_of(other.data.key) == PENDING
        assert label(right, child(child(right.root, "Authentication"), "Login")) == (
            f"{SYNCED_BADGE} Login  {CONFLICT_BADGE} 1  {PENDING_BADGE} 1"
        )
        assert label(right, child(right.root, "Checkout")) == f"{SYNCED_BADGE} Checkout"


async def test_details_show_a_testfiesta_only_edit_as_it_is_now_and_pending(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        left, right = trees(app)
        tr_login = await open_path(pilot, app, left, "Authentication", "Login")
        tf_login = await open_path(pilot, app, right, "Authentication", "Login")
        # edited on TestFiesta while the console runs: neither pane has read it
        row = demo.tf_row(REMEMBER_ME_ID)
        assert demo.tf.update(row, {"name": TF_TITLE})
        tf_key = f"tf:case:{row['uid']}"

        details = await open_details(pilot, app, left, child(tr_login, REMEMBER_ME))
        assert details.rows == [
            ("Case", f"tr:case:{REMEMBER_ME_ID}"),
            ("Title", REMEMBER_ME),
            ("In", "Authentication › Login"),
            ("Badge", f"{PENDING_BADGE} pending: linked to TestFiesta {tf_key}"),
            ("There", TF_TITLE),
        ]
        assert details.shown_rows[0] == ("≠", "Title", REMEMBER_ME, TF_TITLE)
        summary = details.query_one("#details-summary")
        assert str(summary.content) == "1 of 14 values differ (≠)"  # type: ignore[attr-defined]
        shown = [str(row.content) for row in details.query(".details-row")]  # type: ignore[attr-defined]
        assert shown[3:] == [
            f"Badge  {PENDING_BADGE} pending: linked to TestFiesta {tf_key}",
            f"There  {TF_TITLE}",
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen)
        # the trees took what the details read: the new title and the badge, on both sides,
        # and the folders above count it
        tf_node = right._node_of(tf_key)
        tr_node = left._node_of(f"tr:case:{REMEMBER_ME_ID}")
        assert tf_node is not None and tr_node is not None
        assert label(right, tf_node) == f"{PENDING_BADGE} {TF_TITLE}"
        assert label(left, tr_node) == f"{PENDING_BADGE} {REMEMBER_ME}"
        await wait_for(pilot, lambda: PENDING_BADGE in label(right, tf_login))
        assert label(right, tf_login) == f"{SYNCED_BADGE} Login  {PENDING_BADGE} 1"
        await wait_for(pilot, lambda: PENDING_BADGE in label(left, tr_login))
        assert label(left, tr_login) == f"{SYNCED_BADGE} Login  {PENDING_BADGE} 1"

        # from the TestFiesta pane: its own title as it is now, TestRail's there
        details = await open_details(pilot, app, right, child(tf_login, TF_TITLE))
        assert details.rows == [
            ("Case", tf_key),
            ("Title", TF_TITLE),
            ("In", "Authentication › Login"),
            ("Badge", f"{PENDING_BADGE} pending: linked to TestRail tr:case:{REMEMBER_ME_ID}"),
            ("There", REMEMBER_ME),
        ]


async def test_an_open_conflict_in_the_list_carries_the_trees_conflict_badge(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        screen = await make_conflict(pilot, app, demo)
        [view] = screen.views
        prompt = screen._prompt(view).plain
        assert prompt.startswith(f"{CONFLICT_BADGE} title      ")
        assert not prompt.startswith(SYNCED_BADGE)
        assert f"{CONFLICT_BADGE} open: > TestRail wins" in screen.record_text
        await pilot.press("greater_than_sign")
        assert screen._prompt(screen.views[0]).plain.startswith("✓ title      ")
        assert isinstance(app.screen, ConflictsScreen)


def test_the_help_explains_the_counts_after_a_folder() -> None:
    rows = [key_row(badge, meaning, 6) for badge, meaning in BADGES]
    assert rows[-1] == (
        f"   {CONFLICT_BADGE} 2  after a folder's name: 2 records below it in\n"
        f"        conflict ({PENDING_BADGE} 2: pending)"
    )
