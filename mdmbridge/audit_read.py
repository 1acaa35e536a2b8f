"""Reading the audit log back: ``mdmbridge audit`` and anyone's own scripts.

The reader never trusts the file more than the writer guarantees: a torn last line (a
crash mid-write) is skipped, and so is any line that is not a JSON object; how many were
skipped is reported, never hidden.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mdmbridge.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_instant(text: str, *, now: datetime | None = None) -> datetime:
    """``7d``/``12h``/``30m``/``2w`` (that long before now) or an ISO date or time (UTC
    unless it says otherwise) -> an aware datetime; a ``ValueError`` naming the forms."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (7d, 12h, 30m, 2w) nor an ISO date "
            "(2026-11-23 or 2026-11-23T13:00:00Z)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass
class AuditQuery:
    """Which lines to keep; every given criterion must match. ``tenants`` and ``actions``
    are names or globs (``acme-*``, ``device.*``); an action also matches by its verb
    alone (``wipe`` matches ``device.wipe``)."""

    since: datetime | None = None
    tenants: Sequence[str] = ()
    actions: Sequence[str] = ()
    outcomes: Sequence[str] = ()

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.since is not None:
            at = _instant(entry.get("at"))
            if at is None or at < self.since:
                return False
        tenant = str(entry.get("tenant", ""))
        if self.tenants and not any(fnmatch.fnmatchcase(tenant, t) for t in self.tenants):
            return False
        action = str(entry.get("action", ""))
        verb = action.split(".", 1)[-1]
        if self.actions and not any(
            fnmatch.fnmatchcase(action, a) or verb == a for a in self.actions
        ):
            return False
        return not self.outcomes or entry.get("outcome") in self.outcomes


@dataclass
class AuditRead:
    entries: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # lines that were not whole JSON objects (a torn last line, damage)


def read_audit(path: str | Path, query: AuditQuery | None = None) -> AuditRead:
    """Every line of the log that ``query`` keeps, oldest first. No file: none."""
    query = query or AuditQuery()
    result = AuditRead()
    for entry in iter_audit(Path(path), result):
        if query.matches(entry):
            result.entries.append(entry)
    return result


def iter_audit(path: Path, counts: AuditRead | None = None) -> Iterator[dict[str, Any]]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below; bytes: a torn UTF-8 line
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot read the audit log {path}: {exc.strerror}") from None
    with handle:
        for raw in handle:
            try:
                entry = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                entry = None
            if not isinstance(entry, dict):
                if counts is not None and raw.strip():
                    counts.skipped += 1
                continue
            yield entry


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None
