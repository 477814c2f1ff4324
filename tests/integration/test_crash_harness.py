"""The crash harness (``bench/crash.py``) in CI: two seeded trials, each with one SIGKILL of
``railfiesta migrate`` and one of ``railfiesta sync --once`` at a random moment (real child
processes over both emulators on TCP), find nothing: no duplicate, no loss, an empty journal,
links both ways for every record, and bases equal to both sides. ``python bench/crash.py
--trials 200`` is the full run."""

from __future__ import annotations

from pathlib import Path

from bench.crash import Size, run_trial, table


def test_two_seeded_trials_with_kills_find_nothing(tmp_path: Path) -> None:
    size = Size(cases=4, edits=1, new=1, kills=1, min_kills=1)
    trials = []
    for seed in (7, 8):
        (tmp_path / str(seed)).mkdir()
        trials.append(run_trial(seed, size, tmp_path / str(seed)))
    stories = "\n".join(f"seed {t.seed}: " + "; ".join(t.story) for t in trials)
    assert [t.kills for t in trials] == [2, 2], stories
    assert [t.findings.notes for t in trials] == [[], []], stories
    lines = table(trials).splitlines()
    assert lines[0] == (
        "| trials | kills | duplicates | losses | journal left | other findings | time |"
    )
    assert lines[2].startswith("| 2 | 4 | 0 | 0 | 0 | 0 | "), lines[2]
