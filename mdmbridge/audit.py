"""The audit log: one JSON line for every write mdmbridge sends on someone's behalf.

    {"at": "2026-11-23T13:09:11.123Z", "user": "anna", "host": "it-laptop-7", "pid": 4242,
     "source": "devices send", "tenant": "acme-duo", "vendor": "duostation",
     "action": "device.wipe", "target": {"type": "device", "id": "0b8e...", "name": "iPad 12",
     "serial": "F2LXK3ABHG7F"}, "params": {}, "outcome": "ok", "error_class": null,
     "error": null}

``outcome`` is ``ok``, ``failed`` (the vendor refused: nothing changed) or ``unknown`` (the
request went out and its answer was lost: it may have landed). Writes refused before any
request (a capability the vendor lacks, a bad id, a dry run) are not writes and are not
logged.

Who records: the layer that knows the person's intent. The CLI records every resource
write and device command itself (it knows the device's name and serial); the two plan
executors, :func:`mdmbridge.bulk.apply` and :func:`mdmbridge.migrate.apply`, record each
write they send to the *active* log. The CLI activates one for each run (``--audit-log``,
``$MDMBRIDGE_AUDIT_LOG``, else ``audit.jsonl`` in the user data dir); a library user opts
in with :func:`activate` (or passes ``audit=`` to those executors). Plain client calls
(``client.devices.lock(...)``) are not audited by the library.

Durability and concurrency: each line is one ``os.write`` on a descriptor opened with
``O_APPEND`` (so lines from several processes never interleave on a local file system),
followed by ``os.fsync``, under a lock (threads of one process). The file is opened, and
its directory created, before the first write is sent (:meth:`AuditLog.open`), so an
unwritable log stops a command before it changes anything.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import platformdirs

from mdmbridge.errors import (
    AuthError,
    ConfigError,
    Conflict,
    DryRunViolation,
    NotFound,
    PermissionDenied,
    RateLimited,
    UnsupportedOperation,
    ValidationError,
)
from mdmbridge.redaction import redact_registered

AUDIT_ENV = "MDMBRIDGE_AUDIT_LOG"
AUDIT_FILENAME = "audit.jsonl"
Outcome = Literal["ok", "failed", "unknown"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "failed", "unknown")

# The vendor answered and refused: the write did not happen.
REFUSED = (AuthError, PermissionDenied, NotFound, Conflict, ValidationError, RateLimited)
# Parameter names never written to the log, whatever their value.
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "credential")
_MAX_TEXT = 2000  # a parameter's text is cut here (a message, notes)
_MAX_ERROR = 500


def default_audit_path() -> Path:
    return Path(platformdirs.user_data_dir("mdmbridge")) / AUDIT_FILENAME


def audit_path(explicit: str | Path | None = None) -> Path:
    """``--audit-log``, then ``$MDMBRIDGE_AUDIT_LOG``, then the user data dir."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(AUDIT_ENV):
        return Path(os.environ[AUDIT_ENV]).expanduser()
    return default_audit_path()


def was_sent(error: BaseException) -> bool:
    """False for refusals raised before any request left: nothing to audit."""
    if isinstance(error, (UnsupportedOperation, DryRunViolation, ConfigError, TypeError)):
        return False
    if isinstance(error, ValidationError):  # local checks carry no request
        return error.status is not None or error.method is not None
    return True


def outcome_of(error: BaseException | None) -> Outcome:
    """``ok``; ``failed`` when the vendor refused (nothing happened); else ``unknown``."""
    if error is None:
        return "ok"
    if isinstance(error, REFUSED):
        return "failed"
    return "unknown"


def safe_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """What was asked for, minus secrets; long texts cut, binary blobs only sized."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        lowered = key.lower()
        if any(word in lowered for word in _SECRET_WORDS):
            out[key] = "(secret, not logged)"
        elif lowered == "image_data" and isinstance(value, str):
            out[key] = f"({len(value)} characters, not logged)"
        elif isinstance(value, str) and len(value) > _MAX_TEXT:
            out[key] = value[:_MAX_TEXT] + "…"
        elif isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        else:
            out[key] = str(value)[:_MAX_TEXT]
    return out


@dataclass(frozen=True)
class AuditTarget:
    """What a write was about: ``type`` (device, group, user, tag, app, tag_link), its id
    and, where known, its name and serial number."""

    type: str
    id: str | None = None
    name: str | None = None
    serial: str | None = None

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"type": self.type, "id": self.id}
        if self.name is not None:
            shown["name"] = self.name
        if self.serial is not None:
            shown["serial"] = self.serial
        return shown


class AuditLog:
    """An append-only JSON-lines file. ``record`` returns once the line is on disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._who = _os_user()
        self._host = socket.gethostname()

    def open(self) -> AuditLog:
        """Create the directory and open the file; a ``ConfigError`` if that is impossible.
        Call it before sending anything, so nothing is sent that cannot be logged."""
        with self._lock:
            if self._fd is None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fd = os.open(
                        self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _O_BINARY, 0o600
                    )
                except OSError as exc:
                    reason = exc.strerror or type(exc).__name__
                    raise ConfigError(
                        f"cannot write the audit log {self.path}: {reason} "
                        f"(choose another with --audit-log or ${AUDIT_ENV}); nothing was sent"
                    ) from None
        return self

    def record(
        self,
        *,
        tenant: str,
        vendor: str,
        action: str,
        target: AuditTarget,
        outcome: Outcome,
        params: Mapping[str, Any] | None = None,
        error: BaseException | None = None,
        source: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one line (flushed and fsync'd) and return it as a dict."""
        entry: dict[str, Any] = {
            "at": _now(),
            "user": self._who,
            "host": self._host,
            "pid": os.getpid(),
            "source": source or current_source(),
            "tenant": tenant,
            "vendor": vendor,
            "action": action,
            "target": target.as_dict(),
            "params": safe_params(params),
            "outcome": outcome,
            "error_class": None if error is None else type(error).__name__,
            "error": None if error is None else _error_text(error),
        }
        if extra:
            entry.update(extra)
        line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        self.open()
        with self._lock:
            assert self._fd is not None
            written = os.write(self._fd, line)  # O_APPEND: one write, one whole line
            while written < len(line):  # a short write (a full disk) is finished, not dropped
                written += os.write(self._fd, line[written:])
            os.fsync(self._fd)
        return entry

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> AuditLog:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"


# --------------------------------------------------------------------------- the active log

_active_lock = threading.Lock()
_active: AuditLog | None = None
_source: str | None = None


def activate(log: AuditLog | str | Path | None, *, source: str | None = None) -> AuditLog | None:
    """Make ``log`` the process's active audit log (``None``: none); returns the previous.
    The plan executors (bulk and migrate apply) record to it when given no ``audit=``."""
    global _active, _source
    if log is not None and not isinstance(log, AuditLog):
        log = AuditLog(log)
    with _active_lock:
        previous, _active = _active, log
        _source = source
    return previous


def active() -> AuditLog | None:
    with _active_lock:
        return _active


def current_source() -> str:
    """What sent the write: the CLI command (``devices send``), else ``library``."""
    if _source is not None:
        return _source
    try:
        import click

        context = click.get_current_context(silent=True)
    except ImportError:  # pragma: no cover - click is a dependency
        context = None
    if context is not None:
        parts = context.command_path.split()
        return " ".join(parts[1:]) or parts[0]
    return "library"


@contextlib.contextmanager
def activated(log: AuditLog | str | Path) -> Iterator[AuditLog]:
    """``with activated(path) as log:``: the active log inside the block, closed after."""
    chosen = log if isinstance(log, AuditLog) else AuditLog(log)
    previous = activate(chosen)
    try:
        yield chosen
    finally:
        activate(previous)
        chosen.close()


def resolve(audit: AuditLog | None) -> AuditLog | None:
    """The log a write goes to: the one given, else the active one (opened), else none."""
    log = audit if audit is not None else active()
    return None if log is None else log.open()


class Pending:
    """One write about to be sent: ``with audited(...) as pending:`` records it when the
    block ends, ``ok``, or ``failed``/``unknown`` by the error that ended it (re-raised).
    Set ``pending.target`` inside the block when the id is known only after (a create)."""

    def __init__(
        self,
        log: AuditLog | None,
        *,
        tenant: str,
        vendor: str,
        action: str,
        target: AuditTarget,
        params: Mapping[str, Any] | None = None,
        source: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.log, self.tenant, self.vendor, self.action = log, tenant, vendor, action
        self.target, self.params, self.source, self.extra = target, params, source, extra
        self.entry: dict[str, Any] | None = None

    def __enter__(self) -> Pending:
        if self.log is not None:
            self.log.open()
        return self

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        if self.log is None or (error is not None and not was_sent(error)):
            return
        # Ctrl-C or a bug mid-write: it may have gone out, so it is "unknown".
        self.entry = self.log.record(
            tenant=self.tenant,
            vendor=self.vendor,
            action=self.action,
            target=self.target,
            outcome=outcome_of(error),
            params=self.params,
            error=error,
            source=self.source,
            extra=self.extra,
        )


def audited(
    log: AuditLog | None,
    *,
    tenant: str,
    vendor: str,
    action: str,
    target: AuditTarget,
    params: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> Pending:
    """``with audited(log, tenant=..., action="group.create", target=...) as pending:``;
    ``log=None`` records nothing."""
    return Pending(
        log,
        tenant=tenant,
        vendor=vendor,
        action=action,
        target=target,
        params=params,
        source=source,
    )


# --------------------------------------------------------------------------- helpers


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without /etc/passwd entry)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _error_text(error: BaseException) -> str:
    text = " ".join(str(error).split())
    text = redact_registered(text)
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


__all__ = [
    "AUDIT_ENV",
    "OUTCOMES",
    "AuditLog",
    "AuditTarget",
    "Outcome",
    "Pending",
    "activate",
    "activated",
    "active",
    "audit_path",
    "audited",
    "default_audit_path",
    "outcome_of",
    "resolve",
    "safe_params",
    "was_sent",
]
