"""core.engine.parity: the read-back after a migration, as a pure function."""

from __future__ import annotations

import pytest

from core.engine.parity import Digest, content_hash, digest, parity
from core.model import Record

LINKS = {
    "tr:section:1": "tf:folder:10",
    "tr:case:1": "tf:case:100",
    "tr:case:2": "tf:case:200",
    "tr:case:3": "tf:case:300",
    "tr:run:1": "tf:run:7",
    "tr:result:5": "tf:result:tr-5",
}
LINKS.update({tf: tr for tr, tf in list(LINKS.items())})


def case(key: str, title: str, folder: str, steps: list[dict[str, str]] | None = None) -> Record:
    values = {"title": title, "folder": folder, "steps": steps or []}
    return Record("case", key, values)


def test_equal_copies_missing_extra_and_differing_records_are_named() -> None:
    testrail = {
        "tr:section:1": Record("folder", "tr:section:1", {"name": "Login", "parent": "tr:root"}),
        "tr:case:1": case("tr:case:1", "Log in", "tr:section:1", [{"content": "Open"}]),
        "tr:case:2": case("tr:case:2", "Log out", "tr:section:1"),
        "tr:case:3": case("tr:case:3", "Reset password", "tr:section:1"),
        "tr:case:4": case("tr:case:4", "Not copied", "tr:section:1"),
    }
    testfiesta = {
        "tf:folder:10": Record("folder", "tf:folder:10", {"name": "Login", "parent": "tr:root"}),
        # folder reference in TestFiesta's keys: equal once translated through the link
        "tf:case:100": case("tf:case:100", "Log in", "tf:folder:10", [{"content": "Open"}]),
        "tf:case:200": case("tf:case:200", "Log out (edited)", "tf:folder:10"),
        # tr:case:3's copy was deleted in TestFiesta: linked, but not listed
        "tf:case:900": case("tf:case:900", "Made in TestFiesta", "tf:folder:10"),
    }
    result = parity(testrail, testfiesta, LINKS.get, observed={"folder", "case"})
    cases = result["case"]
    assert (cases.testrail, cases.testfiesta, cases.equal) == (4, 2, 1)
    assert cases.differing == ["tr:case:2"]
    assert cases.missing == ["tr:case:3", "tr:case:4"]
    assert cases.extra == ["tf:case:900"]
    assert not cases.exact
    folders = result["folder"]
    assert (folders.testrail, folders.testfiesta, folders.equal) == (1, 1, 1)
    assert folders.exact and folders.extra == []


def test_a_kind_testfiesta_does_not_list_is_counted_by_link_and_not_compared() -> None:
    testrail = {
        "tr:result:5": Record("result", "tr:result:5", {"status": "Failed", "test": "tr:test:1"}),
        "tr:result:6": Record("result", "tr:result:6", {"status": "Passed", "test": "tr:test:1"}),
    }
    result = parity(testrail, {}, LINKS.get, observed={"case"}, kinds=["result"])
    results = result["result"]
    assert not results.compared
    assert (results.testrail, results.testfiesta, results.equal) == (2, 1, 0)
    assert results.missing == ["tr:result:6"]
    assert results.as_dict()["hashes_compared"] is False


def test_a_runs_cases_are_create_only_and_a_partial_record_compares_what_it_carries() -> None:
    testrail = {
        "tr:run:1": Record(
            "run", "tr:run:1", {"name": "Nightly", "closed": False, "cases": ["tr:case:1"]}
        ),
    }
    testfiesta = {"tf:run:7": Record("run", "tf:run:7", {"name": "Nightly", "closed": False})}
    assert parity(testrail, testfiesta, LINKS.get, observed={"run"}, kinds=["run"])["run"].exact
    renamed = {"tf:run:7": Record("run", "tf:run:7", {"name": "Nightly 2", "closed": False})}
    runs = parity(testrail, renamed, LINKS.get, observed={"run"}, kinds=["run"])["run"]
    assert runs.differing == ["tr:run:1"]


def test_skipped_keys_and_kinds_outside_the_list_are_not_counted() -> None:
    testrail = {"tr:suite:1": Record("folder", "tr:suite:1", {"name": "Master"})}
    result = parity(testrail, {}, LINKS.get, observed={"folder"}, skip={"tr:suite:1"})
    assert result["folder"].testrail == 0
    assert list(result) == [
        "folder", "shared_step", "case", "config_group", "config", "milestone", "run", "test",
        "plan", "result", "attachment", "case_history",
    ]  # fmt: skip


def test_content_hash_ignores_key_order_and_keeps_text_exact() -> None:
    assert content_hash({"a": 1, "b": "x"}) == content_hash({"b": "x", "a": 1})
    assert content_hash({"t": "Prix £5 — 日本語"}) != content_hash({"t": "Prix £5 - 日本語"})
    assert len(content_hash({})) == 16


def test_attachments_of_every_owner_kind_translate_their_owner_and_are_noted_by_owner() -> None:
    """An attachment names its owner under the owner's kind (core.kinds.ATTACHMENT_OWNERS), so
    the link of a result (or run, or case) translates it like any reference; the migration's
    parity note counts TestRail's files by owner kind."""
    from core.kinds import attachment_owner
    from core.migrate import attachment_owners_note

    def attachment(key: str, **values: object) -> Record:
        return Record("attachment", key, {"name": "f", "size": 1, "sha256": "ab", **values})

    testrail = {
        "tr:attachment:1": attachment("tr:attachment:1", case="tr:case:1", inline=[]),
        "tr:attachment:2": attachment("tr:attachment:2", run="tr:run:1"),
        "tr:attachment:3": attachment("tr:attachment:3", result="tr:result:5", test="tr:test:1"),
        "tr:attachment:4": attachment("tr:attachment:4", result="tr:result:6"),
    }
    links = {**LINKS, "tr:attachment:1": "tf:attachment:a", "tr:attachment:2": "tf:attachment:b",
             "tr:attachment:3": "tf:attachment:c"}  # fmt: skip
    links.update({tf: tr for tr, tf in list(links.items())})
    testfiesta = {
        "tf:attachment:a": attachment("tf:attachment:a", case="tf:case:100", inline=[]),
        "tf:attachment:b": attachment("tf:attachment:b", run="tf:run:7"),
        # the file hangs on the copy of result 5 (its test is create-only: not compared)
        "tf:attachment:c": attachment("tf:attachment:c", result="tf:result:tr-5"),
    }
    result = parity(testrail, testfiesta, links.get, observed={"attachment"}, kinds=["attachment"])
    files = result["attachment"]
    assert (files.testrail, files.testfiesta, files.equal) == (4, 3, 3)
    assert files.missing == ["tr:attachment:4"] and files.differing == []
    assert [attachment_owner(r.values) for r in testrail.values()] == [
        "tr:case:1", "tr:run:1", "tr:result:5", "tr:result:6"
    ]  # fmt: skip
    assert attachment_owner({"name": "orphan"}) is None
    assert attachment_owners_note(testrail) == (
        "by owner on TestRail: case 1, run 1, result 2; on TestFiesta a result's file is its "
        "execution's (TestFiesta has no result files)"
    )
    assert attachment_owners_note({}) == "by owner on TestRail: none"


def test_digests_give_the_parity_their_records_give() -> None:
    """A record given as its digest (TestRail's as it is, TestFiesta's turned into pair space
    through the links) counts as the record itself: equal, differing, missing and extra."""
    testrail = {
        "tr:case:1": case("tr:case:1", "Log in", "tr:section:1", [{"content": "Open"}]),
        "tr:case:2": case("tr:case:2", "Log out", "tr:section:1"),
        "tr:case:3": case("tr:case:3", "Reset password", "tr:section:1"),
        "tr:run:1": Record(
            "run", "tr:run:1", {"name": "Nightly", "closed": False, "cases": ["tr:case:1"]}
        ),
    }
    testfiesta = {
        "tf:case:100": case("tf:case:100", "Log in", "tf:folder:10", [{"content": "Open"}]),
        "tf:case:200": case("tf:case:200", "Log out (edited)", "tf:folder:10"),
        "tf:case:900": case("tf:case:900", "Made in TestFiesta", "tf:folder:10"),
        # a run's cases are create-only: TestFiesta lists none, so they are not compared
        "tf:run:7": Record("run", "tf:run:7", {"name": "Nightly", "closed": False}),
    }
    whole = parity(testrail, testfiesta, LINKS.get, observed={"case", "run"})
    digested = parity(
        {k: digest(r) for k, r in testrail.items()},
        {k: digest(r, LINKS.get) for k, r in testfiesta.items()},
        LINKS.get,
        observed={"case", "run"},
    )
    mixed = parity(
        testrail,
        {k: digest(r, LINKS.get) for k, r in testfiesta.items()},
        LINKS.get,
        observed={"case", "run"},
    )
    for kind in ("case", "run"):
        assert digested[kind].as_dict() == whole[kind].as_dict() == mixed[kind].as_dict()
    assert (digested["case"].equal, digested["case"].differing) == (1, ["tr:case:2"])
    assert digested["case"].missing == ["tr:case:3"]
    assert digested["case"].extra == ["tf:case:900"]
    assert digested["run"].exact
    # a create-only value both copies hold is compared
    both = Record("run", "tf:run:7", {"name": "Nightly", "closed": False, "cases": ["tf:case:200"]})
    runs = parity(
        {"tr:run:1": digest(testrail["tr:run:1"])},
        {"tf:run:7": digest(both, LINKS.get)},
        LINKS.get,
        observed={"run"},
        kinds=["run"],
    )["run"]
    assert runs.differing == ["tr:run:1"]


def test_a_digest_holds_hashes_only_and_refuses_a_partial_record() -> None:
    run = Record("run", "tr:run:1", {"name": "Nightly", "cases": ["tr:case:1"]})
    assert digest(run) == Digest(
        "run",
        "tr:run:1",
        content_hash({"name": "Nightly"}),
        (("cases", content_hash({"cases": ["tr:case:1"]})),),
    )
    partial = Record("test", "tr:test:1", {"status": "Passed"}, partial=True)
    with pytest.raises(ValueError, match="tr:test:1 is partial"):
        digest(partial)
