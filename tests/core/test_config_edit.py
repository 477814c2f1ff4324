"""Config edits: one value token changes, every other byte stays; bad edits are undone."""

from __future__ import annotations

import math
import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import load_config
from core.config_edit import apply_edits, remove_value, set_sync_enabled, set_value
from core.errors import ConfigError
from tests.conftest import REPO_ROOT

SAMPLE = (REPO_ROOT / "sample-config.toml").read_text(encoding="utf-8")

MINIMAL = """\
[testrail]
url = "https://acme.testrail.io"
user = "qa@example.com"

[testfiesta]
url = "https://api.testfiesta.com"
handle = "acme"

[[pair]]
testrail_project = "Datahub"
"""

ENABLED_OFF = "enabled = false                       # the console's `s` key flips this"
ENABLED_ON = "enabled = true                        # the console's `s` key flips this"


def _write(tmp_path: Path, text: str, *, newline: str = "\n") -> Path:
    path = tmp_path / "railfiesta.toml"
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.split("\n"), after.split("\n")
    assert len(old) == len(new), "lines were added or removed"
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name != "railfiesta.toml")


# ---------------------------------------------------------------------------- existing keys


def test_sync_enabled_on_the_sample_changes_exactly_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    set_sync_enabled(path, True)
    after = path.read_text(encoding="utf-8")
    assert _changed_lines(SAMPLE, after) == [(ENABLED_OFF, ENABLED_ON)]
    assert after == SAMPLE.replace(ENABLED_OFF + "\n", ENABLED_ON + "\n", 1)
    assert ENABLED_ON.index("#") == ENABLED_OFF.index("#") == 38  # the comment keeps its column
    assert load_config(path).sync.enabled is True
    assert _leftovers(tmp_path) == []

    set_sync_enabled(path, False)  # and back: byte for byte the sample again
    assert path.read_bytes() == SAMPLE.encode("utf-8")
    assert load_config(path).sync.enabled is False


def test_a_longer_value_keeps_its_comment_one_space_away(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    set_value(path, "sync", "interval", "10m")
    set_value(path, "testrail", "url", "https://a-long-host-name.testrail.io/testrail")
    changes = _changed_lines(SAMPLE, path.read_text(encoding="utf-8"))
    assert changes == [
        (
            'url = "https://example.testrail.io"   # site root; Server installs may live under a '
            "path (https://host/testrail)",
            'url = "https://a-long-host-name.testrail.io/testrail" # site root; Server installs '
            "may live under a path (https://host/testrail)",
        ),
        (
            'interval = "5m"                       # polling interval: "30s", "5m", "1h"',
            'interval = "10m"                      # polling interval: "30s", "5m", "1h"',
        ),
    ]
    config = load_config(path)
    assert config.sync.interval == 600
    assert config.testrail.url == "https://a-long-host-name.testrail.io/testrail"


def test_value_types_and_a_type_change(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    set_value(path, "sync", "interval", 90)  # a string becomes a number of seconds
    set_value(path, "testrail", "timeout", 12.5)
    set_value(path, "ui", "mouse", False)
    set_value(path, "mapping.status", "Passed", "Pass")
    changes = _changed_lines(SAMPLE, path.read_text(encoding="utf-8"))
    assert changes == [
        (
            "timeout = 30                          # seconds per request",
            "timeout = 12.5                        # seconds per request",
        ),
        (
            'interval = "5m"                       # polling interval: "30s", "5m", "1h"',
            'interval = 90                         # polling interval: "30s", "5m", "1h"',
        ),
        ('Passed = "Passed"', 'Passed = "Pass"'),
        (
            "mouse = true                          # false (or --no-mouse) for terminals where "
            "mouse reporting misbehaves",
            "mouse = false                         # false (or --no-mouse) for terminals where "
            "mouse reporting misbehaves",
        ),
    ]
    config = load_config(path)
    assert (config.sync.interval, config.testrail.timeout, config.ui.mouse) == (90, 12.5, False)


def test_setting_the_value_already_there_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    set_sync_enabled(path, False)
    set_value(path, "sync", "interval", "5m")
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert path.read_text(encoding="utf-8") == SAMPLE


def test_a_literal_string_stays_literal_and_spacing_around_equals_is_kept(
    tmp_path: Path,
) -> None:
    text = MINIMAL.replace('handle = "acme"', "handle='acme'  # org")
    path = _write(tmp_path, text)
    set_value(path, "testfiesta", "handle", "beta")
    assert _changed_lines(text, path.read_text(encoding="utf-8")) == [
        ("handle='acme'  # org", "handle='beta'  # org")
    ]
    set_value(path, "testfiesta", "handle", "it's")  # not expressible as a literal string
    assert _changed_lines(text, path.read_text(encoding="utf-8")) == [
        ("handle='acme'  # org", 'handle="it\'s"  # org')  # as wide: the comment stays put
    ]


def test_quoted_keys_are_written_quoted(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    set_value(path, "mapping.priority", "1 - High Priority", "High")
    after = path.read_text(encoding="utf-8")
    commented = '# "1 - High Priority" = "High"        # renamed priorities are mapped explicitly\n'
    assert commented in SAMPLE
    assert after == SAMPLE.replace(commented, commented + '"1 - High Priority" = "High"\n', 1)
    assert load_config(path).mapping.priority_name("1 - High Priority") == "High"


# ---------------------------------------------------------------------------- missing keys, tables


def test_a_missing_key_goes_after_the_last_key_of_its_table(tmp_path: Path) -> None:
    text = MINIMAL + '\n[sync]\ninterval = "1h"   # hourly\n\n[ui]\nmouse = true\n'
    path = _write(tmp_path, text)
    set_sync_enabled(path, True)
    assert path.read_text(encoding="utf-8") == text.replace(
        "# hourly\n", "# hourly\nenabled = true\n", 1
    )
    assert load_config(path).sync.enabled is True


def test_a_missing_key_after_a_commented_out_one(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    set_value(path, "sync.fields", "custom_preconds", "testrail-wins")
    assert path.read_text(encoding="utf-8") == SAMPLE.replace(
        '# custom_preconds = "testrail-wins"\n',
        '# custom_preconds = "testrail-wins"\ncustom_preconds = "testrail-wins"\n',
        1,
    )
    assert load_config(path).sync.field_policies == {"custom_preconds": "testrail-wins"}


def test_a_missing_sync_table_is_added_at_the_end(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    set_sync_enabled(path, True)
    assert path.read_text(encoding="utf-8") == MINIMAL + "\n[sync]\nenabled = true\n"
    assert load_config(path).sync.enabled is True
    set_value(path, "sync", "interval", "1m")  # the new table is a table like any other
    assert path.read_text(encoding="utf-8") == (
        MINIMAL + '\n[sync]\nenabled = true\ninterval = "1m"\n'
    )


@pytest.mark.parametrize(
    ("ending", "separator"),
    [("", "\n\n"), ("\n", "\n"), ("\n\n", ""), ("\n# last words\n", "\n")],
    ids=["no-newline", "newline", "blank-line", "comment"],
)
def test_a_new_table_is_one_blank_line_after_whatever_ends_the_file(
    tmp_path: Path, ending: str, separator: str
) -> None:
    text = MINIMAL.rstrip("\n") + ending
    path = _write(tmp_path, text)
    set_sync_enabled(path, True)
    assert path.read_text(encoding="utf-8") == text + separator + "[sync]\nenabled = true\n"


def test_an_edited_last_line_gets_the_final_newline_an_untouched_one_stays(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, MINIMAL + "\n[sync]\nenabled = false")
    set_sync_enabled(path, True)
    assert path.read_text(encoding="utf-8") == MINIMAL + "\n[sync]\nenabled = true\n"

    untouched = MINIMAL + '\n[sync]\nenabled = false\ninterval = "5m"'
    path = _write(tmp_path, untouched)
    set_sync_enabled(path, True)  # not the last line: the last line keeps its bytes
    assert path.read_text(encoding="utf-8") == untouched.replace("false", "true")


def test_a_missing_sub_table_goes_to_the_end_not_beside_its_siblings(tmp_path: Path) -> None:
    types = (
        "[mapping.types]                       # TestRail case type = TestFiesta tag (types "
        'travel as tags)\n# "Smoke & Sanity" = "smoke"\n\n'
    )
    assert types in SAMPLE
    text = SAMPLE.replace(types, "", 1)
    path = _write(tmp_path, text)
    set_value(path, "mapping.types", "Smoke & Sanity", "smoke")
    assert path.read_text(encoding="utf-8") == (
        text + '\n[mapping.types]\n"Smoke & Sanity" = "smoke"\n'
    )
    assert load_config(path).mapping.type_tag("Smoke & Sanity") == "smoke"

    set_value(path, "mapping.types", "Regression", "regression")  # now it is there
    assert path.read_text(encoding="utf-8") == (
        text + '\n[mapping.types]\n"Smoke & Sanity" = "smoke"\nRegression = "regression"\n'
    )


def test_a_missing_table_under_an_undeclared_parent(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    set_value(path, "mapping.status", "Passed", "OK")
    assert path.read_text(encoding="utf-8") == MINIMAL + '\n[mapping.status]\nPassed = "OK"\n'
    assert load_config(path).mapping.status_name("Passed") == "OK"


def test_a_table_split_over_the_file_is_edited_where_the_key_lives(tmp_path: Path) -> None:
    text = MINIMAL + "\n[sync]\nenabled = false  # here\n\n[ui]\nmouse = true\n\n[sync.fields]\n"
    path = _write(tmp_path, text)
    set_sync_enabled(path, True)
    set_value(path, "sync.fields", "refs", "newest-wins")
    set_value(path, "sync", "interval", "2m")
    assert path.read_text(encoding="utf-8") == (
        MINIMAL
        + '\n[sync]\nenabled = true   # here\ninterval = "2m"\n\n[ui]\nmouse = true\n\n'
        + '[sync.fields]\nrefs = "newest-wins"\n'
    )
    config = load_config(path)
    assert (config.sync.enabled, config.sync.interval) == (True, 120)


def test_a_dotted_key_is_edited_in_place(tmp_path: Path) -> None:
    text = "sync.enabled = false  # dotted\n" + MINIMAL
    path = _write(tmp_path, text)
    set_sync_enabled(path, True)
    assert _changed_lines(text, path.read_text(encoding="utf-8")) == [
        ("sync.enabled = false  # dotted", "sync.enabled = true   # dotted")
    ]
    assert load_config(path).sync.enabled is True


def test_an_inline_table_is_edited_inline(tmp_path: Path) -> None:
    text = "sync = { enabled = false }\n" + MINIMAL
    path = _write(tmp_path, text)
    set_sync_enabled(path, True)
    set_value(path, "sync", "interval", "1m")
    assert path.read_text(encoding="utf-8") == (
        'sync = { enabled = true, interval = "1m"}\n' + MINIMAL  # tomlkit's spacing
    )
    config = load_config(path)
    assert (config.sync.enabled, config.sync.interval) == (True, 60)


# ---------------------------------------------------------------------------- removing


def test_remove_value_takes_the_whole_line_and_only_that(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    assert remove_value(path, "sync", "interval") is True
    line = 'interval = "5m"                       # polling interval: "30s", "5m", "1h"\n'
    assert path.read_text(encoding="utf-8") == SAMPLE.replace(line, "", 1)
    assert load_config(path).sync.interval == 300  # the default again


def test_remove_value_of_something_missing_is_false_and_touches_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert remove_value(path, "sync", "nonexistent") is False
    assert remove_value(path, "nowhere", "interval") is False
    assert remove_value(path, "sync.fields.deeper", "x") is False
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert path.read_text(encoding="utf-8") == SAMPLE


def test_removing_a_required_key_is_undone(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    with pytest.raises(ConfigError, match=r"\[testrail\] url is required"):
        remove_value(path, "testrail", "url")
    assert path.read_text(encoding="utf-8") == SAMPLE


# ---------------------------------------------------------------------------- line endings, bytes


def test_crlf_file_stays_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE, newline="\r\n")
    set_sync_enabled(path, True)
    expected = SAMPLE.replace(ENABLED_OFF, ENABLED_ON, 1).replace("\n", "\r\n")
    assert path.read_bytes() == expected.encode("utf-8")

    set_value(path, "sync.fields", "refs", "newest-wins")  # a new line
    set_value(path, "testrail", "ca_bundle", "/etc/ssl/ca.pem")
    raw = path.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") == SAMPLE.count("\n") + 2
    assert b'refs = "newest-wins"\r\n' in raw


def test_crlf_file_without_sync_gets_a_crlf_table(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL, newline="\r\n")
    set_sync_enabled(path, True)
    assert path.read_bytes() == (MINIMAL + "\n[sync]\nenabled = true\n").replace(
        "\n", "\r\n"
    ).encode("utf-8")


def test_mixed_line_endings_leave_old_lines_alone(tmp_path: Path) -> None:
    text = MINIMAL.replace('user = "qa@example.com"\n', 'user = "qa@example.com"\r\n')
    path = _write(tmp_path, text)
    set_sync_enabled(path, True)
    assert path.read_bytes() == (text + "\n[sync]\nenabled = true\n").encode("utf-8")


def test_byte_order_mark_and_non_ascii_are_kept(tmp_path: Path) -> None:
    text = MINIMAL.replace('"Datahub"', '"Datenhub Ünïcode ✓"  # Grüße')
    path = tmp_path / "railfiesta.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    set_value(path, "testfiesta", "handle", "ünï")
    expected = text.replace('handle = "acme"', 'handle = "ünï"')
    assert path.read_bytes() == b"\xef\xbb\xbf" + expected.encode("utf-8")
    assert load_config(path).testfiesta.handle == "ünï"


def test_permission_bits_are_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    path.chmod(0o640)
    set_sync_enabled(path, True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    path.chmod(0o600)
    set_sync_enabled(path, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlinked_config_is_edited_where_it_lives(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    target = real / "railfiesta.toml"
    target.write_text(SAMPLE, encoding="utf-8")
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    set_sync_enabled(link, True)
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8") == SAMPLE.replace(ENABLED_OFF, ENABLED_ON, 1)
    assert sorted(p.name for p in real.iterdir()) == ["railfiesta.toml"]


@settings(
    max_examples=60,
    deadline=None,  # each example writes a file: a loaded machine takes longer than 200 ms
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=st.text(max_size=40))
def test_any_string_round_trips_and_nothing_else_moves(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, SAMPLE)
    set_value(path, "mapping.status", "Retest", value)
    after = path.read_text(encoding="utf-8")
    changed = _changed_lines(SAMPLE, after)
    assert len(changed) <= 1 and all(old == 'Retest = "Retest"' for old, _ in changed)
    assert tomllib.loads(after)["mapping"]["status"]["Retest"] == value


def test_floats_including_special_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    set_value(path, "testrail", "timeout", 0.25)
    assert tomllib.loads(path.read_text(encoding="utf-8"))["testrail"]["timeout"] == 0.25
    set_value(path, "mapping.status", "Passed", "x")
    with pytest.raises(ConfigError, match=r"timeout must be a number of seconds > 0"):
        set_value(path, "testrail", "timeout", -math.inf)
    assert tomllib.loads(path.read_text(encoding="utf-8"))["testrail"]["timeout"] == 0.25


# ---------------------------------------------------------------------------- errors


def test_invalid_toml_names_file_line_and_column_and_writes_nothing(tmp_path: Path) -> None:
    text = MINIMAL.replace('user = "qa@example.com"', 'user = "qa@example.com" extra')
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        set_sync_enabled(path, True)
    error = caught.value
    assert error.path == str(path) and error.line == 3
    assert error.message == (
        f"{path}:3: not valid TOML at column 25: Expected newline or end of document after a "
        "statement"
    )
    assert error.hint == (
        f"fix line 3, column 25 of {path} (an unclosed quote or bracket, or a missing '=', is "
        "the usual cause); nothing was written"
    )
    assert path.read_text(encoding="utf-8") == text


def test_an_unclosed_string_at_the_end_gets_a_position_too(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "[sync]\ninterval = '5m\n")
    with pytest.raises(ConfigError) as caught:
        set_sync_enabled(path, True)
    assert caught.value.line == 12
    assert caught.value.message == f'{path}:12: not valid TOML at column 15: Expected "\'"'


def test_an_invalid_result_is_undone_and_the_error_raised(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    path.chmod(0o640)
    with pytest.raises(ConfigError) as caught:
        set_value(path, "sync", "conflict_policy", "bogus")
    line = next(n for n, text in enumerate(SAMPLE.splitlines(), 1) if text.startswith("conflict_"))
    assert caught.value.line == line
    assert "conflict_policy 'bogus' is not one of ask" in caught.value.message
    assert path.read_bytes() == SAMPLE.encode("utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []

    with pytest.raises(ConfigError, match=r"unknown key 'enabeld' in \[sync\]"):
        set_value(path, "sync", "enabeld", True)
    with pytest.raises(ConfigError, match=r"\[sync\] enabled must be true or false"):
        set_value(path, "sync", "enabled", "yes")
    assert path.read_bytes() == SAMPLE.encode("utf-8")


def test_tables_that_are_not_plain_tables_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    with pytest.raises(ConfigError, match=r"\[\[pair\]\] is an array of tables") as caught:
        set_value(path, "pair", "testrail_project", "Other")
    assert caught.value.hint == "edit the [[pair]] entries by hand"
    with pytest.raises(ConfigError, match=r"sync\.enabled is a value, not a table"):
        set_value(path, "sync.enabled", "x", 1)
    with pytest.raises(ConfigError, match=r"\[sync\] fields is a table, not a value"):
        set_value(path, "sync", "fields", "x")
    assert path.read_text(encoding="utf-8") == SAMPLE


def test_bad_arguments(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    with pytest.raises(TypeError, match="must be str, int, bool or float, not NoneType"):
        set_value(path, "sync", "enabled", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not list"):
        set_value(path, "sync", "enabled", [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a table name"):
        set_value(path, "sync..x", "enabled", True)
    with pytest.raises(ValueError, match="not a table name"):
        remove_value(path, "", "enabled")
    with pytest.raises(ValueError, match="key name is empty"):
        set_value(path, "sync", " ", True)
    assert path.read_text(encoding="utf-8") == SAMPLE


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        set_sync_enabled(path, True)
    assert caught.value.message == f"{path}: config file not found"
    assert caught.value.hint == "copy sample-config.toml and edit it, or pass --config"
    assert not path.exists()


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "dir.toml"
    path.mkdir()
    with pytest.raises(ConfigError) as caught:
        remove_value(path, "sync", "enabled")
    assert caught.value.message == f"{path}: cannot read the config: Is a directory"
    assert caught.value.hint == f"check that {path} is a file you may read"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "railfiesta.toml"
    path.write_bytes(MINIMAL.encode("utf-8") + b"# caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        set_sync_enabled(path, True)
    assert caught.value.line == 11
    assert caught.value.message == f"{path}:11: not UTF-8 text (byte 0xe9)"
    assert caught.value.hint == "save the file as UTF-8"


def test_a_failed_write_names_the_path_and_the_fix_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, SAMPLE)

    def refuse(src: object, dst: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ConfigError) as caught:
        set_sync_enabled(path, True)
    assert caught.value.message == f"{path}: cannot write the config: Read-only file system"
    assert caught.value.hint == (
        f"make {tmp_path} writable for you and check the disk is not full (the file is "
        "replaced through a temporary file in the same folder); it was left as it was"
    )
    assert path.read_text(encoding="utf-8") == SAMPLE
    assert _leftovers(tmp_path) == []


def test_a_failed_restore_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, SAMPLE)
    real_replace = os.replace
    calls: list[object] = []

    def first_only(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", first_only)
    with pytest.raises(ConfigError) as caught:
        set_value(path, "sync", "delete_policy", "shred")
    message = caught.value.message
    assert "the edit made the config invalid" in message
    assert "delete_policy 'shred' is not one of flag" in message
    assert message.endswith(
        f"putting the original back failed: {path}: cannot write the config: No space left on "
        "device"
    )
    assert isinstance(caught.value.__cause__, ConfigError)


def test_apply_edits_saves_all_of_them_or_none(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    before = path.read_bytes()
    edits: list[tuple[str, str, str | None]] = [
        ("mapping.types", "Smoke & Sanity", "smoke"),
        ("users", "admin@example.com", "not-a-uuid"),  # load_config refuses it
    ]
    with pytest.raises(ConfigError) as raised:
        apply_edits(path, edits)
    assert "nothing was saved: [users] admin@example.com: " in str(raised.value)
    assert "'not-a-uuid' is not a TestFiesta user id" in str(raised.value)
    assert path.read_bytes() == before  # the first edit, made and valid, is undone too

    apply_edits(path, [("mapping.types", "Smoke & Sanity", "smoke")])
    changed = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line not in before.decode("utf-8").splitlines()
    ]
    assert len(changed) == 1 and changed[0].startswith('"Smoke & Sanity" = "smoke"')
