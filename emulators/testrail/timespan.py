"""TestRail timespans: ``"30s"``, ``"1m 45s"``, ``"2h 30m"`` <-> whole seconds.

TestRail stores estimates and elapsed times as seconds and shows them as space-separated unit
groups (testrail-api.md §5.4, §5.14; the XML export writes plain seconds, export-formats §1.2).
Units: ``w`` (week), ``d`` (day), ``h``, ``m``, ``s``.

Choice where the reference is silent: a day is 24 hours and a week 7 days (no "working day"
conversion), and zero is not a valid timespan (``"0s"`` is rejected for ``elapsed``, §5.14).
"""

from __future__ import annotations

import re

UNITS: dict[str, int] = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_TOKEN = re.compile(r"\s*(\d+)\s*([wdhms])", re.IGNORECASE)


def parse_timespan(text: str) -> int:
    """Seconds in a timespan string such as ``"1m 30s"`` (> 0).

    Accepts unit groups in any order, separated by optional whitespace (``"1m30s"`` too).
    Raises ``ValueError`` for anything else, including an empty string and a total of zero.
    """
    pos, total, matched = 0, 0, False
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m:
            raise ValueError(f"not a timespan: {text!r}")
        total += int(m.group(1)) * UNITS[m.group(2).lower()]
        pos, matched = m.end(), True
    if not matched or total <= 0:
        raise ValueError(f"not a timespan: {text!r}")
    return total


def format_timespan(seconds: int | None) -> str | None:
    """TestRail's display form of ``seconds``: ``840`` -> ``"14m"``, ``90`` -> ``"1m 30s"``;
    None or 0 -> None."""
    if not seconds:
        return None
    parts: list[str] = []
    rest = int(seconds)
    for unit, size in UNITS.items():
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return " ".join(parts)
