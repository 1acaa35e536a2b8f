"""One line of why a request failed, from the nest of exceptions requests and urllib3 raise.

Also decides the one question the retry loop needs answered about such a failure: could the
request have reached the server? Only a failure to connect is certain not to have.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import requests
import urllib3.exceptions

from mdmbridge.errors import excerpt


def root_cause(exc: BaseException) -> BaseException:
    """The innermost urllib3 reason: requests wraps MaxRetryError(reason=...) in
    ConnectionError even when the reason was a read timeout, so the outer class misleads."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "reason", None)
        if (
            not isinstance(inner, BaseException)
            and current.args
            and isinstance(current.args[0], BaseException)
        ):
            inner = current.args[0]
        if not isinstance(inner, BaseException):
            break
        current = inner
    return current


def never_sent(exc: Exception) -> bool:
    """True when the request certainly did not reach the server (the connection never
    opened), so even a write may be sent again."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    root = root_cause(exc)
    # NewConnectionError (refused, unreachable, DNS) subclasses ConnectTimeoutError.
    return isinstance(root, urllib3.exceptions.ConnectTimeoutError)


def retry_can_help(exc: Exception) -> bool:
    """Certificate and URL errors are the same next time; connection trouble may not be."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
    ) or isinstance(root_cause(exc), (urllib3.exceptions.ProtocolError, OSError))


def describe(exc: Exception, redact: Callable[[str], str]) -> str:
    """A one-line reason for a failed request, without urllib3's nested repr noise."""
    root = root_cause(exc)
    text = f"{exc} {root!r}"
    for needle, reason in _REASONS:
        if needle in text:
            return reason
    # Checked after the texts: urllib3's NewConnectionError ("refused") subclasses its
    # ConnectTimeoutError, so a refused connection would otherwise read as a timeout.
    timeouts = (TimeoutError, socket.timeout, urllib3.exceptions.TimeoutError)
    if isinstance(exc, requests.exceptions.Timeout) or isinstance(root, timeouts):
        return "timed out"
    return excerpt(redact(text), 160)  # redacted first: a cut could split a secret


_REASONS = (
    ("Connection refused", "connection refused"),
    ("RemoteDisconnected", "the server closed the connection without answering"),
    ("Connection reset", "the connection was reset"),
    ("Connection aborted", "the connection was aborted"),
    ("Name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("CERTIFICATE_VERIFY_FAILED", "TLS certificate verification failed"),
)


def looks_like_html(text: str, content_type: str) -> bool:
    return "html" in content_type or text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
