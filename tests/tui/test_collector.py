"""Full garbage collections wait for the user's pauses (tui/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import emulate
from tui.app import RailfiestaApp
from tui.collector import FULL_EVERY, IDLE_AFTER, NEWEST_EVERY, IdleCollector


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def young_collection() -> None:
    """One generation-1 collection, so a full one is due (``gc.get_count()[2] > 0``)."""
    gc.collect(1)
    assert gc.get_count()[2] >= 1


def test_start_makes_full_collections_rare_and_stop_puts_python_s_thresholds_back(
    thresholds: tuple[int, int, int],
) -> None:
    collector = IdleCollector()
    collector.start()
    assert gc.get_threshold() == (NEWEST_EVERY, thresholds[1], FULL_EVERY) == (
        10_000, thresholds[1], 100
    )  # fmt: skip
    collector.start()  # a second start keeps the thresholds first found
    collector.stop()
    assert gc.get_threshold() == thresholds


def test_a_full_collection_runs_only_after_a_second_without_input(
    thresholds: tuple[int, int, int],
) -> None:
    now = [1000.0]
    collector = IdleCollector(clock=lambda: now[0])
    young_collection()
    now[0] += IDLE_AFTER - 0.01
    assert collector.tick() is False  # still within the pause after the last key
    collector.input()
    now[0] += 0.5
    assert collector.tick() is False  # a key came 0.5 s ago
    now[0] += IDLE_AFTER
    assert collector.tick() is True and collector.collections == 1
    assert gc.get_count()[2] == 0
    now[0] += 5
    assert collector.tick() is False  # nothing young collected since: nothing to do
    young_collection()
    assert collector.tick() is True and collector.collections == 2


async def test_the_console_notes_keys_and_puts_the_thresholds_back_when_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, thresholds: tuple[int, int, int]
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=3)
    app = RailfiestaApp(env.service())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert gc.get_threshold() == (NEWEST_EVERY, thresholds[1], FULL_EVERY)
        before = app.collector.last_input
        await pilot.press("down")
        assert app.collector.last_input > before
    assert gc.get_threshold() == thresholds
