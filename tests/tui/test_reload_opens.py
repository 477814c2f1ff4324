"""A pane reload keeps what the user opened or closed while it read (reloads run every few
seconds during a migration or a sync): the service's read of the pane is held midway, the user
opens a folder / section, closes another and moves the cursor, then the read lands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.widgets.tree import TreeNode as UiNode

from core.service import PaneRead, Service
from tests.tui.pilot import child, cursor_label, loaded, names, open_node, wait_for
from tui.app import RailfiestaApp
from tui.widgets.panes import ProjectPane
from tui.widgets.project_tree import PaneItem, ProjectTree

SIGN_IN = "User signs in with a valid password"
LOCKED = "[smoke] Locked account is refused"


class HeldRead:
    """Wraps a pane read of the service (``testrail_pane``, ``testfiesta_pane``): once
    :meth:`hold` is called, the next read waits for :meth:`release` before it answers."""

    def __init__(self, read: Callable[[int], Awaitable[PaneRead]]) -> None:
        self.read = read
        self.holding = False
        self.held = asyncio.Event()
        self.released = asyncio.Event()

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.released.set()

    async def __call__(self, pair_index: int = 0) -> PaneRead:
        answer = await self.read(pair_index)
        if self.holding:
            self.holding = False
            self.held.set()
            await self.released.wait()
        return answer


def reloading(app: RailfiestaApp) -> bool:
    return any(
        worker.group in ("testrail-tree", "testfiesta-tree") and not worker.is_finished
        for worker in app.workers
    )


def open_names(tree: ProjectTree) -> set[str]:
    """The names of the records open now."""
    names_: set[str] = set()
    for key in tree.expanded_keys():
        record = tree.record(key)
        assert record is not None
        names_.add(record.name)
    return names_


async def toggle(pilot: Any, tree: ProjectTree, node: UiNode[PaneItem]) -> None:
    await open_node(pilot, tree, node)  # space toggles: opens a closed node, closes an open one


async def reload_held(pilot: Any, app: RailfiestaApp, pane: ProjectPane, held: HeldRead) -> None:
    """Start a reload of ``pane`` and wait until its read is held."""
    await wait_for(pilot, lambda: not reloading(app))
    held.hold()
    pane.load()
    await wait_for(pilot, held.held.is_set)


async def landed(pilot: Any, app: RailfiestaApp, held: HeldRead) -> None:
    held.release()
    await wait_for(pilot, lambda: not reloading(app))
    await pilot.pause()


async def test_a_folder_opened_while_the_testfiesta_pane_reloads_stays_open(
    secrets: None, make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service()
    held = HeldRead(service.testfiesta_pane)
    monkeypatch.setattr(service, "testfiesta_pane", held)
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: app.main_screen.progress.text.startswith("Migrated"))
        pane = app.main_screen.testfiesta_pane
        tree = pane.project_tree
        await wait_for(pilot, lambda: names(tree.root) == ["Login", "Checkout"])
        await wait_for(pilot, lambda: not reloading(app))
        await toggle(pilot, tree, child(tree.root, "Checkout"))
        assert open_names(tree) == {"Checkout"}

        await reload_held(pilot, app, pane, held)
        # while it reads: Checkout closed, Login opened, the cursor on a folder in it
        await toggle(pilot, tree, child(tree.root, "Checkout"))
        await toggle(pilot, tree, child(tree.root, "Login"))
        tree.move_cursor(child(child(tree.root, "Login"), "Password reset"))
        await pilot.pause()
        assert open_names(tree) == {"Login"}
        assert cursor_label(tree) == "Password reset"
        await landed(pilot, app, held)

        assert open_names(tree) == {"Login"}
        login = child(tree.root, "Login")
        assert names(login) == ["Password reset", SIGN_IN, LOCKED]
        assert not child(tree.root, "Checkout").is_expanded
        assert cursor_label(tree) == "Password reset"
        assert tree.cursor_node is not None and tree.cursor_node.parent is login


async def test_a_section_opened_while_the_testrail_pane_reloads_stays_open(
    secrets: None, make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service()
    held = HeldRead(service.testrail_pane)
    monkeypatch.setattr(service, "testrail_pane", held)
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        pane = app.main_screen.testrail_pane
        tree = pane.project_tree
        assert names(tree.root) == ["Login", "Checkout"]
        await toggle(pilot, tree, child(tree.root, "Checkout"))
        await wait_for(pilot, lambda: "loading…" not in names(child(tree.root, "Checkout")))
        assert open_names(tree) == {"Checkout"}

        await reload_held(pilot, app, pane, held)
        await toggle(pilot, tree, child(tree.root, "Checkout"))
        login = child(tree.root, "Login")
        await toggle(pilot, tree, login)
        await wait_for(pilot, lambda: "loading…" not in names(login))
        tree.move_cursor(child(login, SIGN_IN))
        await pilot.pause()
        assert open_names(tree) == {"Login"}
        await landed(pilot, app, held)

        login = child(tree.root, "Login")
        # the section's cases come again from the server (the reload replaced its node)
        await wait_for(pilot, lambda: "loading…" not in names(login))
        assert open_names(tree) == {"Login"}
        assert names(login) == ["Password reset", SIGN_IN, LOCKED]
        assert not child(tree.root, "Checkout").is_expanded
        assert cursor_label(tree) == SIGN_IN
