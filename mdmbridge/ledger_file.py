"""The append-only JSONL file under both ledgers (``migrate apply``, ``bulk apply``).

A ledger is what makes an interrupted apply safe to run again, so how it reaches the disk
is decided once, here: each event is one JSON line, written whole with ``O_APPEND`` and
fsync'd before :meth:`LedgerFile.append` returns, so a crash loses at most the line being
written. Reading skips blank lines and ignores a torn last line (that event never counted);
a damaged line anywhere else is a one-line :class:`ConfigError`, because guessing past it
could re-send a write. What the events mean, and each ledger's header, stay with each
ledger (:mod:`mdmbridge.migrate.ledger`, :mod:`mdmbridge.bulk.ledger`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mdmbridge.errors import ConfigError


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Every event in the file, in order. Lines split on ``\\n`` only (bytes), so a name
    holding U+2028 or another Unicode line break stays one event."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the ledger {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line.decode("utf-8"))
            if not isinstance(event, dict):
                raise ValueError
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            if number == len(lines):
                return  # torn by a crash mid-write: that event never counted
            raise ConfigError(f"{path}: line {number} is damaged") from None
        yield event


def now(timespec: Literal["seconds", "milliseconds"]) -> str:
    """UTC, ISO 8601 with a ``Z``, as both ledgers stamp their events."""
    return datetime.now(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


class LedgerFile:
    """An open ledger file that only grows. ``lock`` (a message) takes an exclusive
    ``flock`` for as long as it is open and refuses with that message if another process
    holds it; without it, nothing is locked."""

    def __init__(self, path: Path, *, lock: str | None = None, mode: int = 0o600) -> None:
        self.path = path
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, mode)
        except OSError as exc:
            raise ConfigError(f"cannot write the ledger {path}: {exc.strerror}") from None
        if lock is not None and not _try_lock(fd):
            os.close(fd)
            raise ConfigError(lock)
        self._fd: int | None = fd
        self.empty_at_open = os.fstat(fd).st_size == 0

    def append(self, event: dict[str, Any]) -> None:
        """One line, on disk (fsync'd) before this returns."""
        if self._fd is None:
            raise ValueError(f"the ledger {self.path} is closed")
        line = (json.dumps(event, ensure_ascii=False) + "\n").encode("utf-8")
        written = os.write(self._fd, line)
        while written < len(line):
            written += os.write(self._fd, line[written:])
        os.fsync(self._fd)

    def close(self) -> None:
        """Closing releases the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, documented
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
