"""Keep secrets out of everything that leaves the transport: messages, reprs and logs.

ezmdm puts its API key in the URL path, so header filters are not enough: urllib3 logs
request lines with the full path at DEBUG, and ``requests`` exceptions quote the URL. Two
mechanisms cover that:

* :class:`Redactor`: a callable each transport applies to every URL, header and message
  it lets out (error texts, body excerpts, its own log lines).
* A log-record factory installed once per process: every record from the ``urllib3``,
  ``requests`` and ``mdmbridge`` loggers has every registered secret replaced before any
  handler, the user's included, can see it. A record factory (rather than a logger filter)
  is used because filters on a logger do not apply to records of its child loggers, and
  urllib3 logs from several children.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

MARKER = "***"
_REDACTED_LOGGERS = ("urllib3", "requests", "mdmbridge", "vcr")  # vcr: users record cassettes too
_MIN_SECRET_LENGTH = 4  # shorter strings would shred ordinary text; refused at config time

_registry_lock = threading.Lock()
_registered: set[str] = set()
_factory_installed = False


def secret_variants(secret: str) -> set[str]:
    """A secret and every encoding in which it can appear in a URL, a body or a log line:
    as is, percent-encoded from UTF-8 and from latin-1 (``quote`` and ``quote_plus``),
    JSON-escaped (a vendor or proxy echoing it inside a JSON string) and HTML-escaped (an
    HTML error page quoting it)."""
    variants = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
    }
    with contextlib.suppress(UnicodeEncodeError):
        variants |= {
            urllib.parse.quote(secret, safe="", encoding="latin-1"),
            urllib.parse.quote_plus(secret, encoding="latin-1"),
        }
    return {v for v in variants if len(v) >= _MIN_SECRET_LENGTH}


class Redactor:
    """Replaces known secrets (and their encoded forms) with a marker.

    Secrets can be added after construction (:meth:`add`): a bearer token fetched on first
    use is hidden from that moment on, in this redactor and in every log record.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if not secret:
            return
        variants = secret_variants(secret)
        with self._lock:
            # Longest first, so a secret containing another is replaced whole.
            self._secrets = sorted(set(self._secrets) | variants, key=len, reverse=True)
        register_secrets(variants)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MARKER)
        return text

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


def redact_registered(text: str) -> str:
    with _registry_lock:
        secrets = sorted(_registered, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MARKER)
    return text


def register_secrets(secrets: Iterable[str]) -> None:
    """Register secrets for log redaction and make sure the record factory is installed."""
    global _factory_installed
    with _registry_lock:
        _registered.update(s for s in secrets if len(s) >= _MIN_SECRET_LENGTH)
        if _factory_installed:
            return
        _factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(_REDACTED_LOGGERS) and _registered:
            try:
                message = record.getMessage()
            except Exception:  # a malformed log call must not break the caller
                return record
            record.msg = redact_registered(message)
            record.args = None
        return record

    logging.setLogRecordFactory(factory)
