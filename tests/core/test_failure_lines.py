"""Failed writes grouped for people (core.report.failure_lines): one line per kind of
failure, however many records it hit; the JSON keeps each one."""

from __future__ import annotations

from core.engine.plan import Operation
from core.report import done_text, failure_lines, group_failures, more_like


def _result(n: int, reason: str | None = None) -> tuple[Operation, str]:
    key = f"tr:result:{n}"
    op = Operation(id=f"op{n}", action="create", kind="result", pair=key, source=key)
    return op, reason or f"result {key} waits: an older result of its test could not be copied"


def test_761_refused_results_are_one_line_naming_the_first_few() -> None:
    failed = [_result(n) for n in range(1, 762)]
    case = Operation(id="c", action="update", kind="case", pair="tr:case:5", target="tf:case:9")
    failed.append((case, "HTTP 400: title too long"))
    assert failure_lines(failed) == [
        "result tr:result:1: result tr:result:1 waits: an older result of its test could not "
        "be copied (and 760 more the same way: tr:result:2, tr:result:3, tr:result:4, ...; "
        "--json lists all)",
        "case tf:case:9: HTTP 400: title too long",
    ]
    assert failure_lines(failed[:3], verb=True) == [
        "create result tr:result:1: result tr:result:1 waits: an older result of its test "
        "could not be copied (and 2 more the same way: tr:result:2, tr:result:3; --json lists "
        "all)"
    ]


def test_different_reasons_of_one_kind_stay_apart_and_ids_alone_do_not_split() -> None:
    failed = [
        _result(1, "status 'Passed' has no copy"),
        _result(2, "status 'Blocked' has no copy"),
        _result(3, "status 'Passed' has no copy"),
        _result(40, "HTTP 400 for result 40"),
        _result(41, "HTTP 400 for result 41"),
    ]
    groups = group_failures(failed)
    assert [[op.source for op, _ in g] for g in groups] == [
        ["tr:result:1", "tr:result:3"],
        ["tr:result:2"],
        ["tr:result:40", "tr:result:41"],
    ]
    assert more_like(groups[1]) == ""
    assert more_like(groups[2]) == " (and 1 more the same way: tr:result:41; --json lists all)"


def test_write_counts_read_as_words_with_one_label_per_kind() -> None:
    done = {"update testfiesta case": 1, "create testrail shared_step": 2, "link case": 3}
    assert done_text(done) == (
        "create testrail 2 shared steps, link case 3, update testfiesta 1 case"
    )
    assert done_text({}) == ""
