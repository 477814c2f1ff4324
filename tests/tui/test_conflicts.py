"""The conflicts screen (``c``) over both emulators: real conflicts made by editing the same
case on both sides after a migration, settled by keys, applied by a sync.

Every title and text the tests assert is in this file: the TestRail project comes from
:data:`CHECKOUT_XML`; the conflicts from :func:`make_conflicts`.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from textual.pilot import Pilot
from textual.widgets._toast import Toast

from core.config import load_config
from core.service import Service
from emulators import testfiesta as testfiesta_emulator
from emulators import testrail as testrail_emulator
from emulators.testrail import ops
from emulators.testrail.seed import from_xml
from emulators.testrail.store import TestRailState
from tests.tui.conftest import (
    CONFIG,
    PAIR,
    TESTFIESTA_HANDLE,
    TESTFIESTA_TOKEN,
    TESTRAIL_KEY,
    TESTRAIL_USER,
)
from tests.tui.pilot import log_text, screen_text, wait_for
from tui.app import RailfiestaApp
from tui.screens.conflicts import ConflictsScreen, EditValue
from tui.screens.modals import Confirm
from tui.sync_control import CHOICE_SECONDS
from tui.widgets.diff import change_text, word_pieces

PROJECT = "Checkout"

CHECKOUT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<suite>
  <id>S1</id>
  <name>Checkout</name>
  <sections>
    <section>
      <name>Payment</name>
      <cases>
        <case>
          <id>C1</id>
          <title>Pay with a saved card</title>
        </case>
        <case>
          <id>C2</id>
          <title>Pay with a gift card</title>
        </case>
        <case>
          <id>C3</id>
          <title>Refund a cancelled order</title>
          <custom>
            <steps_separated>
              <step>
                <content>Open the order page</content>
                <expected>The order shows as cancelled</expected>
              </step>
              <step>
                <content>Press Refund</content>
                <expected>The refund is queued</expected>
              </step>
            </steps_separated>
          </custom>
        </case>
        <case>
          <id>C4</id>
          <title>Pay by bank transfer</title>
        </case>
      </cases>
    </section>
  </sections>
</suite>
"""

#: Title edits per case: (TestRail's new title, TestFiesta's new title).
TITLES = {
    "Pay with a saved card": ("Pay with a saved Visa card", "Pay with a stored card"),
    "Pay with a gift card": ("Pay with a gift card and points", "Pay with a gift voucher"),
}
#: Step 2 of "Refund a cancelled order": (TestRail's, TestFiesta's).
STEP_TWO = ("Press Refund and confirm", "Click Refund")


@dataclass
class World:
    """Both emulators after a migration and one sync that found the conflicts."""

    testrail: Starlette
    testfiesta: Starlette
    state: TestRailState
    config_path: Path
    state_dir: Path

    def service(self) -> Service:
        return Service(
            load_config(self.config_path),
            state_dir=self.state_dir,
            testrail_transport=httpx.ASGITransport(app=self.testrail),
            testfiesta_transport=httpx.ASGITransport(app=self.testfiesta),
        )

    def app(self, **kwargs: Any) -> RailfiestaApp:
        return RailfiestaApp(self.service(), **kwargs)

    def tr_case_id(self, title: str) -> int:
        with self.state.lock:
            return next(cid for cid, row in self.state.cases.items() if row["title"] == title)

    def tr_title(self, case_id: int) -> str:
        with self.state.lock:
            return str(self.state.cases[case_id]["title"])

    def tr_steps(self, case_id: int) -> list[str]:
        with self.state.lock:
            steps = self.state.cases[case_id]["custom"]["custom_steps_separated"]
        return [str(s["content"]) for s in steps]

    def tf_row(self, case_id: int) -> dict[str, Any]:
        tf = self.testfiesta.state.testfiesta
        return next(
            r
            for r in tf.db.cases.values()
            if r.get("externalId", "").endswith(f"/case/{case_id}") and not r["deletedAt"]
        )

    def tf_title(self, case_id: int) -> str:
        return str(self.tf_row(case_id)["name"])

    def tf_edit(self, case_id: int, **changes: Any) -> None:
        self.testfiesta.state.testfiesta.update(self.tf_row(case_id), changes)


async def make_conflicts(world: World) -> None:
    """Migrate, edit both titles of :data:`TITLES` and step 2 of the refund case on both
    sides, sync once: three conflicts (two titles, one step)."""
    async with world.service() as service:
        [report] = await service.migrate()
        assert report.complete
        for old, (tr_new, tf_new) in TITLES.items():
            case = world.tr_case_id(old)
            with world.state.lock:
                ops.update_case(world.state, case, {"title": tr_new}, None)
            world.tf_edit(case, name=tf_new)
        refund = world.tr_case_id("Refund a cancelled order")
        with world.state.lock:
            steps = [dict(s) for s in world.state.cases[refund]["custom"]["custom_steps_separated"]]
            steps[1]["content"] = STEP_TWO[0]
            ops.update_case(world.state, refund, {"custom_steps_separated": steps}, None)
        tf_steps = [dict(s) for s in world.tf_row(refund)["steps"]]
        tf_steps[1]["description"] = STEP_TWO[1]
        world.tf_edit(refund, steps=tf_steps)
        await service.sync()
        fields = sorted(c["conflict"]["field"] for c in service.conflicts())
    assert fields == ["steps[2]", "title", "title"]


def build_world(tmp_path: Path) -> World:
    xml = tmp_path / "checkout.xml"
    xml.write_text(CHECKOUT_XML, encoding="utf-8")
    state = TestRailState()
    from_xml(state, xml, project_name=PROJECT)
    config = tmp_path / "railfiesta.toml"
    config.write_text(
        CONFIG.format(user=TESTRAIL_USER, handle=TESTFIESTA_HANDLE)
        + PAIR.format(testrail=PROJECT, testfiesta="CHK"),
        encoding="utf-8",
    )
    return World(
        testrail_emulator.create_app(state, user=TESTRAIL_USER, api_key=TESTRAIL_KEY),
        testfiesta_emulator.create_app(handle=TESTFIESTA_HANDLE, token=TESTFIESTA_TOKEN),
        state,
        config,
        tmp_path / "state",
    )


def copy_world(source: World, directory: Path) -> World:
    """A private copy of ``source`` in ``directory``: both emulators' states, the config
    file and the state directory."""
    with source.state.lock:
        state = copy.deepcopy(source.state, {id(source.state.lock): threading.RLock()})
    tf_state = copy.deepcopy(source.testfiesta.state.testfiesta)
    config = directory / source.config_path.name
    shutil.copyfile(source.config_path, config)
    shutil.copytree(source.state_dir, directory / "state")
    return World(
        testrail_emulator.create_app(state, user=TESTRAIL_USER, api_key=TESTRAIL_KEY),
        testfiesta_emulator.create_app(tf_state, handle=TESTFIESTA_HANDLE, token=TESTFIESTA_TOKEN),
        state,
        config,
        directory / "state",
    )


@pytest.fixture(scope="module")
def conflicted(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The world of :func:`make_conflicts`, made once per module; tests get a copy."""
    made = build_world(tmp_path_factory.mktemp("conflicts"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        patch.setenv("RF_TEST_TESTRAIL_KEY", TESTRAIL_KEY)
        patch.setenv("RF_TEST_TESTFIESTA_TOKEN", TESTFIESTA_TOKEN)
        asyncio.run(make_conflicts(made))
    return made


@pytest.fixture
def world(conflicted: World, tmp_path: Path, secrets: None) -> World:
    """A private copy of :func:`conflicted`: migrated, three conflicts open."""
    return copy_world(conflicted, tmp_path)


async def open_conflicts(pilot: Pilot[Any], app: RailfiestaApp) -> ConflictsScreen:
    """Press ``c`` and wait for the list to be read."""
    await wait_for(pilot, lambda: app.service_open)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded)
    screen = app.screen
    assert isinstance(screen, ConflictsScreen)
    return screen


async def sync_and_reload(app: RailfiestaApp, screen: ConflictsScreen) -> None:
    """One sync cycle through the facade (as ``S`` or ``sync --watch`` would run it), then
    the list read again."""
    await app.service.sync()
    await screen.reload()


def shown(screen: ConflictsScreen) -> tuple[str | None, str | None]:
    """(the current conflict's field label, its record title)."""
    view = screen.current_view
    return (view.label, view.title) if view else (None, None)


# ---------------------------------------------------------------------------------- keys


async def test_c_lists_the_open_conflicts_with_titles_and_a_three_way_diff(
    world: World,
) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_conflicts(pilot, app)
        assert [(v.label, v.title, v.chosen) for v in screen.views] == [
            ("title", "Pay with a saved card", False),
            ("title", "Pay with a gift card", False),
            ("step 2", "Refund a cancelled order", False),
        ]
        assert screen.title_text == "Conflicts: 3 open"
        assert shown(screen) == ("title", "Pay with a saved card")
        await pilot.pause()
        text = screen_text(app)
        assert "TestRail's change against the base" in text
        assert "Pay with a saved Visa card" in text
        assert "Pay with a stored card" in text
        # Enter chooses nothing: no default action
        await pilot.press("enter")
        await pilot.pause()
        assert app.service.conflict_counts() == (3, 0)


async def test_greater_than_lands_the_testrail_title_on_testfiesta(world: World) -> None:
    case = world.tr_case_id("Pay with a saved Visa card")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        first = screen.current
        await pilot.press("greater_than_sign")
        # chosen, not applied yet: still listed, marked, and the screen moved on
        assert [v.id for v in screen.views if v.chosen] == [first]
        assert shown(screen) == ("title", "Pay with a gift card")
        assert screen.title_text == "Conflicts: 2 open · 1 chosen, the next sync applies them"
        assert "TestRail's value chosen" in screen_text(app)
        assert world.tf_title(case) == "Pay with a stored card"

        await sync_and_reload(app, screen)
        assert world.tf_title(case) == "Pay with a saved Visa card"
        assert world.tr_title(case) == "Pay with a saved Visa card"
        # applied: it left the list
        assert first not in [v.id for v in screen.views]
        assert screen.title_text == "Conflicts: 2 open"


async def test_with_sync_on_the_console_s_own_watch_applies_a_choice_at_once(
    world: World,
) -> None:
    """Sync on: the console runs the watch itself (a poll every 5 minutes); a choice asks it
    for a cycle a moment later, so the choice lands without S."""
    with world.config_path.open("a", encoding="utf-8") as config:
        config.write("\n[sync]\nenabled = true\n")
    case = world.tr_case_id("Pay with a saved Visa card")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=10)
        bar = app.main_screen.header
        await wait_for(pilot, lambda: "next poll in 4:" in bar.sync_text, timeout=10)
        screen = await open_conflicts(pilot, app)
        await pilot.press("greater_than_sign")
        await wait_for(pilot, lambda: world.tf_title(case) == "Pay with a saved Visa card", 10)
        await wait_for(pilot, lambda: len(screen.views) == 2, timeout=5)
        assert world.tr_title(case) == "Pay with a saved Visa card"
        assert screen.title_text == "Conflicts: 2 open"
        assert app.sync.mode == "own"
        assert "1 conflict choice waiting: syncing now to apply them" in log_text(app)


async def test_u_within_the_choice_window_keeps_the_own_watch_from_applying_it(
    world: World,
) -> None:
    """Sync on, the console's own watch waiting: ``>`` then ``u`` within
    :data:`CHOICE_SECONDS` of it. When the window ends nothing is chosen any more, so the
    watch is not asked for a cycle: no cycle runs, both sides keep their own title and the
    conflict stays open."""
    with world.config_path.open("a", encoding="utf-8") as config:
        config.write("\n[sync]\nenabled = true\n")
    case = world.tr_case_id("Pay with a saved Visa card")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=10)
        bar = app.main_screen.header
        await wait_for(pilot, lambda: "next poll in 4:" in bar.sync_text, timeout=10)
        last_cycle = app.service.last_poll()
        assert last_cycle is not None
        waiting = app.service.monitor()["watch"]
        assert waiting["state"] == "waiting"
        screen = await open_conflicts(pilot, app)
        first = screen.current
        loop = asyncio.get_running_loop()
        chosen_at = loop.time()
        await pilot.press("greater_than_sign")
        assert app.service.conflict_counts() == (2, 1)
        await pilot.press("u")
        assert loop.time() - chosen_at < CHOICE_SECONDS  # within the window
        assert screen.current == first
        assert app.service.conflict_counts() == (3, 0)
        # the window ends (the timer fired, its look at the choices done)
        await wait_for(pilot, lambda: app.sync._choice_timer is None, timeout=CHOICE_SECONDS + 5)
        await wait_for(
            pilot,
            lambda: all(w.is_finished for w in app.workers if w.group == "sync-now"),
            timeout=5,
        )
        # a cycle asked for would start within WATCH_TICK (0.2 s): give it 1.5 s
        await pilot.pause(1.5)
        assert "syncing now to apply them" not in log_text(app)
        assert "sync now: asked for by a console" not in log_text(app)
        watch = app.service.monitor()["watch"]
        # no cycle ran or runs: still waiting for the same poll, the last cycle the same
        assert (watch["state"], watch["next_poll"]) == ("waiting", waiting["next_poll"])
        assert app.service.last_poll() == last_cycle
        assert app.sync.mode == "own"
        assert world.tr_title(case) == "Pay with a saved Visa card"
        assert world.tf_title(case) == "Pay with a stored card"
        assert app.service.conflict_counts() == (3, 0)
        assert screen.title_text == "Conflicts: 3 open"


async def test_less_than_lands_the_testfiesta_title_on_testrail(world: World) -> None:
    case = world.tr_case_id("Pay with a saved Visa card")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        await pilot.press("less_than_sign")
        await sync_and_reload(app, screen)
        assert world.tr_title(case) == "Pay with a stored card"
        assert world.tf_title(case) == "Pay with a stored card"
        assert [v.title for v in screen.views] == [
            "Pay with a gift card",
            "Refund a cancelled order",
        ]


async def test_u_takes_the_last_choice_back_before_a_sync(world: World) -> None:
    case = world.tr_case_id("Pay with a saved Visa card")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        first = screen.current
        assert first is not None
        await pilot.press("greater_than_sign")
        assert screen.current != first
        await pilot.press("u")
        # open again, exact id, and shown
        assert screen.current == first
        entry = app.service.conflict(first)
        assert entry["conflict"]["id"] == first
        assert entry["resolution"] is None
        assert app.service.conflict_counts() == (3, 0)
        assert "open: > TestRail wins" in screen.record_text
        await sync_and_reload(app, screen)
        # nothing was applied: both sides keep their own title, the conflict stays
        assert world.tr_title(case) == "Pay with a saved Visa card"
        assert world.tf_title(case) == "Pay with a stored card"
        assert first in [v.id for v in screen.views]
        await pilot.press("u")
        assert app.service.conflict_counts() == (3, 0)


async def test_u_still_takes_choices_back_after_the_screen_closes_and_opens_again(
    world: World,
) -> None:
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        first = screen.current
        assert first is not None
        await pilot.press("greater_than_sign")
        second = screen.current
        assert second is not None and second != first
        await pilot.press("less_than_sign")
        assert app.service.conflict_counts() == (1, 2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConflictsScreen))
        screen = await open_conflicts(pilot, app)
        # the newest choice first: TestFiesta's value for the second conflict
        await pilot.press("u")
        assert app.service.conflict(second)["resolution"] is None
        assert app.service.conflict(first)["resolution"]["winner"] == "testrail"
        assert screen.current == second
        assert app.service.conflict_counts() == (2, 1)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConflictsScreen))
        screen = await open_conflicts(pilot, app)
        await pilot.press("u")
        assert app.service.conflict(first)["resolution"] is None
        assert screen.current == first
        assert app.service.conflict_counts() == (3, 0)
        assert len(app.service.resolutions) == 0
        await pilot.press("u")  # nothing left: says so, changes nothing
        assert app.service.conflict_counts() == (3, 0)


async def test_capital_d_repeats_the_choice_for_the_rest_of_the_field(world: World) -> None:
    saved = world.tr_case_id("Pay with a saved Visa card")
    gift = world.tr_case_id("Pay with a gift card and points")
    refund = world.tr_case_id("Refund a cancelled order")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        await pilot.press("D")  # nothing chosen yet: nothing to repeat
        assert app.service.conflict_counts() == (3, 0)
        await pilot.press("less_than_sign")
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == (
            "Take TestFiesta's value for the 1 other open title conflict too?"
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: app.service.conflict_counts() == (1, 2))
        # the step conflict is another field: it stays open, and it is shown now
        [still] = [v for v in screen.views if not v.chosen]
        assert (still.label, still.title) == ("step 2", "Refund a cancelled order")
        await wait_for(pilot, lambda: shown(screen) == ("step 2", "Refund a cancelled order"))
        await sync_and_reload(app, screen)
        assert world.tr_title(saved) == world.tf_title(saved) == "Pay with a stored card"
        assert world.tr_title(gift) == world.tf_title(gift) == "Pay with a gift voucher"
        assert [v.label for v in screen.views] == ["step 2"]
        assert world.tr_steps(refund)[1] == STEP_TWO[0]


async def test_u_takes_back_a_capital_d_batch_as_a_whole(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        first = screen.current
        await pilot.press("greater_than_sign", "D")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.service.conflict_counts() == (1, 2))
        await pilot.press("u")  # the D batch
        await wait_for(pilot, lambda: app.service.conflict_counts() == (2, 1))
        assert shown(screen) == ("title", "Pay with a gift card")
        await pilot.press("u")  # the > before it
        await wait_for(pilot, lambda: app.service.conflict_counts() == (3, 0))
        assert screen.current == first


async def test_capital_d_waits_for_a_yes(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conflicts(pilot, app)
        await pilot.press("greater_than_sign")
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        assert app.service.conflict_counts() == (2, 1)


async def test_e_opens_both_changes_merged_and_lands_the_value_on_both_sides(
    world: World,
) -> None:
    case = world.tr_case_id("Pay with a saved Visa card")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditValue))
        editor = app.screen
        assert isinstance(editor, EditValue)
        # TestRail added "Visa", TestFiesta made "saved" "stored": apart, so both land
        assert [a.text for a in editor.areas()] == ["Pay with a stored Visa card"]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        assert shown(screen) == ("title", "Pay with a gift card")
        await sync_and_reload(app, screen)
    assert world.tr_title(case) == "Pay with a stored Visa card"
    assert world.tf_title(case) == "Pay with a stored Visa card"


async def test_e_puts_the_cursor_in_the_value_so_typing_edits_it(world: World) -> None:
    case = world.tr_case_id("Pay with a saved Visa card")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditValue))
        editor = app.screen
        assert isinstance(editor, EditValue)
        [area] = editor.areas()
        assert app.focused is area
        await pilot.press("end", *" now")
        assert area.text == "Pay with a stored Visa card now"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        await sync_and_reload(app, screen)
    assert world.tr_title(case) == "Pay with a stored Visa card now"
    assert world.tf_title(case) == "Pay with a stored Visa card now"


async def test_e_keeps_a_clash_for_the_person_and_lands_the_edited_value(world: World) -> None:
    case = world.tr_case_id("Pay with a gift card and points")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        await pilot.press("n", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditValue))
        editor = app.screen
        assert isinstance(editor, EditValue)
        [area] = editor.areas()
        # both changed the end of the title: the editor opens with both, between markers
        assert area.text == (
            "<<<<<<< TestRail\nPay with a gift card and points\n=======\n"
            "Pay with a gift voucher\n>>>>>>> TestFiesta"
        )
        await pilot.press("ctrl+s")  # the clash block is still there: refused
        await pilot.pause()
        assert isinstance(app.screen, EditValue)
        assert "still holds a <<<<<<< TestRail" in screen_text(app)
        assert app.service.conflict_counts() == (3, 0)
        area.load_text("Pay with a gift voucher and points")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        assert shown(screen) == ("step 2", "Refund a cancelled order")
        await sync_and_reload(app, screen)
    assert world.tr_title(case) == "Pay with a gift voucher and points"
    assert world.tf_title(case) == "Pay with a gift voucher and points"


async def test_e_refuses_a_title_of_two_lines_and_names_the_fix(world: World) -> None:
    case = world.tr_case_id("Pay with a saved Visa card")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditValue))
        editor = app.screen
        assert isinstance(editor, EditValue)
        [area] = editor.areas()
        area.load_text("Merged title\nsecond line")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditValue)  # refused: the editor stays open
        assert "title is one line: join the lines, or keep the one you want" in screen_text(app)
        assert app.service.conflict_counts() == (3, 0)  # nothing chosen
        area.load_text("Merged title")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        await sync_and_reload(app, screen)
    assert world.tr_title(case) == "Merged title"
    assert world.tf_title(case) == "Merged title"


async def test_e_on_a_step_edits_its_columns_merged(world: World) -> None:
    refund = world.tr_case_id("Refund a cancelled order")
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        await pilot.press("n", "n")
        assert shown(screen) == ("step 2", "Refund a cancelled order")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditValue))
        editor = app.screen
        assert isinstance(editor, EditValue)
        # "and confirm" (TestRail) and "Click" (TestFiesta) do not touch: merged
        assert [p.label for p in editor.parts] == ["step", "expected"]
        assert [a.text for a in editor.areas()] == [
            "Click Refund and confirm",
            "The refund is queued",
        ]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        await sync_and_reload(app, screen)
    assert world.tr_steps(refund)[1] == "Click Refund and confirm"
    assert world.tf_row(refund)["steps"][1]["description"] == "Click Refund and confirm"


async def test_escape_in_the_editor_chooses_nothing(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        first = screen.current
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditValue))
        await pilot.press("x", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        assert screen.current == first
        assert app.service.conflict_counts() == (3, 0)


async def test_n_and_p_move_and_slash_skips_without_choosing(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        assert shown(screen) == ("title", "Pay with a saved card")
        await pilot.press("n")
        assert shown(screen) == ("title", "Pay with a gift card")
        await pilot.press("n")
        assert shown(screen) == ("step 2", "Refund a cancelled order")
        await pilot.press("n")  # the last stays the last
        assert shown(screen) == ("step 2", "Refund a cancelled order")
        await pilot.press("p")
        assert shown(screen) == ("title", "Pay with a gift card")
        await pilot.press("slash")
        assert shown(screen) == ("step 2", "Refund a cancelled order")
        await pilot.press("slash")  # wraps to the first open one
        assert shown(screen) == ("title", "Pay with a saved card")
        assert app.service.conflict_counts() == (3, 0)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen)


async def test_b_toggles_the_base_column(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_conflicts(pilot, app)
        # narrow: the two changes side by side, no base column
        await pilot.pause()
        assert screen.diff.compact and not screen.diff.base_shown

        def heading() -> list[str]:
            [line] = [ln for ln in screen_text(app).splitlines() if "TestRail's change" in ln]
            return line.strip("│ ").split()

        assert heading() == ["TestRail's", "change", "TestFiesta's", "change"]
        await pilot.press("b")
        assert screen.diff.base_shown
        await pilot.pause()
        assert heading() == ["TestRail's", "change", "base", "TestFiesta's", "change"]
        await pilot.press("b")
        await pilot.pause()
        assert heading() == ["TestRail's", "change", "TestFiesta's", "change"]


async def test_the_keys_are_in_the_help_and_the_palette(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflicts(pilot, app)
        groups = dict(app.key_groups())
        assert ("c", "Conflicts") in groups["Console"]
        here = groups["This screen"]
        for row in [
            (">", "TestRail wins"),
            ("<", "TestFiesta wins"),
            ("e", "Edit a merged value"),
            ("/", "Skip (leave it open)"),
            ("n", "Next conflict"),
            ("p", "Previous conflict"),
            ("u", "Undo the last choice"),
            ("D", "Same choice for the rest of this field"),
        ]:
            assert row in here
        commands = {c.title: c for c in app.get_system_commands(screen)}
        titles = [c.title for c in app.get_system_commands(screen)]
        assert titles.count("Conflicts") == 1
        assert "Conflict: Same choice for the rest of this field" in titles
        # a palette command does what its key does
        app.call_later(commands["Conflict: TestRail wins"].callback)
        await wait_for(pilot, lambda: app.service.conflict_counts() == (2, 1))
        assert shown(screen) == ("title", "Pay with a gift card")


async def test_with_no_conflict_the_screen_says_so_and_the_keys_choose_nothing(
    tmp_path: Path, secrets: None
) -> None:
    world = build_world(tmp_path)
    async with world.service() as service:
        [report] = await service.migrate()
        assert report.complete
    app = world.app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_conflicts(pilot, app)
        assert screen.title_text == "Conflicts: none open"
        assert screen.record_text.startswith("Nothing to settle.")
        # every message as sent (the toasts that no longer fit over the list are dismissed)
        messages: list[str] = []
        notify = app.notify

        def noted(message: str, **options: Any) -> None:
            messages.append(message)
            notify(message, **options)

        app.notify = noted  # type: ignore[method-assign]
        await pilot.press("greater_than_sign", "e", "D", "u", "n", "slash")
        await pilot.pause()
        assert app.screen is screen
        assert app.service.conflict_counts() == (0, 0)
        assert messages == [
            "No conflict to settle.",
            "No conflict to settle.",
            "Choose > or < first: D then makes that choice for the rest of the field.",
            "Nothing to undo here.",
            "No conflict to settle.",
        ]
        await wait_for(pilot, lambda: bool(screen.query(Toast)), timeout=10.0)
        assert "No conflict to settle." in screen_text(app)


# ---------------------------------------------------------------------------------- diff


def test_word_pieces_join_a_rewrite_into_one_change() -> None:
    assert word_pieces("Press Refund", "Press Refund and confirm") == [
        ("equal", "Press Refund", "Press Refund"),
        ("change", "", " and confirm"),
    ]
    assert word_pieces("Pay with a saved card", "Pay with a stored card") == [
        ("equal", "Pay with a ", "Pay with a "),
        ("change", "saved", "stored"),
        ("equal", " card", " card"),
    ]
    assert word_pieces("User signs in", "TestRail title") == [
        ("change", "User signs in", "TestRail title")
    ]


def test_a_change_shows_what_was_removed_and_what_was_added() -> None:
    from rich.style import Style

    added, removed = Style(bold=True), Style(strike=True)
    text = change_text("Pay with a saved card", "Pay with a stored card", added, removed)
    assert text.plain == "Pay with a [-saved-]{+stored+} card"
    spans = [(text.plain[s.start : s.end], s.style) for s in text.spans]
    assert spans == [
        ("[-", removed), ("saved", removed), ("-]", removed),
        ("{+", added), ("stored", added), ("+}", added),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------- snapshots


@pytest.fixture
def snapshot_world(tmp_path: Path, secrets: None) -> World:
    made = build_world(tmp_path)
    asyncio.run(make_conflicts(made))
    return made


@pytest.mark.parametrize("theme", ["railfiesta-dark", "railfiesta-high-contrast"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_conflict_screen_snapshot(
    snapshot_world: World, snap_compare: Any, theme: str, size: tuple[int, int]
) -> None:
    async def open_them(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, RailfiestaApp)
        screen = await open_conflicts(pilot, app)
        # the first chosen (marked, waiting for a sync), then the step conflict: rows per
        # step column
        await pilot.press("greater_than_sign", "n")
        await wait_for(pilot, lambda: shown(screen)[0] == "step 2")
        await pilot.pause()

    assert snap_compare(snapshot_world.app(theme=theme), terminal_size=size, run_before=open_them)
