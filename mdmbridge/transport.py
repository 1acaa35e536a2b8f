"""The only module that talks HTTP. Everything about the wire that is not vendor-specific
lives here, once: pooling, timeouts, retries, Retry-After, error mapping, redaction.

Retry rules (why they are what they are):
* Idempotent reads (GET/HEAD) are retried on connection errors, on 429 (honouring
  ``Retry-After`` in seconds or as an HTTP-date, capped) and on 5xx, with capped
  exponential backoff and jitter. urllib3's ``Retry`` does that well, so we configure it
  rather than write a loop.
* Writes and device commands are never re-sent once they may have reached the server: our
  vendors have no idempotency keys, and a wipe sent twice is not harmless. Only a failure
  to *connect* (nothing was sent) is retried for them.
* A body cut off after the headers is outside urllib3's retry (requests reads the body
  later), so GETs get a small retry loop of their own for that case.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import ijson  # type: ignore[import-untyped]
import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from mdmbridge.errors import (
    DryRunViolation,
    MalformedResponse,
    MDMError,
    TransportError,
    error_for_status,
    excerpt,
)
from mdmbridge.redaction import Redactor

log = logging.getLogger("mdmbridge.transport")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "mdmbridge/0.1 (+python-requests)"


@dataclass(frozen=True)
class VendorError:
    """What a vendor's error body says: its message and, when the body knows better than
    the HTTP status, the status whose error class fits (None: trust the HTTP status)."""

    message: str | None
    status: int | None = None


# Given the HTTP status, the decoded JSON body (or None) and the body text: the vendor's
# reading of its own error answer, or None to fall back on a generic one.
ErrorParser = Callable[[int, Any, str], VendorError | None]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``attempts`` counts retries after the first try."""

    attempts: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 10.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def urllib3_retry(self) -> Retry:
        capped = type("CappedRetry", (_CappedRetry,), {"max_retry_after": self.max_retry_after})
        return capped(  # type: ignore[no-any-return]
            total=self.attempts,
            connect=self.attempts,
            read=self.attempts,
            status=self.attempts,
            other=0,
            redirect=0,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.jitter,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )

    def sleep_before(self, retry_number: int) -> float:
        delay = min(self.backoff_max, self.backoff_factor * 2.0 ** (retry_number - 1))
        return float(delay + random.uniform(0, self.jitter))


class _CappedRetry(Retry):
    """urllib3 Retry that never sleeps longer than ``max_retry_after`` for one Retry-After:
    a vendor saying "come back in an hour" costs at most ``attempts`` capped waits, then a
    ``RateLimited`` error carrying the vendor's own ``retry_after``, never an hour's hang."""

    max_retry_after: float = 60.0

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after)


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 60.0


@dataclass
class HTTPResult:
    """A successful (2xx) answer: status, headers and the decoded JSON body (None if empty)."""

    status: int
    headers: Mapping[str, str]
    data: Any
    text: str = field(repr=False)


class Transport:
    """One pooled ``requests.Session`` for one tenant, with every rule above applied."""

    def __init__(
        self,
        *,
        base_url: str,
        vendor: str,
        tenant: str,
        auth: tuple[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        read_only: bool = False,
        error_parser: ErrorParser | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.vendor = vendor
        self.tenant = tenant
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.read_only = read_only
        self._error_parser = error_parser
        all_secrets = list(secrets)
        if auth is not None:
            from mdmbridge.redaction import basic_auth_token

            all_secrets += [auth[1], basic_auth_token(*auth)]
        self.redact = Redactor(all_secrets)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._session.headers["Accept"] = "application/json"
        if auth is not None:
            self._session.auth = auth
        # The environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...) is read once per
        # session for the tenant's host, not on every request: requests would re-read it,
        # and ~/.netrc, for each of a listing's hundreds of pages.
        self._session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self._session.verify = bundle
        self._session.trust_env = False
        adapter = HTTPAdapter(
            pool_connections=1,
            pool_maxsize=max_concurrency,
            max_retries=self.retry.urllib3_retry(),
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __repr__(self) -> str:
        return (
            f"Transport(vendor={self.vendor!r}, tenant={self.tenant!r}, "
            f"base_url={self.redact(self.base_url)!r}, read_only={self.read_only})"
        )

    def close(self) -> None:
        self._session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
    ) -> HTTPResult:
        """Send one request and return its decoded 2xx answer, or raise an ``MDMError``."""
        method = method.upper()
        url = self.base_url + path
        if self.read_only and method not in IDEMPOTENT_METHODS:
            raise DryRunViolation(
                f"dry run: refused to send {method} {self.redact(path)}",
                vendor=self.vendor,
                tenant=self.tenant,
                method=method,
                url=self.redact(url),
            )
        kwargs: dict[str, Any] = {
            "params": params,
            "timeout": (self.timeouts.connect, self.timeouts.read),
        }
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            kwargs["headers"] = {"Content-Type": "application/json; charset=utf-8"}
        elif form is not None:
            kwargs["data"] = urllib.parse.urlencode(form).encode("ascii")
            kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
        body_retries = self.retry.attempts if method in IDEMPOTENT_METHODS else 0
        attempt = 0
        while True:
            try:
                return self._send_once(method, url, kwargs)
            except _BodyCutOff as cut:
                attempt += 1
                if attempt > body_retries:
                    raise cut.error from None
                delay = self.retry.sleep_before(attempt)
                log.debug(
                    "%s %s: body cut off, retry %d in %.2fs",
                    method,
                    self.redact(url),
                    attempt,
                    delay,
                )
                time.sleep(delay)

    def stream_array(
        self, path: str, *, params: Mapping[str, str | int] | None = None
    ) -> Iterator[Any]:
        """GET a JSON array and yield its items as they arrive.

        For vendors without paging (DuoSTATION answers a whole fleet in one body): a
        200,000-device listing never exists in memory at once. Failures before the first
        item are retried like any GET; a body cut off after items were yielded cannot be
        resumed safely (the list may have changed), so it raises ``MalformedResponse``.
        """
        url = self.base_url + path
        kwargs: dict[str, Any] = {
            "params": params,
            "timeout": (self.timeouts.connect, self.timeouts.read),
            "stream": True,
        }
        attempt = 0
        while True:
            yielded = 0
            try:
                for item in self._stream_once(url, kwargs):
                    yielded += 1
                    yield item
                return
            except _BodyCutOff as cut:
                attempt += 1
                if yielded or attempt > self.retry.attempts:
                    raise cut.error from None
                time.sleep(self.retry.sleep_before(attempt))

    def _stream_once(self, url: str, kwargs: dict[str, Any]) -> Iterator[Any]:
        context = self._context("GET", url)
        cut_off = MalformedResponse(
            f"GET {self.redact(url)}: the response body was cut off", **context
        )
        with self._slots:
            try:
                response = self._session.request("GET", url, **kwargs)
            except requests.exceptions.RequestException as exc:
                raise TransportError(
                    f"GET {self.redact(url)}: {_describe(exc, self.redact)}", **context
                ) from None
            with response:
                log.debug("GET %s -> %s (streaming)", self.redact(url), response.status_code)
                reader = _BodyReader(response)
                try:
                    first = reader.first_byte()
                    if not (200 <= response.status_code < 300) or first != b"[":
                        result = self._decode(
                            response, reader.read(), "GET", url
                        )  # raises on non-2xx
                        got = "an empty body" if result.data is None else type(result.data).__name__
                        raise MalformedResponse(
                            f"GET {self.redact(url)}: expected a JSON array, got {got}",
                            body=self.redact(result.text),
                            **context,
                        )
                    yield from ijson.items(reader, "item", use_float=True)
                except ijson.JSONError as exc:
                    # A body cut off in transit surfaces as urllib3's ProtocolError (below);
                    # a JSON error on a body that arrived whole is the vendor's bad JSON.
                    raise MalformedResponse(
                        f"GET {self.redact(url)}: the body is not valid JSON "
                        f"({excerpt(str(exc), 80)})",
                        **context,
                    ) from None
                except urllib3.exceptions.ReadTimeoutError:
                    raise TransportError(
                        f"GET {self.redact(url)}: timed out reading the body "
                        f"(read {self.timeouts.read}s)",
                        **context,
                    ) from None
                except (
                    urllib3.exceptions.ProtocolError,
                    requests.exceptions.RequestException,
                    OSError,
                ):
                    raise _BodyCutOff(cut_off) from None

    def _context(self, method: str, url: str) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "tenant": self.tenant,
            "method": method,
            "url": self.redact(url),
        }

    def _send_once(self, method: str, url: str, kwargs: dict[str, Any]) -> HTTPResult:
        context = self._context(method, url)
        started = time.monotonic()
        with self._slots:
            try:
                response = self._session.request(method, url, **kwargs)
                body = response.content  # read inside the try: a cut-off body raises here
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                raise _BodyCutOff(
                    MalformedResponse(
                        f"{method} {self.redact(url)}: the response body was cut off "
                        f"({type(exc).__name__})",
                        **context,
                    )
                ) from None
            except requests.exceptions.RequestException as exc:
                reason = _describe(exc, self.redact)
                if reason == "timed out":
                    reason += f" (connect {self.timeouts.connect}s, read {self.timeouts.read}s)"
                raise TransportError(f"{method} {self.redact(url)}: {reason}", **context) from None
        elapsed = time.monotonic() - started
        log.debug("%s %s -> %s in %.3fs", method, self.redact(url), response.status_code, elapsed)
        return self._decode(response, body, method, url)

    def _decode(
        self, response: requests.Response, body: bytes, method: str, url: str
    ) -> HTTPResult:
        context = self._context(method, url)
        text = body.decode(response.encoding or "utf-8", errors="replace") if body else ""
        content_type = response.headers.get("Content-Type", "").lower()
        data: Any = None
        parse_error: str | None = None
        if text.strip():
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                parse_error = exc.msg
        status = response.status_code
        if 200 <= status < 300:
            if parse_error is not None:
                kind = (
                    "an HTML page"
                    if _looks_like_html(text, content_type)
                    else "a body that is not JSON"
                )
                raise MalformedResponse(
                    f"{method} {self.redact(url)}: HTTP {status} with {kind} ({parse_error}): "
                    f"{excerpt(self.redact(text), 120)}",
                    status=status,
                    body=self.redact(text),
                    **context,
                )
            return HTTPResult(status=status, headers=response.headers, data=data, text=text)
        raise self._error(response, status, data, text, content_type, context)

    def _error(
        self,
        response: requests.Response,
        status: int,
        data: Any,
        text: str,
        content_type: str,
        context: dict[str, Any],
    ) -> MDMError:
        vendor = self._error_parser(status, data, text) if self._error_parser is not None else None
        message = vendor.message if vendor is not None else None
        if not message:
            if _looks_like_html(text, content_type):
                title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
                page = title.group(1).strip() if title else "an HTML error page"
                message = f"a proxy or gateway answered with an HTML page ({page!r})"
            else:
                message = (
                    excerpt(text, 160) if text.strip() else (response.reason or f"HTTP {status}")
                )
        retry_after: float | None = None
        header = response.headers.get("Retry-After")
        if header:
            try:
                retry_after = Retry().parse_retry_after(header)
            except Exception:  # an unparseable header is not worth a second error
                retry_after = None
        prefix = f"{context['method']} {context['url']}: "
        return error_for_status(
            vendor.status if vendor is not None and vendor.status is not None else status,
            prefix + self.redact(message),
            retry_after=retry_after,
            http_status=status,
            body=self.redact(text) if text else None,
            **context,
        )


class _BodyReader:
    """File-like view of a streamed body for ijson, able to look at its first byte first."""

    def __init__(self, response: requests.Response) -> None:
        self._raw = response.raw
        self._raw.decode_content = True
        self._buffer = b""

    def first_byte(self) -> bytes:
        while True:
            stripped = self._buffer.lstrip()
            if stripped:
                return stripped[:1]
            chunk = self._raw.read(8192)
            if not chunk:
                return b""
            self._buffer += chunk

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the stream's type with read(0)
            return b""
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        return bytes(self._raw.read(None if size < 0 else size) or b"")


class _BodyCutOff(Exception):
    def __init__(self, error: MDMError) -> None:
        super().__init__(str(error))
        self.error = error


def _looks_like_html(text: str, content_type: str) -> bool:
    return "html" in content_type or text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost urllib3 reason: requests wraps MaxRetryError(reason=...) in ConnectionError
    even when the reason was a read timeout, so the outer class alone misleads."""
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


def _describe(exc: requests.exceptions.RequestException, redact: Callable[[str], str]) -> str:
    """A one-line reason for a failed request, without urllib3's nested repr noise."""
    root = _root_cause(exc)
    text = f"{exc} {root!r}"
    for needle, reason in _REASONS:
        if needle in text:
            return reason
    # Checked after the texts: urllib3's NewConnectionError ("refused") subclasses its
    # ConnectTimeoutError, so a refused connection would otherwise read as a timeout.
    timeouts = (TimeoutError, socket.timeout, urllib3.exceptions.TimeoutError)
    if isinstance(exc, requests.exceptions.Timeout) or isinstance(root, timeouts):
        return "timed out"
    return redact(excerpt(text, 160))


_REASONS = (
    ("Connection refused", "connection refused"),
    ("RemoteDisconnected", "the server closed the connection without answering"),
    ("Connection reset", "the connection was reset"),
    ("Connection aborted", "the connection was aborted"),
    ("Name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("CERTIFICATE_VERIFY_FAILED", "TLS certificate verification failed"),
)
