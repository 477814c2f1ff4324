"""The console's keys on the demo's own data: the project ``railfiesta demo`` seeds
(:func:`tui.demo.demo_servers`: "Acme Web Shop", 600 generated cases, seed 7, three test
plans) and the config it writes (:func:`tui.demo.write_demo_config`), wired in-process through
``httpx.ASGITransport`` instead of the demo's threads.

The migration of the demo project takes seconds, so it runs once per session
(``migrated_demo`` of ``tests/conftest.py``, headless through the facade; these tests are in
its xdist group, so one worker runs them all); each test gets its own copy of both
emulators' states, the state directory and the config (:func:`demo`), so no test sees what
another did. Only :func:`test_M_migrates_the_demo_project_and_the_panes_show_its_folders`
migrates in the console itself. The last test holds a sync cycle midway (:class:`HeldCases`)
to see its new records in the TestFiesta pane before the cycle ends.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Static
from textual.widgets.tree import TreeNode as UiNode

from core.config import load_config
from emulators.testrail import ops
from tests.demo import DEMO_GROUP, Demo, MigratedDemo, build_demo, copy_demo, secrets_of
from tests.tui.pilot import child, loaded, log_text, names, open_node, wait_for
from tui import demo as demo_module
from tui.app import RailfiestaApp
from tui.demo import DEMO_HANDLE, DEMO_PROJECT
from tui.screens.conflicts import ConflictsScreen
from tui.screens.details import RecordDetails
from tui.widgets.project_tree import PaneItem, ProjectTree

pytestmark = pytest.mark.xdist_group(DEMO_GROUP)

#: The TestFiesta project key the migration makes of "Acme Web Shop".
KEY = "ACMEWEBSHOP"
#: The top-level sections the generator makes (seed 7), as TestFiesta folders.
MODULES = [
    "Authentication",
    "Checkout",
    "Catalog",
    "User profile",
    "Reporting",
    "Administration",
    "Public API",
]
#: Case 1 of the generated project (seed 7), in Authentication > Login, a Steps case.
REMEMBER_ME_ID = 1
REMEMBER_ME = "Verify that the user can stay logged in with 'Remember me'"
#: The conflicting edits of :func:`make_conflict`: (TestRail's title, TestFiesta's title).
TR_TITLE = "Verify that 'Remember me' keeps the user logged in for 30 days"
TF_TITLE = "Verify that the user stays signed in with 'Remember me'"


@pytest.fixture
def demo(migrated_demo: MigratedDemo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Demo:
    """A private copy of the session's migrated demo: both emulators' states, the state
    directory and the config file."""
    return copy_demo(migrated_demo.demo, tmp_path, monkeypatch)


def trees(app: RailfiestaApp) -> tuple[ProjectTree, ProjectTree]:
    screen = app.main_screen
    return screen.testrail_pane.project_tree, screen.testfiesta_pane.project_tree


def reloading(app: RailfiestaApp) -> bool:
    """True while a pane's tree (re)load runs (its nodes are replaced when it lands)."""
    return any(
        worker.group in ("testrail-tree", "testfiesta-tree") and not worker.is_finished
        for worker in app.workers
    )


async def open_path(
    pilot: Any, app: RailfiestaApp, tree: ProjectTree, *path: str
) -> UiNode[PaneItem]:
    """Open the folders/sections ``path`` from the root of ``tree``, once no pane reloads;
    the last node, its children loaded."""
    await wait_for(pilot, lambda: not reloading(app))
    node = tree.root
    for name in path:
        node = child(node, name)
        if not node.is_expanded:
            await open_node(pilot, tree, node)
        await wait_for(pilot, partial(children_loaded, node))
    return node


def children_loaded(node: UiNode[PaneItem]) -> bool:
    return bool(node.children) and "loading…" not in names(node)


async def make_conflict(pilot: Any, app: RailfiestaApp, demo: Demo) -> ConflictsScreen:
    """Edit case 1's title on both emulators, press ``S`` (one conflict), then ``c``."""
    with demo.state.lock:
        ops.update_case(demo.state, REMEMBER_ME_ID, {"title": TR_TITLE}, None)
    assert demo.tf.update(demo.tf_row(REMEMBER_ME_ID), {"name": TF_TITLE})
    await pilot.press("S")
    header = app.main_screen.header
    await wait_for(pilot, lambda: "1 open conflict" in header.sync_text)
    await wait_for(pilot, lambda: app.sync.mode == "none")
    assert app.main_screen.progress.text == (
        f"Synced {DEMO_PROJECT} -> {KEY}: 0 writes, 1 conflict open"
    )
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded)
    screen = app.screen
    assert isinstance(screen, ConflictsScreen)
    return screen


async def test_M_migrates_the_demo_project_and_the_panes_show_its_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = build_demo(tmp_path, demo_module.demo_servers())
    secrets_of(made.servers, monkeypatch)
    app = made.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        left, right = trees(app)
        assert names(left.root) == MODULES
        assert names(right.root) == []
        assert app.main_screen.progress.text == "Press M to migrate"
        await pilot.press("M")
        await wait_for(pilot, lambda: app.migrating)
        await wait_for(pilot, lambda: not app.migrating, timeout=60)
        await wait_for(pilot, lambda: app.main_screen.progress.text.startswith("Migrated"))
        assert app.main_screen.progress.text == "Migrated: all 89 folders and 600 cases linked"
        kinds = app.main_screen.kinds.text
        for done in ("folders 89/89 ✓", "cases 600/600 ✓", "runs 9/9 ✓", "plans 3/3 ✓"):
            assert done in kinds
        # the whole kind, as the migration report counts it: 657 tests written, 633 linked
        # (one pass); both reads (3,716 records, then the 1,290 executions again)
        assert "   tests 1290/1290 ✓   " in kinds
        assert kinds.startswith("reading 5006/5006 ✓   folders 89/89 ✓")
        await wait_for(pilot, lambda: names(right.root) == MODULES)
        authentication = await open_path(pilot, app, right, "Authentication")
        assert names(authentication) == [
            "Login",
            "Password reset",
            "Two-factor authentication",
            "Single sign-on",
        ]
        login = await open_path(pilot, app, right, "Authentication", "Login")
        assert REMEMBER_ME in names(login)
    tf_cases = [r for r in made.tf.db.cases.values() if not r["deletedAt"]]
    assert len(tf_cases) == 600
    assert made.tf_row(REMEMBER_ME_ID)["name"] == REMEMBER_ME


async def test_s_writes_enabled_true_then_false_into_the_demo_config(demo: Demo) -> None:
    path = demo.config_path
    before = path.read_bytes()
    app = demo.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        header = app.main_screen.header
        assert header.sync_text == "○ off · 0 open conflicts"
        await pilot.press("s")
        await wait_for(pilot, lambda: header.sync_text.startswith("● on"), timeout=5)
        await wait_for(pilot, lambda: path.read_bytes() == before + b"\n[sync]\nenabled = true\n")
        assert load_config(path).sync.enabled is True
        # on: the console's own watch syncs the demo project (nothing to do after a migration)
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=6)
        line = f"{DEMO_PROJECT}: synced (nothing to do); 0 conflicts open"
        await wait_for(pilot, lambda: line in log_text(app))
        await wait_for(pilot, lambda: "next poll in " in header.sync_text)

        await pilot.press("s")
        await wait_for(pilot, lambda: header.sync_text.startswith("○ off"), timeout=5)
        await wait_for(pilot, lambda: b"enabled = false" in path.read_bytes())
        assert path.read_bytes() == before + b"\n[sync]\nenabled = false\n"
        assert load_config(path).sync.enabled is False
        await wait_for(pilot, lambda: app.sync.mode == "none", timeout=6)
        assert "sync switched off ([sync] enabled = false)" in log_text(app)


async def test_greater_than_leaves_testfiesta_with_the_testrail_title(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        screen = await make_conflict(pilot, app, demo)
        assert [(v.label, v.title, v.chosen) for v in screen.views] == [
            ("title", REMEMBER_ME, False)
        ]
        assert screen.title_text == "Conflicts: 1 open"
        await pilot.press("greater_than_sign")
        assert [v.chosen for v in screen.views] == [True]
        assert screen.title_text == "Conflicts: 0 open · 1 chosen, the next sync applies them"
        assert demo.tf_row(REMEMBER_ME_ID)["name"] == TF_TITLE  # not applied yet
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen)
        await pilot.press("S")
        await wait_for(pilot, lambda: demo.tf_row(REMEMBER_ME_ID)["name"] == TR_TITLE)
        header = app.main_screen.header
        await wait_for(pilot, lambda: app.sync.mode == "none")
        await wait_for(pilot, lambda: "· 0 open conflicts" in header.sync_text)
        assert demo.tr_title(REMEMBER_ME_ID) == TR_TITLE
        assert app.service.conflict_counts() == (0, 0)


async def test_u_restores_the_conflict_before_it_is_applied(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        screen = await make_conflict(pilot, app, demo)
        first = screen.current
        assert first is not None
        await pilot.press("greater_than_sign")
        assert app.service.conflict_counts() == (0, 1)
        await pilot.press("u")
        assert screen.current == first
        assert app.service.conflict(first)["resolution"] is None
        assert app.service.conflict_counts() == (1, 0)
        assert [(v.title, v.chosen) for v in screen.views] == [(REMEMBER_ME, False)]
        assert "open: > TestRail wins" in screen.record_text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen)
        await pilot.press("S")
        line = f"{DEMO_PROJECT}: synced (nothing to do); 1 conflict open"
        await wait_for(pilot, lambda: log_text(app).count(line) == 2)  # this S's cycle
        await wait_for(pilot, lambda: app.sync.mode == "none")
        # nothing applied: each side keeps its own title, the conflict is still open
        assert demo.tr_title(REMEMBER_ME_ID) == TR_TITLE
        assert demo.tf_row(REMEMBER_ME_ID)["name"] == TF_TITLE
        assert app.service.conflict_counts() == (1, 0)
        assert "1 open conflict" in app.main_screen.header.sync_text


async def test_enter_shows_a_demo_case_with_its_steps_on_both_sides(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        left, _ = trees(app)
        login = await open_path(pilot, app, left, "Authentication", "Login")
        left.focus()
        left.move_cursor(child(login, REMEMBER_ME))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        details = app.screen
        assert isinstance(details, RecordDetails)
        await wait_for(pilot, lambda: details.sides is not None)
        summary = details.query_one("#details-summary", Static)
        assert str(summary.content) == "Both sides agree on all 14 values"
        steps = [row for row in details.shown_rows if row[1].startswith("Step ")]
        credentials = "Enter the test user's credentials\nand press Enter"
        assert steps == [
            ("", "Step 1 action", credentials, credentials),
            ("", "Step 1 expected", "The dashboard is shown", "The dashboard is shown"),
            (
                "",
                "Step 2 action",
                "Click **Sign in** in the header",
                "Click **Sign in** in the header",
            ),
            ("", "Step 2 expected", "The login dialog opens", "The login dialog opens"),
            ("", "Step 3 action", "Log out", "Log out"),
        ]
        assert details.shown_rows[:3] == [
            ("", "Title", REMEMBER_ME, REMEMBER_ME),
            ("", "Folder", "Login", "Login"),
            ("", "Template", "Test Case (Steps)", "Test Case (Steps)"),
        ]
        # the steps are the generated case's own
        with demo.state.lock:
            generated = demo.state.cases[REMEMBER_ME_ID]["custom"]["custom_steps_separated"]
        assert [s["content"] for s in generated] == [
            credentials,
            "Click **Sign in** in the header",
            "Log out",
        ]


class HeldCases(httpx.ASGITransport):
    """The TestFiesta transport, holding the first ``POST /cases`` (the cycle's case
    creates) until :attr:`release` is set: the cycle stops midway, its folder written."""

    def __init__(self, app: Any) -> None:
        super().__init__(app=app)
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if (
            request.method == "POST"
            and request.url.path == f"/v1/{DEMO_HANDLE}/projects/{KEY}/cases"
            and not self.release.is_set()
        ):
            self.held.set()
            await self.release.wait()
        return await super().handle_async_request(request)


#: Added on TestRail after the migration: a new top-level section and its cases.
GIFT_CARDS = "Gift cards"
GIFT_CASES = [
    "Redeem a gift card at checkout",
    "A gift card with no balance left is refused",
    "Gift card balance shows in the user profile",
]


async def test_S_shows_the_new_records_in_the_testfiesta_pane_before_the_cycle_ends(
    demo: Demo,
) -> None:
    with demo.state.lock:
        project = next(p for p in demo.state.projects.values() if p["name"] == DEMO_PROJECT)
        suite = demo.state.master_suite(project)
        assert suite is not None
        section = ops.add_section(
            demo.state, project["id"], {"name": GIFT_CARDS, "suite_id": suite["id"]}
        )
        for title in GIFT_CASES:
            ops.add_case(demo.state, section["id"], {"title": title}, None)
    transport = HeldCases(demo.servers.testfiesta_app)
    demo.testfiesta_transport = transport
    app = demo.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        _, right = trees(app)
        assert names(right.root) == MODULES
        await pilot.press("S")
        await wait_for(pilot, transport.held.is_set)
        # midway: the folder is written, its cases are not; the pane already shows it
        await wait_for(pilot, lambda: names(right.root) == [*MODULES, GIFT_CARDS], timeout=10)
        assert app.sync.mode == "once"
        assert app.main_screen.progress.text == f"{DEMO_PROJECT}: cases 0/3"
        assert "folders 1/1 ✓" in app.main_screen.kinds.text
        transport.release.set()
        await wait_for(pilot, lambda: app.sync.mode == "none")
        await wait_for(pilot, lambda: app.main_screen.progress.text.startswith("Synced"))
        assert app.main_screen.progress.text == (
            f"Synced {DEMO_PROJECT} -> {KEY}: 4 writes, 0 conflicts open"
        )
        gift = await open_path(pilot, app, right, GIFT_CARDS)
        assert names(gift) == GIFT_CASES
