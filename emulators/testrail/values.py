"""Reading values out of TestRail request bodies and query strings, with TestRail's 400 texts.

TestRail's PHP front end is lenient about numbers sent as strings (``"5"``) and booleans sent
as ``0``/``1`` (testrail-api.md §1.1, §4); these helpers accept the same and reject the rest.
Texts marked [unverified] in the docstrings follow TestRail's ``Field :x ...`` pattern but were
not seen in a recorded response.
"""

from __future__ import annotations

from typing import Any

from emulators.testrail.errors import bad_request, required
from emulators.testrail.timespan import parse_timespan

Body = dict[str, Any]


def to_int(value: Any, field: str) -> int:
    """``value`` as an int (int or decimal string); else 400 ``Field :<field> is not a valid ID.``
    for ``*_id`` fields and ``... is not a valid integer.`` otherwise [unverified texts]."""
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    what = "ID" if field.endswith("_id") or field.endswith("_ids") else "integer"
    raise bad_request(f"Field :{field} is not a valid {what}.")


def opt_int(body: Body, key: str, field: str | None = None) -> int | None:
    """``body[key]`` as an int, None when absent or null."""
    value = body.get(key)
    return None if value is None else to_int(value, field or key)


def req_int(body: Body, key: str, field: str | None = None) -> int:
    """``body[key]`` as an int; absent/null -> 400 ``Field :<key> is a required field.``"""
    value = body.get(key)
    if value is None or value == "":
        raise required(field or key)
    return to_int(value, field or key)


def to_bool(value: Any, field: str) -> bool:
    """JSON booleans, ``0``/``1`` and ``"0"``/``"1"``/``"true"``/``"false"`` as a bool;
    else 400 ``Field :<field> is not a valid boolean.`` [unverified text]."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise bad_request(f"Field :{field} is not a valid boolean.")


def to_text(value: Any, field: str) -> str | None:
    """A string field: strings verbatim (never stripped), numbers as their decimal text,
    null/absent -> None; lists/objects -> 400 ``Field :<field> is not a valid string.``"""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise bad_request(f"Field :{field} is not a valid string.")


def req_text(body: Body, key: str, field: str | None = None) -> str:
    """A required string (``title``, ``name``): absent, null, empty or blank -> 400 required."""
    value = to_text(body.get(key), field or key)
    if value is None or not value.strip():
        raise required(field or key)
    return value


def to_timespan(value: Any, field: str) -> int | None:
    """A timespan (``"1m 30s"``) as seconds; null/``""`` -> None; anything else invalid ->
    400 ``Field :<field> is not in a valid time span format.`` (§1.4, verbatim)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return parse_timespan(value)
        except ValueError:
            pass
    raise bad_request(f"Field :{field} is not in a valid time span format.")


def to_id_list(value: Any, field: str) -> list[int]:
    """An array of ids (``case_ids``, ``config_ids``); a comma-separated string is accepted too;
    else 400 ``Field :<field> is not a valid array.`` [unverified text]."""
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise bad_request(f"Field :{field} is not a valid array.")
    return [to_int(v, field) for v in value]


def csv_ints(params: dict[str, str], key: str) -> set[int] | None:
    """A comma-separated int filter from the query (``priority_id=1,2``), None when absent."""
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    return {to_int(v, key) for v in raw.split(",") if v.strip()}


def param_int(params: dict[str, str], key: str) -> int | None:
    """An int query parameter (``created_after=1700000000``), None when absent or empty."""
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    return to_int(raw, key)


def param_bool(params: dict[str, str], key: str) -> bool | None:
    """A 0/1 query parameter (``is_completed=1``), None when absent or empty."""
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    return to_bool(raw, key)
