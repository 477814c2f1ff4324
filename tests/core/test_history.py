"""core.history: TestRail case history entries (testrail-api.md §5.5) as readable lines."""

from __future__ import annotations

from core.history import change_value, has_history, history_lines, history_text, user_label

#: 2026-03-01 14:02 UTC
AT = 1_772_373_720
USERS = {1: "Jane Doe", 2: "Kenji Tanaka"}


def test_each_change_is_a_line_with_time_user_label_and_both_values() -> None:
    entries = [
        {
            "id": 3389,
            "type_id": 6,
            "created_on": AT + 3600,
            "user_id": 2,
            "changes": [
                {"type_id": 1, "field": "refs", "old_value": None, "new_value": "JIRA-1"},
                {"type_id": 1, "field": "priority_id", "old_value": 2, "new_value": 4},
            ],
        },
        {
            "id": 3382,
            "type_id": 6,
            "created_on": AT,
            "user_id": 1,
            "changes": [{"type_id": 1, "field": "title", "old_value": "Old", "new_value": "New"}],
        },
    ]
    lines = history_lines(entries, USERS, names={"priority_id": {2: "Medium", 4: "Critical"}})
    assert lines == [
        "2026-03-01 14:02 UTC · Jane Doe · Title: 'Old' → 'New'",
        "2026-03-01 15:02 UTC · Kenji Tanaka · References: (empty) → 'JIRA-1'",
        "2026-03-01 15:02 UTC · Kenji Tanaka · Priority: 'Medium' → 'Critical'",
    ]
    assert history_text(entries[1:], USERS) == lines[0]


def test_labels_and_display_texts_testrail_sends_win_and_unknown_users_are_numbered() -> None:
    entry = {
        "id": 1,
        "timestamp": AT,  # some builds call created_on so
        "user_id": 7,
        "changes": [
            {
                "field": "section_id",
                "label": "Section",
                "old_text": "Original Section",
                "new_text": "Updated Section",
                "old_value": 3573,
                "new_value": 3574,
                "options": {"is_required": True},
            },
            {"field": "custom_automation", "old_value": "a\nb", "new_value": ["x"]},
            {
                "field": "custom_steps_separated",
                "old_value": [{"content": "1"}],
                "new_value": [{"content": "1"}, {"content": "2"}],
            },
        ],
    }
    assert history_lines([entry], USERS, labels={"custom_automation": "Automation"}) == [
        "2026-03-01 14:02 UTC · user 7 · Section: 'Original Section' → 'Updated Section'",
        "2026-03-01 14:02 UTC · user 7 · Automation: 'a ↵ b' → '[\"x\"]'",
        "2026-03-01 14:02 UTC · user 7 · Steps: (1 step) → (2 steps)",
    ]
    assert history_lines([{"id": 2, "user_id": None, "changes": []}], USERS) == [
        "unknown time · unknown user · changed the case"
    ]


def test_values_users_and_the_updated_rule() -> None:
    assert user_label(1, USERS) == "Jane Doe"
    assert user_label(99, USERS) == "user 99"
    long = change_value({"field": "title", "new_value": "x" * 300}, "new")
    assert len(long) == 202 and long.endswith("…'")
    assert change_value({"field": "custom_flag", "old_value": True}, "old") == "yes"
    # TestRail only keeps history of cases updated after they were created
    assert has_history(100, 101) is True
    assert has_history(100, 100) is False
    assert has_history(None, None) is False
