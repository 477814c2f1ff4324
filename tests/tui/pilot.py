"""Helpers for driving the console with Pilot in the tests."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets.tree import TreeNode as UiNode

from tui.app import RailfiestaApp
from tui.widgets.activity import ActivityLog
from tui.widgets.connection_bar import ConnectionBar
from tui.widgets.project_tree import PaneItem, ProjectTree


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds (generous
    by default: a condition that holds returns at once, and a loaded CI machine is slow)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


def names(node: UiNode[PaneItem]) -> list[str]:
    """The labels of a tree node's children."""
    return [str(child.label) for child in node.children]


def child(node: UiNode[PaneItem], name: str) -> UiNode[PaneItem]:
    """The child of ``node`` labelled ``name``."""
    for candidate in node.children:
        if str(candidate.label) == name:
            return candidate
    raise AssertionError(f"{name!r} not among {names(node)}")


def screen_text(app: RailfiestaApp) -> str:
    """What the terminal shows now, as plain text (one line per row), as a screenshot
    would capture it: the current screen over the ones behind it, toasts included."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def state_of(app: RailfiestaApp, side: str) -> str:
    """The connection state the header shows for ``side``."""
    return app.main_screen.query_one(ConnectionBar).row(side).state


def log_text(app: RailfiestaApp) -> str:
    """Everything in the activity log (after flushing what is queued)."""
    log = app.main_screen.query_one(ActivityLog)
    log.flush()
    return "\n".join(log.lines)


def cursor_label(tree: ProjectTree) -> str | None:
    """The label of the row under the tree's cursor (None: no cursor)."""
    node = tree.cursor_node
    return None if node is None else str(node.label)


async def open_node(pilot: Pilot[Any], tree: ProjectTree, node: UiNode[PaneItem]) -> None:
    """Put the cursor on ``node`` and press space, as a user would."""
    tree.focus()
    tree.move_cursor(node)
    await pilot.press("space")


async def loaded(pilot: Pilot[Any], app: RailfiestaApp) -> None:
    """Wait until both panes have loaded (or failed), the header says so and the screen has
    taken the panes' news (the progress row no longer says "Connecting…" or "Loading…": the
    panes' messages reach the screen after the panes change)."""
    screen = app.main_screen
    panes = (screen.testrail_pane, screen.testfiesta_pane)
    await wait_for(
        pilot,
        lambda: (
            all(
                (pane.loaded or pane.failed) and state_of(app, pane.side) != "connecting"
                for pane in panes
            )
            and screen.progress.text not in ("Connecting…", "Loading…")
        ),
    )
