"""``railfiesta emulate testrail --cases N`` serves the demo's kind of project: cases and
test plans with runs and results that grow with N (it used to seed no runs at all)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from emulators import testrail as testrail_emulator
from tui.cli import main
from tui.demo import generate_project


def test_emulate_testrail_seeds_runs_and_results_with_its_cases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[Any] = []
    real_create = testrail_emulator.create_app

    def create_app(state: Any, **kwargs: Any) -> Any:
        served.append(state)
        return real_create(state, **kwargs)

    monkeypatch.setattr(testrail_emulator, "create_app", create_app)
    monkeypatch.setattr("tui.demo.serve_forever", lambda app, host, port: None)
    with socket.socket() as probe:  # a free port: the command checks it can listen there
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    code = main(
        ["emulate", "testrail", "--port", port, "--user", "qa@example.com", "--api-key", "k",
         "--cases", "100"]
    )  # fmt: skip
    assert code == 0
    [state] = served
    counts = len(state.cases), len(state.plans), len(state.runs), len(state.tests)
    assert counts == (100, 3, 9, 310)
    assert len(state.results) == 314


def test_runs_and_results_grow_with_the_cases_and_none_without_cases() -> None:
    rows = []
    for cases in (0, 100, 200):
        state = testrail_emulator.TestRailState()
        generate_project(state, cases, 7)
        rows.append((len(state.cases), len(state.runs), len(state.tests), len(state.results)))
    assert rows == [(0, 0, 0, 0), (100, 9, 310, 314), (200, 9, 510, 506)]
