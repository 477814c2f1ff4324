"""The details block a copied result's comment ends with (core/testfiesta/results.py): its
exact text, and reading it back into the user's comment and the canonical values."""

from __future__ import annotations

from typing import Any

from core.testfiesta.results import (
    DETAILS_HEADER,
    detail_entries,
    details_values,
    split_details,
    with_details,
)
from core.testrail.catalog import CaseField, TestRailCatalog


def field(system: str, label: str, kind: str, items: dict[int, str] | None = None) -> CaseField:
    return CaseField(system, label, kind, True, frozenset(), items or {})


FIELDS = {
    "custom_environment": field("custom_environment", "Environment", "dropdown", {2: "Live"}),
    "custom_build": field("custom_build", "Build", "integer"),
    "custom_flaky": field("custom_flaky", "Flaky", "checkbox"),
    "custom_browsers": field("custom_browsers", "Browsers", "multi_select"),
    "custom_notes": field("custom_notes", "Notes", "text"),
    "custom_version": field("custom_version", "Version", "string"),
}

VALUES: dict[str, Any] = {
    "elapsed": "1m 30s",
    "version": "2.4.1",
    "defects": "BUG-12, BUG-13",
    "field:custom_environment": "Live",
    "field:custom_build": 1432,
    "field:custom_flaky": False,
    "field:custom_browsers": ["Chrome", "Firefox"],
    "field:custom_notes": "Zahlung abgelehnt — 402\n  indented line\nÜbersicht ✅",
    "field:custom_version": "web-7",
    "step_results": [
        {"content": "Open the cart", "status": "Passed", "actual": "Cart shows 2 items"},
        {"content": "Pay", "status": "Failed", "actual": "HTTP 500:\ncard declined"},
        {"status": "Blocked"},
    ],
}

BLOCK = "\n".join(
    [
        "— TestRail result details —",
        "Elapsed: 1m 30s",
        "Version: 2.4.1",
        "Defects: BUG-12, BUG-13",
        "Environment: Live",
        "Build: 1432",
        "Flaky: No",
        "Browsers: Chrome, Firefox",
        "Notes: Zahlung abgelehnt — 402",
        "    indented line",
        "  Übersicht ✅",
        "Version (custom_version): web-7",
        "Step 1 (Passed): Cart shows 2 items",
        "Step 2 (Failed): HTTP 500:",
        "  card declined",
        "Step 3 (Blocked):",
    ]
)


def test_the_block_lists_every_value_by_its_label_then_the_step_results() -> None:
    text = with_details("Fails on Safari:\nthe button is hidden", detail_entries(VALUES, FIELDS))
    assert text == "Fails on Safari:\nthe button is hidden\n\n" + BLOCK


def test_the_block_reads_back_into_the_comment_and_the_same_values() -> None:
    comment = "Fails on Safari:\nthe button is hidden\n"
    text = with_details(comment, detail_entries(VALUES, FIELDS))
    back, entries = split_details(text)
    assert back == comment
    values, unknown = details_values(entries, FIELDS)
    assert unknown == []
    expected = dict(VALUES)
    # a step's action is its execution step's: the comment keeps its status and actual text
    expected["step_results"] = [
        {"status": "Passed", "actual": "Cart shows 2 items"},
        {"status": "Failed", "actual": "HTTP 500:\ncard declined"},
        {"status": "Blocked"},
    ]
    assert values == expected


def test_empty_values_are_left_out_and_no_details_leave_the_comment_alone() -> None:
    values = {
        "elapsed": "",
        "version": None,
        "defects": "X-1",
        "field:custom_browsers": [],
        "field:custom_notes": "",
        "step_results": [{"content": "Open"}, {"actual": "ok"}],
    }
    assert detail_entries(values, FIELDS) == [("Defects", "X-1"), ("Step 2", "ok")]
    assert with_details("Works as expected.", []) == "Works as expected."
    assert split_details("Works as expected.") == ("Works as expected.", [])
    assert with_details("", [("Elapsed", "5s")]) == f"{DETAILS_HEADER}\nElapsed: 5s"
    assert split_details(f"{DETAILS_HEADER}\nElapsed: 5s") == ("", [("Elapsed", "5s")])


def test_a_comment_that_holds_the_header_line_itself_reads_back_whole() -> None:
    comment = f"Pasted from another result:\n{DETAILS_HEADER}\nElapsed: 9m"
    alone = with_details(comment, [])
    assert alone == f"{comment}\n\n{DETAILS_HEADER}"
    assert split_details(alone) == (comment, [])
    both = with_details(comment, [("Version", "2.4.1")])
    assert split_details(both) == (comment, [("Version", "2.4.1")])


def test_a_name_holding_a_colon_reads_whole_when_the_reader_knows_it() -> None:
    text = with_details("", [("Build: nightly", "yes: really")])
    assert split_details(text) == ("", [("Build", "nightly: yes: really")])
    assert split_details(text, ["Build: nightly"]) == ("", [("Build: nightly", "yes: really")])


def test_result_fields_take_the_labels_of_the_project_context() -> None:
    rows = [
        {
            "system_name": "custom_environment",
            "label": "Environment",
            "type_id": 6,
            "include_all": True,
            "configs": [
                {"context": {"is_global": False, "project_ids": [7]},
                 "options": {"items": "1, Staging\n2, Canary"}},
                {"context": {"is_global": False, "project_ids": [3]},
                 "options": {"items": "1, Staging\n2, Live"}},
            ],
        },
        {"system_name": "custom_other", "label": "Other", "type_id": 1,
         "configs": [{"context": {"is_global": False, "project_ids": [7]}, "options": {}}]},
        {"system_name": "custom_step_results", "label": "Steps", "type_id": 11,
         "configs": [{"context": {"is_global": True, "project_ids": None}, "options": {}}]},
    ]  # fmt: skip
    catalog = TestRailCatalog.build(3, [], [], [], [])
    catalog.set_result_fields(rows)
    assert sorted(catalog.result_fields) == ["custom_environment", "custom_step_results"]
    row = {
        "elapsed": "1m 30s",
        "version": "2.4.1",
        "defects": None,
        "custom_environment": 2,
        "custom_other": "not this project's",
        "custom_step_results": [
            {"content": "<p>Open the cart</p>", "expected": "", "actual": "ok", "status_id": 1},
            {"content": "Pay", "expected": "Paid", "actual": None, "status_id": 9},
        ],
    }
    assert catalog.result_details(row, {1: "Passed", 5: "Failed"}) == {
        "elapsed": "1m 30s",
        "version": "2.4.1",
        "field:custom_environment": "Live",
        "step_results": [
            {"content": "Open the cart", "actual": "ok", "status": "Passed"},
            {"content": "Pay", "expected": "Paid", "status": "9"},
        ],
    }
