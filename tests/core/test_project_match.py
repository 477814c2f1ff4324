"""Where a TestRail project goes in TestFiesta, and under which identity (pure function)."""

from __future__ import annotations

from core.migrate import match_testfiesta_project, project_key

SHOP = {"id": 1, "name": "Demo Shop"}


def tf(key: str, ext: str | None, name: str = "Demo Shop", uid: int = 10) -> dict[str, object]:
    return {"uid": uid, "key": key, "name": name, "externalId": ext, "source": "testrail"}


def test_a_configured_key_is_obeyed_even_when_another_project_looks_the_same() -> None:
    projects = [tf("DS", "10.0.0.5:8080/project/1")]
    match = match_testfiesta_project(
        projects, SHOP, wanted_key="NEWKEY", current_identity="tr.example.com"
    )
    assert match.project is None
    assert match.key == "NEWKEY"
    assert match.identity == "tr.example.com"
    assert not match.respelled


def test_a_configured_existing_key_keeps_the_identity_its_records_carry() -> None:
    projects = [tf("DS", "10.0.0.5:8080/project/1")]
    match = match_testfiesta_project(projects, SHOP, wanted_key="DS", current_identity="tr.local")
    assert match.project == projects[0]
    assert (match.key, match.identity, match.respelled) == ("DS", "10.0.0.5:8080", True)


def test_without_a_key_the_external_id_finds_the_project() -> None:
    projects = [tf("OTHER", "tr.local/project/2", "Other"), tf("DS", "tr.local/project/1")]
    match = match_testfiesta_project(projects, SHOP, wanted_key="", current_identity="tr.local")
    assert (match.key, match.identity, match.respelled) == ("DS", "tr.local", False)


def test_a_respelled_url_finds_the_one_project_made_for_this_project() -> None:
    projects = [tf("DS", "127.0.0.1:18101/project/1")]
    match = match_testfiesta_project(
        projects, SHOP, wanted_key="", current_identity="localhost:18101"
    )
    assert (match.key, match.identity, match.respelled) == ("DS", "127.0.0.1:18101", True)


def test_two_look_alikes_are_not_guessed_between() -> None:
    projects = [tf("DS", "a.local/project/1", uid=1), tf("DS2", "b.local/project/1", uid=2)]
    match = match_testfiesta_project(projects, SHOP, wanted_key="", current_identity="c.local")
    assert match.project is None
    assert match.key == "DEMOSHOP"
    assert match.identity == "c.local"


def test_a_remembered_identity_without_evidence_is_not_used() -> None:
    """The same state pointed at another TestRail: its records get their own identity."""
    projects = [tf("DS", "127.0.0.1:18101/project/1")]
    other = {"id": 1, "name": "Demo Shop 9"}
    match = match_testfiesta_project(
        projects,
        other,
        wanted_key="",
        current_identity="127.0.0.1:18103",
        remembered_identity="127.0.0.1:18101",
    )
    assert match.project is None
    assert match.identity == "127.0.0.1:18103"
    assert match.key == "DEMOSHOP9"


def test_project_keys_from_names() -> None:
    assert project_key("Acme Web Shop", []) == "ACMEWEBSHOP"
    assert project_key("Acme Web Shop", ["acmewebshop"]) == "ACMEWEBSHOP2"
    assert project_key("Crème brûlée", []) == "CREMEBRULEE"
    assert project_key("Тесты", [], 42) == "TR42"
    assert project_key("2024 release", []) == "P2024RELEASE"
