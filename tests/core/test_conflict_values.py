"""How a conflict reads and is edited (core.conflicts): rows per field and step column, the
three-way merge draft an editor opens with, and the value edited texts make."""

from __future__ import annotations

import pytest

from core.conflicts import (
    ConflictRow,
    EditPart,
    ResolutionHistory,
    check_chosen_value,
    conflict_rows,
    edit_parts,
    edited_value,
    field_family,
    field_label,
    has_markers,
    merge_text,
    typed_value,
)

CLASH = "<<<<<<< TestRail\nTestRail title\n=======\nTestFiesta title\n>>>>>>> TestFiesta"


def test_field_labels_use_the_words_people_read() -> None:
    assert field_label("title") == "title"
    assert field_label("field:custom_preconds") == "custom_preconds"
    assert field_label("steps[2]") == "step 2"
    assert field_family("steps[12]") == "steps"
    assert field_family("title") == "title"


def test_words_changed_apart_on_each_side_merge_cleanly() -> None:
    assert (
        merge_text(
            "User signs in with a valid password",
            "User signs in with a valid passphrase",
            "Admin signs in with a valid password",
        )
        == "Admin signs in with a valid passphrase"
    )


def test_lines_changed_apart_merge_and_the_same_edit_lands_once() -> None:
    assert merge_text("a\nb\nc\n", "a\nB\nc\n", "a\nb\nC\n") == "a\nB\nC\n"
    assert merge_text("a\nb\n", "a\nX\n", "a\nX\n") == "a\nX\n"
    assert merge_text("same", "same", "same") == "same"


def test_one_place_changed_differently_is_a_clash_block_with_both_texts() -> None:
    assert merge_text("Old title", "TestRail title", "TestFiesta title") == CLASH
    assert (
        merge_text("one\ntwo\nthree", "one\nTwo (TR)\nthree", "one\nTwo (TF)\nthree")
        == "one\n<<<<<<< TestRail\nTwo (TR)\n=======\nTwo (TF)\n>>>>>>> TestFiesta\nthree"
    )
    # no common ancestor: two different texts clash as a whole
    assert merge_text(None, "TestRail title", "TestFiesta title") == CLASH
    assert has_markers(CLASH)
    assert not has_markers("a title with <<< in it")


def test_a_text_conflict_is_one_row_and_one_part() -> None:
    values = {"testrail": "TestRail title", "base": "Old title", "testfiesta": "TestFiesta title"}
    assert conflict_rows(values) == [
        ConflictRow("", "TestRail title", "Old title", "TestFiesta title")
    ]
    assert edit_parts(values) == [EditPart("", "value", CLASH)]
    assert edited_value(values, {"": "Settled title"}) == "Settled title"
    with pytest.raises(ValueError, match="still holds a <<<<<<< TestRail"):
        edited_value(values, {"": CLASH})


def test_a_step_conflict_reads_and_edits_per_column() -> None:
    values = {
        "testrail": {"content": "Open the login page", "expected": "The form shows"},
        "base": {"content": "Open login page", "expected": "Form shows"},
        "testfiesta": {"content": "Open login page now", "expected": "Form shows"},
    }
    assert conflict_rows(values) == [
        ConflictRow("step", "Open the login page", "Open login page", "Open login page now"),
        ConflictRow("expected", "The form shows", "Form shows", "Form shows"),
    ]
    assert edit_parts(values) == [
        EditPart("content", "step", "Open the login page now"),
        EditPart("expected", "expected", "The form shows"),
    ]
    # empty columns are left out, as core.model.step_values leaves them out
    assert edited_value(values, {"content": "Open it", "expected": "  "}) == {"content": "Open it"}


def test_a_whole_step_list_reads_per_step_and_column() -> None:
    values = {
        "testrail": [{"content": "A"}, {"content": "B", "expected": "ok"}],
        "base": None,
        "testfiesta": [{"content": "A2"}],
    }
    assert conflict_rows(values) == [
        ConflictRow("step 1 step", "A", None, "A2"),
        ConflictRow("step 2 step", "B", None, None),
        ConflictRow("step 2 expected", "ok", None, None),
    ]
    [part] = edit_parts(values)
    assert part.label == "value (JSON)"
    assert has_markers(part.draft)
    assert edited_value(values, {"": '[{"content": "A3"}]'}) == [{"content": "A3"}]
    with pytest.raises(ValueError, match="holds list, not text"):
        edited_value(values, {"": "not json"})


def test_typed_values_are_text_for_text_and_json_otherwise() -> None:
    assert typed_value({"testrail": "a", "base": None, "testfiesta": "b"}, "[1]") == "[1]"
    assert typed_value({"testrail": 3, "base": 1, "testfiesta": 2}, "4") == 4
    with pytest.raises(ValueError, match="holds int, not text"):
        typed_value({"testrail": 3, "base": 1, "testfiesta": 2}, "four")


def test_resolution_history_takes_back_the_newest_choice_first() -> None:
    history = ResolutionHistory()
    history.record(["c1"], winner="testrail")
    assert history.last_choice == ("c1", "testrail")
    history.record(["c2", "c3", "c4"], winner="testrail")  # a "same for the rest" batch
    assert history.last_choice == ("c1", "testrail")
    history.record(["c5"])  # an edited value: nothing for D to repeat
    assert history.last_choice is None and len(history) == 3
    asked: list[str] = []

    def unresolve(conflict_id: str) -> bool:
        asked.append(conflict_id)
        return conflict_id != "c3"  # a cycle applied c3 meanwhile

    assert history.undo(unresolve) == (["c5"], 1)
    assert history.undo(unresolve) == (["c2", "c4"], 3)
    assert asked == ["c5", "c2", "c3", "c4"]
    assert history.undo(unresolve) == (["c1"], 1)
    assert history.undo(unresolve) == ([], 0)
    assert len(history) == 0 and history.last_choice is None


def test_a_chosen_title_with_a_line_break_is_refused() -> None:
    values = {"testrail": "Sign in", "base": "Log in", "testfiesta": "Log on"}
    with pytest.raises(ValueError, match=r"^title is one line: join the lines"):
        check_chosen_value("title", "Merged title\nsecond line", values)
    with pytest.raises(ValueError, match=r"^refs is one line"):
        check_chosen_value("refs", "JIRA-1\r\nJIRA-2", {"testrail": "JIRA-1", "testfiesta": ""})
    check_chosen_value("title", "Merged title – Größe L", values)  # one line: taken
    # a text field of many lines keeps its line breaks
    check_chosen_value("field:custom_preconds", "Line 1\nLine 2", {"testrail": "a\nb"})


def test_a_chosen_priority_must_be_a_name_a_side_the_base_or_the_mapping_holds() -> None:
    values = {"testrail": "Critical", "base": "Medium", "testfiesta": "High"}
    with pytest.raises(ValueError) as refused:
        check_chosen_value("priority", "Bogus", values, ["Must test"])
    assert str(refused.value) == (
        "priority 'Bogus' is not one TestRail and TestFiesta both know: take one of "
        "'Critical', 'Medium', 'High', 'Must test', or > or < for a side's"
    )
    for name in ("Critical", "Medium", "High", "Must test"):
        check_chosen_value("priority", name, values, ["Must test"])
    with pytest.raises(ValueError, match=r"^type 'Smoke' is not one"):
        check_chosen_value("type", "Smoke", {"testrail": "Functional", "testfiesta": "Other"})
