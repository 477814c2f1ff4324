"""The parity report at the end of every migration: per kind the TestRail count, the TestFiesta
count, content hashes equal or not, and the keys of missing, extra or different records."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from core.migrate import MIGRATION_CHUNK, migration_exit_code
from tests.helpers import emulate
from tests.integration.test_sync import Pair
from tui.render import print_migration_reports


@pytest.mark.parametrize("chunk", [MIGRATION_CHUNK, 7])
async def test_a_clean_migration_shows_parity_in_every_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # also with the first pass in parts of 7 cases (their digests kept for parity)
    monkeypatch.setattr("core.migrate.MIGRATION_CHUNK", chunk)
    env = emulate(tmp_path, monkeypatch, cases=40)
    with env.testrail_state.lock:
        cases = len(env.testrail_state.cases)
        sections = len(env.testrail_state.sections)
    async with env.service() as service:
        [report] = await service.migrate()
    assert report.complete
    folders, copies = report.parity["folder"], report.parity["case"]
    assert (folders.testrail, folders.testfiesta, folders.equal) == (sections, sections, sections)
    assert (copies.testrail, copies.testfiesta, copies.equal) == (cases, cases, cases)
    assert copies.missing == copies.extra == copies.differing == []
    as_json = report.as_dict()["parity"]["case"]
    assert as_json == {
        "testrail": cases,
        "testfiesta": cases,
        "equal": cases,
        "hashes_compared": True,
        "differing": [],
        "missing": [],
        "extra": [],
        "notes": [],
    }


@pytest.mark.parametrize("chunk", [MIGRATION_CHUNK, 7])
async def test_an_edited_a_deleted_and_a_stray_copy_are_each_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # also with the first pass in parts of 7 cases (their digests kept for parity)
    monkeypatch.setattr("core.migrate.MIGRATION_CHUNK", chunk)
    env = emulate(tmp_path, monkeypatch, cases=30)
    async with env.service() as service:
        [first] = await service.migrate()
    assert first.complete
    pair = Pair(env)
    edited, deleted, kept = pair.first_cases(3)
    pair.tf_edit(edited, name="Renamed in TestFiesta")
    gone = pair.tf_row(deleted)
    pair.tf.soft_delete(gone)
    folder_uid = pair.tf_row(kept)["parentUid"]
    async with env.service() as service:
        assert service.testfiesta is not None
        [stray] = await service.testfiesta.create_cases(
            "ACME",
            [{"name": "Made in TestFiesta", "parentId": folder_uid, "projectId": 1, "steps": [],
              "customFields": {}}],
        )  # fmt: skip
        [second] = await service.migrate()
    copies = second.parity["case"]
    assert copies.differing == [f"tr:case:{edited}"]
    # the deleted copy is made again (a migration copies what TestFiesta lacks), and noted
    assert copies.missing == []
    assert second.notes == [
        f"1 cases deleted in TestFiesta since they were migrated: the migration copies them "
        f"again (tr:case:{deleted})"
    ]
    assert copies.extra == [f"tf:case:{stray['uid']}"]
    assert copies.testfiesta == copies.testrail
    assert copies.equal == copies.testrail - 1
    assert not second.complete
    assert migration_exit_code([second]) != 0
    out = io.StringIO()
    print_migration_reports([second], as_json=False, out=out)
    text = out.getvalue()
    assert f"cases differ: tr:case:{edited}\n" in text
    assert "cases missing" not in text
    assert f"the migration copies them again (tr:case:{deleted})" in text
    assert f"cases extra on TestFiesta: tf:case:{stray['uid']}\n" in text
    out = io.StringIO()
    print_migration_reports([second], as_json=True, out=out)
    parity = json.loads(out.getvalue())["projects"][0]["parity"]["case"]
    assert parity["missing"] == []
