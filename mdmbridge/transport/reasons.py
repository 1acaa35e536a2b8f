"""One line of why a request failed, from the nest of exceptions urllib3 and http.client raise.

Also decides the one question the retry loop needs answered about such a failure: could the
request have reached the server? Only a failure to connect is certain not to have.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable

import urllib3.exceptions

from mdmbridge.errors import excerpt


def root_cause(exc: BaseException) -> BaseException:
    """The innermost reason: urllib3 wraps an OSError in ProtocolError("Connection
    aborted.", ...) and a failure to connect in MaxRetryError(reason=...), so the outer
    class misleads."""
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
    root = root_cause(exc)
    # NewConnectionError (refused, unreachable, DNS) subclasses ConnectTimeoutError.
    return isinstance(root, urllib3.exceptions.ConnectTimeoutError)


def retry_can_help(exc: Exception) -> bool:
    """Certificate and URL errors are the same next time; connection trouble may not be."""
    root = root_cause(exc)
    if isinstance(exc, urllib3.exceptions.SSLError) or isinstance(root, _CERTAIN):
        return False
    return isinstance(exc, _TRANSIENT) or isinstance(root, _TRANSIENT)


# What is the same on every try: a certificate refused, a URL that cannot be parsed.
_CERTAIN = (urllib3.exceptions.SSLError, urllib3.exceptions.LocationValueError)
# What may not be: no connection, a connection dropped or timed out, a proxy down.
_TRANSIENT = (
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.TimeoutError,  # connect and read timeouts, refused connections too
    urllib3.exceptions.ProxyError,
    urllib3.exceptions.MaxRetryError,
    http.client.HTTPException,
    OSError,
)


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
    if isinstance(exc, timeouts) or isinstance(root, timeouts):
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
