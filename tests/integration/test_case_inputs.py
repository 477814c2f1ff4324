"""Issue 7's inputs that must work, each with its exact expected values: seeded into the TestRail
emulator as TestRail stores them, migrated, read back through TestFiesta's emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulators.testrail import ops
from tests.helpers import Emulated, emulate


def _project(env: Emulated) -> dict[str, Any]:
    project = env.testrail_state.find_project("Acme Web Shop")
    assert project is not None
    return project


def _section(env: Emulated, name: str) -> int:
    state = env.testrail_state
    with state.lock:
        project = _project(env)
        return int(ops.add_section(state, project["id"], {"name": name})["id"])


def _tf_cases(env: Emulated) -> dict[str, dict[str, Any]]:
    state = env.testfiesta.state.testfiesta
    return {
        row["name"]: state.render_case(row)
        for row in state.db.cases.values()
        if not row["deletedAt"]
    }


async def _migrate(env: Emulated) -> None:
    async with env.service() as service:
        [report] = await service.migrate()
    assert report.complete, report.warnings


async def test_251_cases_in_one_section_all_arrive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=5)
    section = _section(env, "Bulk")
    with env.testrail_state.lock:
        for n in range(251):
            ops.add_case(env.testrail_state, section, {"title": f"Bulk case {n:03d}"}, 1)
    await _migrate(env)
    titles = [name for name in _tf_cases(env) if name.startswith("Bulk case ")]
    assert sorted(titles) == [f"Bulk case {n:03d}" for n in range(251)]


async def test_dropdown_labels_come_from_the_projects_context_and_multi_select_gives_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=5)
    state = env.testrail_state
    section = _section(env, "Contexts")
    with state.lock:
        project_id = _project(env)["id"]
        other = ops.add_project(state, {"name": "Other project", "suite_mode": 1})
        environment = ops.add_case_field(
            state,
            {
                "type": "Dropdown",
                "name": "environment",
                "label": "Environment",
                "include_all": True,
                "configs": [
                    {
                        "context": {"is_global": False, "project_ids": [other["id"]]},
                        "options": {"items": "1, QA\n2, Prod", "default_value": "1"},
                    },
                    {
                        "context": {"is_global": False, "project_ids": [project_id]},
                        "options": {"items": "1, Staging\n2, Live", "default_value": "1"},
                    },
                ],
            },
        )
        ops.add_case_field(
            state,
            {
                "type": "Multi-select",
                "name": "browsers",
                "label": "Browsers",
                "include_all": True,
                "configs": [
                    {
                        "context": {"is_global": True},
                        "options": {"items": "1, Chrome\n2, Firefox\n3, Safari"},
                    }
                ],
            },
        )
        ops.add_case(
            state,
            section,
            {"title": "Deploy check", "custom_environment": 2, "custom_browsers": [1, 3]},
            1,
        )
    assert environment["system_name"] == "custom_environment"
    await _migrate(env)
    custom = _tf_cases(env)["Deploy check"]["customFields"]
    assert custom["Environment"] == "Live"
    assert custom["Browsers"] == ["Chrome", "Safari"]


async def test_every_line_of_an_expected_result_with_mixed_line_ends_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=5)
    section = _section(env, "Lines")
    with env.testrail_state.lock:
        ops.add_case(
            env.testrail_state,
            section,
            {
                "title": "Three lines",
                "template_id": 2,
                "custom_steps_separated": [
                    {"content": "Open the page", "expected": "Line A\nLine B\r\nLine C"}
                ],
            },
            1,
        )
    await _migrate(env)
    [step] = _tf_cases(env)["Three lines"]["steps"]
    assert step["description"] == "Open the page"
    assert step["expectedResult"].splitlines() == ["Line A", "Line B", "Line C"]


async def test_non_ascii_and_255_three_byte_characters_arrive_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=5)
    section = _section(env, "Text")
    long_title = "日" * 255
    with env.testrail_state.lock:
        for title in ("Prix £5 — 日本語テスト 😀", long_title):
            ops.add_case(env.testrail_state, section, {"title": title}, 1)
    await _migrate(env)
    cases = _tf_cases(env)
    assert "Prix £5 — 日本語テスト 😀" in cases
    assert long_title in cases
    assert len(long_title.encode("utf-8")) == 765


async def test_a_steps_case_with_stale_text_steps_brings_only_its_templates_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=5)
    section = _section(env, "Templates")
    state = env.testrail_state
    with state.lock:
        case = ops.add_case(
            state,
            section,
            {"title": "Switched template", "template_id": 1, "custom_steps": "1. old text step"},
            1,
        )
        ops.update_case(
            state,
            case["id"],
            {
                "template_id": 2,
                "custom_steps_separated": [{"content": "New step", "expected": "It works"}],
            },
            1,
        )
        assert state.cases[case["id"]]["custom"]["custom_steps"] == "1. old text step"
    await _migrate(env)
    migrated = _tf_cases(env)["Switched template"]
    assert [(s["description"], s["expectedResult"]) for s in migrated["steps"]] == [
        ("New step", "It works")
    ]
    assert "Steps" not in (migrated.get("customFields") or {})


async def test_step_content_written_in_html_arrives_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=5)
    section = _section(env, "HTML")
    with env.testrail_state.lock:
        ops.add_case(
            env.testrail_state,
            section,
            {
                "title": "Written in HTML mode",
                "template_id": 2,
                "custom_preconds": "<p>Logged in</p><p>Cart <b>empty</b></p>",
                "custom_steps_separated": [
                    {"content": "<p>Open</p><p>Click<br>Save</p>", "expected": "Saved<br>Toast"}
                ],
            },
            1,
        )
    await _migrate(env)
    case = _tf_cases(env)["Written in HTML mode"]
    [step] = case["steps"]
    assert step["description"] == "Open\n\nClick\nSave"
    assert step["expectedResult"] == "Saved\nToast"
    assert case["customFields"]["Preconditions"] == "Logged in\n\nCart **empty**"
