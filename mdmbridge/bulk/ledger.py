"""The bulk ledger: what apply did to each target, one fsync'd JSON line per event.

    {"format": "mdmbridge-bulk-ledger", "plan": "<digest>", "action": {...}, "at": "..."}
    {"target": "acme-duo/0b8e...", "state": "begin", "attempt": 1, "at": "..."}
    {"target": "acme-duo/0b8e...", "state": "done", "attempt": 1, "how": "sent", "at": "..."}
    {"target": "acme-duo/1c9f...", "state": "failed", "attempt": 1,
     "error_class": "NotFound", "error": "...", "at": "..."}
    {"target": "acme-duo/2d0a...", "state": "unknown", "attempt": 1,
     "error_class": "TransportError", "error": "...", "at": "..."}

``begin`` is on disk before the command is sent, the outcome after its answer. A target's
state is its last line: ``done``, ``failed`` (the vendor refused, or it was refused before
sending: nothing happened, so a re-run sends it), ``unknown`` (it may have landed: not
re-sent unless asked), or ``begin`` with nothing after it (a crash or a kill while it was
in flight), which is ``unknown`` too. No line: ``pending``. A torn last line (a crash
mid-write) is ignored.

While an apply runs, the ledger is locked (``flock``), so two applies of one plan cannot
both send.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mdmbridge.bulk.model import BulkPlan
from mdmbridge.errors import ConfigError
from mdmbridge.ledger_file import LedgerFile, now, read_events

LEDGER_FORMAT = "mdmbridge-bulk-ledger"
State = Literal["pending", "done", "failed", "unknown"]
STATES: tuple[State, ...] = ("done", "failed", "unknown", "pending")


@dataclass
class Entry:
    """A target's last recorded event."""

    state: Literal["begin", "done", "failed", "unknown"]
    attempt: int = 0
    how: str | None = None
    result_id: str | None = None
    error: str | None = None
    error_class: str | None = None
    at: str | None = None

    @property
    def status(self) -> State:
        return "unknown" if self.state == "begin" else self.state

    @property
    def interrupted(self) -> bool:
        """Begun, never finished: a crash or kill while the command was in flight."""
        return self.state == "begin"


class BulkLedger:
    """``BulkLedger(path, plan)`` reads what is there; ``open()`` locks it and appends.
    ``BulkLedger(None, plan)`` is empty and in memory (a dry run, or no resume)."""

    def __init__(self, path: Path | None, plan: BulkPlan) -> None:
        self.path = path
        self.digest = plan.digest()
        self.action = plan.action.model_dump(mode="json")
        self.entries: dict[str, Entry] = {}
        self._file: LedgerFile | None = None
        self._fresh = False  # opened, nothing written yet: the header comes first
        self._lock = threading.Lock()
        if path is not None and path.exists():
            self._read(path)

    def _read(self, path: Path) -> None:
        for event in read_events(path):
            if event.get("format") == LEDGER_FORMAT:
                if event.get("plan") != self.digest:
                    raise ConfigError(
                        f"{path}: this ledger belongs to another plan (plan {event.get('plan')}, "
                        f"not {self.digest}); was the plan edited after apply began?"
                    )
                continue
            self._load(event)

    def _load(self, event: dict[str, Any]) -> None:
        state = event.get("state")
        if state not in ("begin", "done", "failed", "unknown"):
            return
        self.entries[str(event["target"])] = Entry(
            state=state,
            attempt=int(event.get("attempt", 0)),
            how=event.get("how"),
            result_id=event.get("result_id"),
            error=event.get("error"),
            error_class=event.get("error_class"),
            at=event.get("at"),
        )

    def state(self, key: str) -> State:
        entry = self.entries.get(key)
        return "pending" if entry is None else entry.status

    def attempts(self, key: str) -> int:
        entry = self.entries.get(key)
        return 0 if entry is None else entry.attempt

    # ------------------------------------------------------------------- writing

    def open(self) -> BulkLedger:
        """Lock the ledger for this apply (created if new; its header is written with the
        first event, and an empty one is removed again on close)."""
        if self.path is None or self._file is not None:
            return self
        self._file = LedgerFile(
            self.path,
            lock=(
                f"{self.path} is locked: another bulk apply of this plan is running; "
                "wait for it (nothing was sent by this one)"
            ),
        )
        self._fresh = self._file.empty_at_open
        if not self._fresh:  # what another run appended since this ledger was read
            self.entries.clear()
            self._read(self.path)
        return self

    def begin(self, key: str) -> int:
        """Record that ``key`` is about to be sent; returns the attempt number."""
        attempt = self.attempts(key) + 1
        self._event({"target": key, "state": "begin", "attempt": attempt})
        return attempt

    def finish(
        self,
        key: str,
        state: Literal["done", "failed", "unknown"],
        *,
        how: str | None = None,
        result_id: str | None = None,
        error: str | None = None,
        error_class: str | None = None,
    ) -> None:
        event: dict[str, Any] = {"target": key, "state": state, "attempt": self.attempts(key)}
        for name, value in (
            ("how", how),
            ("result_id", result_id),
            ("error_class", error_class),
            ("error", error),
        ):
            if value is not None:
                event[name] = value
        self._event(event)

    def _event(self, event: dict[str, Any]) -> None:
        event["at"] = _now()
        with self._lock:
            self._append(event)
            self._load(event)

    def _append(self, event: dict[str, Any]) -> None:
        if self._file is None:
            return  # in memory only
        if self._fresh:
            self._fresh = False
            header = {"format": LEDGER_FORMAT, "plan": self.digest, "action": self.action}
            self._append(header | {"at": _now()})
        self._file.append(event)

    def close(self) -> None:
        if self._file is not None:
            if self._fresh and self.path is not None:  # opened, never written: leave no trace
                with contextlib.suppress(OSError):
                    self.path.unlink()
            self._file.close()  # closing releases the lock
            self._file = None


def _now() -> str:
    return now("milliseconds")
