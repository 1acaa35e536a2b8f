"""The ledger: an append-only record of what apply has done, one JSON line per event.

``begin`` is written (and fsync'd) before a write is sent, ``done`` after it succeeded
with the target id. A step with ``begin`` and no ``done`` had an unknown outcome (a crash,
a kill, a dropped connection): apply looks the record up in the target before any
re-create. Because every line is flushed and fsync'd, a crash loses at most the line being
written, and a torn last line is ignored on reading.

A created record stays created whatever plan comes next, so create steps are done once
for good (keyed by the source ref). Updates and links are about the target's state when a
plan was made: a later plan (say, one fixing what ``verify`` found) may need the same
update again, so those count as done only for the plan that did them (keyed by the plan's
digest as well).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mdmbridge.errors import ConfigError
from mdmbridge.ledger_file import LedgerFile, now, read_events
from mdmbridge.migrate.model import Plan

LEDGER_FORMAT = "mdmbridge-migration-ledger"


@dataclass(frozen=True)
class Done:
    step: str
    ref: str
    target_id: str | None
    how: str


class Ledger:
    """``Ledger(path, plan)`` reads what is there and appends; with ``write=False`` (dry
    runs) it reads but never writes; ``Ledger(None, plan)`` starts empty in memory."""

    def __init__(self, path: Path | None, plan: Plan, *, write: bool = True) -> None:
        self.path = path
        self.plan_digest = plan.digest()
        self.done: dict[str, Done] = {}
        self.begun: set[str] = set()
        self.targets: dict[str, str] = {}  # source ref -> target id
        self._file: LedgerFile | None = None
        if path is not None and path.exists():
            self._read(path, plan)
        if path is not None and write:
            # Unlocked, and with the permissions open(path, "a") gave it (umask applies).
            self._file = LedgerFile(path, mode=0o666)
            if self._file.empty_at_open:
                self._append(
                    {
                        "format": LEDGER_FORMAT,
                        "source": plan.source.model_dump(),
                        "target": plan.target.model_dump(),
                        "options": plan.options.model_dump(),
                    }
                )

    def _read(self, path: Path, plan: Plan) -> None:
        for entry in read_events(path):
            if entry.get("format") == LEDGER_FORMAT:
                if (
                    entry.get("target") != plan.target.model_dump()
                    or entry.get("source") != plan.source.model_dump()
                ):
                    raise ConfigError(
                        f"{path}: this ledger belongs to a migration from {entry.get('source')} "
                        f"to {entry.get('target')}, not this plan's"
                    )
                continue
            self._load(entry)

    @staticmethod
    def _scoped(step: str) -> bool:
        return step.endswith(("#update", "#link"))

    def key(self, step: str, digest: str | None = None) -> str:
        """Creates count across plans; updates and links only within their plan."""
        return f"{digest or self.plan_digest}/{step}" if self._scoped(step) else step

    def _load(self, entry: dict[str, Any]) -> None:
        step = self.key(str(entry["step"]), entry.get("plan"))
        if entry.get("state") == "begin":
            self.begun.add(step)
        elif entry.get("state") == "done":
            done = Done(step, str(entry["ref"]), entry.get("target_id"), str(entry.get("how", "")))
            self.done[step] = done
            self.begun.discard(step)
            if done.target_id is not None and not self._scoped(step):
                self.targets[done.ref] = done.target_id

    def _append(self, entry: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.append(entry)

    def begin(self, step: str) -> None:
        self.begun.add(self.key(step))
        self._append({"step": step, "state": "begin", "plan": self.plan_digest, "at": _now()})

    def finish(self, step: str, ref: str, target_id: str | None, how: str) -> None:
        entry = {
            "step": step,
            "ref": ref,
            "state": "done",
            "target_id": target_id,
            "how": how,
            "plan": self.plan_digest,
            "at": _now(),
        }
        self._append(entry)
        self._load(entry)

    def is_done(self, step: str) -> Done | None:
        return self.done.get(self.key(step))

    def unknown_outcome(self, step: str) -> bool:
        return self.key(step) in self.begun and self.key(step) not in self.done

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _now() -> str:
    return now("seconds")


def read_targets(path: Path, plan: Plan) -> dict[str, str]:
    """Source ref -> target id from an existing ledger (for planning and verifying)."""
    ledger = Ledger(None, plan)
    if path.exists():
        ledger._read(path, plan)
    return ledger.targets


def read_header(path: Path) -> dict[str, Any]:
    """The ledger's first line: which migration it belongs to, and its plan options."""
    try:
        with open(path, encoding="utf-8") as handle:
            header = json.loads(handle.readline() or "{}")
    except FileNotFoundError:
        raise ConfigError(f"no ledger at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable ledger: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != LEDGER_FORMAT:
        raise ConfigError(f"{path}: not an mdmbridge migration ledger")
    return header
