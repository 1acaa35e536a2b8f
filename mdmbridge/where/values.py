"""Values in ``--where`` terms: versions as numbers, durations, moments (a date is a whole
day), and the text form ``~`` searches. Shared by parsing and by evaluation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_VERSION_LEADING = re.compile(r"\s*v?(\d+(?:\.\d+)*)", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """A record's version: its leading numbers (``17.4.1 (21E237)`` -> (17, 4, 1)), trailing
    zeros dropped (17.0 == 17); None when it has none."""
    if text is None:
        return None
    match = _VERSION_LEADING.match(str(text))
    if match is None:
        return None
    return _trimmed(match.group(1))


def _trimmed(dotted: str) -> tuple[int, ...]:
    numbers = [int(part) for part in dotted.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def parse_duration(text: str) -> timedelta | None:
    """``30d``, ``12h``, ``1.5w`` -> a timedelta; None when ``text`` is not one."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    return timedelta(seconds=float(match.group(1)) * DURATION_UNITS[match.group(2).lower()])


def parse_moment(text: str, *, now: datetime) -> tuple[datetime, datetime, bool]:
    """A timestamp value -> (start, end, is_span): a date is the day ``[start, end)`` in
    UTC; a time or a duration ago is one instant (``start == end``). Raises ValueError."""
    ago = parse_duration(text)
    if ago is not None:
        moment = now - ago
        return moment, moment, False
    if _DATE.fullmatch(text):
        day = date.fromisoformat(text)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, start + timedelta(days=1), True
    moment = datetime.fromisoformat(text)  # Python 3.11: "Z", offsets, a space for "T"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, moment, False


def _text(value: Any) -> str:
    """The text form ``~`` searches."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(getattr(value, "value", value))


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
