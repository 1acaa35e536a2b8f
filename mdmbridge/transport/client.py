"""The only class that talks HTTP: one pooled session per tenant, and one retry loop.

Rules, each applied here once:

* **Retries** (:meth:`Transport._call`, the one loop): reads (GET/HEAD) are retried on
  connection errors, cut-off bodies, read timeouts, 429 and 5xx, with capped backoff and
  jitter, or the vendor's Retry-After when it gives one that parses. Writes and device
  commands are never re-sent once they may have reached the server (our vendors have no
  idempotency keys, and a wipe sent twice is not harmless): only a failure to connect is
  retried for them.
* **Deadline**: every call, all attempts and waits included, ends within the tenant's
  ``request_deadline_s`` (see ``transport.deadline``); a whole-fleet body earns one more
  second for every ``STREAM_BYTES_PER_SECOND`` bytes that arrive, so an honest slow
  transfer finishes while a drip does not.
* **Redirects** are never followed blindly: a 3xx to a write is an error naming the
  Location (following it would report another record as the one just written); a read is
  followed only within the tenant's own origin (scheme, host, port), so credentials never
  travel to another host.
* **Bodies** are read in full before they are parsed (``transport.body``: size, charset,
  BOM, nesting depth, numbers), and DuoSTATION's whole-fleet arrays are spooled to disk at
  socket speed first, so a server's send timeout never runs out while we parse.
* **Secrets** pass through the redactor before any URL, message or body excerpt leaves.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import ijson  # type: ignore[import-untyped]
import requests
import urllib3.exceptions

from mdmbridge.errors import (
    DryRunViolation,
    MalformedResponse,
    MDMError,
    TransportError,
    error_for_status,
    excerpt,
)
from mdmbridge.redaction import Redactor
from mdmbridge.transport.auth import Auth, BasicAuth
from mdmbridge.transport.body import (
    UTF8_BOM,
    BodyError,
    DepthGuard,
    body_text,
    decode_json,
    parse_json,
)
from mdmbridge.transport.deadline import Deadline, DeadlineHTTPAdapter
from mdmbridge.transport.policy import (
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    RetryPolicy,
    Timeouts,
    parse_retry_after,
)
from mdmbridge.transport.reasons import describe, looks_like_html, never_sent, retry_can_help

log = logging.getLogger("mdmbridge.transport")

USER_AGENT = "mdmbridge/0.1 (+python-requests)"
CHUNK_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024  # an answer held in memory; whole-fleet arrays are spooled
MAX_ERROR_BODY_BYTES = 1024 * 1024  # an error answer is read only for its message
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
STREAM_BYTES_PER_SECOND = 256 * 1024  # a whole-fleet body's deadline grows by 1 s per 256 KiB
MAX_REDIRECTS = 5
T = TypeVar("T")


@dataclass(frozen=True)
class VendorError:
    """What a vendor's error body says: its message and, when the body knows better than
    the HTTP status, the status whose error class fits (None: trust the HTTP status)."""

    message: str | None
    status: int | None = None


# Given the HTTP status, the decoded JSON body (or None) and the body text: the vendor's
# reading of its own error answer, or None to fall back on a generic one.
ErrorParser = Callable[[int, Any, str], VendorError | None]


@dataclass
class HTTPResult:
    """A successful (2xx) answer: status, headers and the decoded JSON body (None if empty)."""

    status: int
    headers: Mapping[str, str]
    data: Any
    text: str = field(repr=False)


class _Failure(Exception):
    """An attempt that ended without an answer to act on; the loop decides on a retry."""

    def __init__(self, error: MDMError, *, sent: bool, retryable: bool = True) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent = sent
        self.retryable = retryable


Reader = Callable[[requests.Response, Deadline, dict[str, Any]], T]


class Transport:
    """One pooled ``requests.Session`` for one tenant, with every rule above applied."""

    def __init__(
        self,
        *,
        base_url: str,
        vendor: str,
        tenant: str,
        auth: Auth | tuple[str, str] | None = None,
        secrets: list[str] | tuple[str, ...] = (),
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
        self.redact = Redactor(secrets)
        self.auth = BasicAuth(*auth) if isinstance(auth, tuple) else (auth or Auth())
        self.auth.bind(self.redact.add)
        self._origin = _origin(self.base_url)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._session.headers["Accept"] = "application/json"
        # The environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...) is read once per
        # session for the tenant's host, not on every request: requests would re-read it,
        # and ~/.netrc, for each of a listing's hundreds of pages.
        self._session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self._session.verify = bundle
        self._session.trust_env = False
        adapter = DeadlineHTTPAdapter(
            pool_connections=1, pool_maxsize=max_concurrency, max_retries=0
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

    # the two public calls ----------------------------------------------------------------

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
        self._refuse_in_dry_run(method, url)
        data: bytes | None = None
        headers: dict[str, str] = {}
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self._call(method, url, params, data, headers, self._read_answer)

    def stream_array(
        self, path: str, *, params: Mapping[str, str | int] | None = None
    ) -> Iterator[Any]:
        """GET a JSON array and yield its items one by one.

        For vendors without paging (DuoSTATION answers a whole fleet in one body): the body
        is spooled to a temporary file at socket speed, then parsed item by item, so a
        200,000-device listing never exists in memory at once and the server never waits
        on our parser. A body cut off in transit is fetched again like any GET, since
        nothing was yielded yet.
        """
        url = self.base_url + path
        spool = self._call("GET", url, params, None, {}, self._spool)
        with spool:
            yield from self._items(spool, url)

    # the one retry loop ------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        data: bytes | None,
        headers: dict[str, str],
        reader: Reader[T],
    ) -> T:
        idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        refreshed = False
        with Deadline(self.timeouts.deadline) as deadline:
            while True:
                context = self._context(method, url)
                try:
                    with self._slots:
                        response, context = self._open(method, url, params, data, headers)
                        status = response.status_code
                        if status == 401 and not refreshed and self.auth.refresh():
                            refreshed = True
                            response.close()
                            continue
                        if (
                            status in RETRY_STATUSES
                            and idempotent
                            and attempt < self.retry.attempts
                        ):
                            wait = self.retry.wait_before(attempt + 1, status, response.headers)
                            if wait < deadline.remaining():
                                response.close()
                                attempt += 1
                                self._log_retry(method, context, f"HTTP {status}", attempt, wait)
                                time.sleep(wait)
                                continue
                        if 200 <= status < 300:
                            return reader(response, deadline, context)
                        raise self._error(response, context)
                except _Failure as failure:
                    if deadline.expired:
                        raise self._deadline_error(context) from None
                    may_retry = failure.retryable and (idempotent or not failure.sent)
                    if not may_retry or attempt >= self.retry.attempts:
                        raise failure.error from None
                    wait = self.retry.backoff(attempt + 1)
                    if wait >= deadline.remaining():
                        raise failure.error from None
                    attempt += 1
                    self._log_retry(method, context, failure.error.message, attempt, wait)
                    time.sleep(wait)
                except MDMError:
                    if deadline.expired:
                        raise self._deadline_error(context) from None
                    raise

    def _open(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        data: bytes | None,
        headers: dict[str, str],
    ) -> tuple[requests.Response, dict[str, Any]]:
        """One request, following same-origin redirects of reads; headers only (streamed)."""
        for _ in range(MAX_REDIRECTS + 1):
            context = self._context(method, url)
            started = time.monotonic()
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers={**headers, **self.auth.headers()},
                    timeout=(self.timeouts.connect, self.timeouts.read),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.exceptions.RequestException as exc:
                reason = describe(exc, self.redact)
                if reason == "timed out":
                    reason += f" (connect {self.timeouts.connect}s, read {self.timeouts.read}s)"
                raise _Failure(
                    TransportError(f"{method} {context['url']}: {reason}", **context),
                    sent=not never_sent(exc),
                    retryable=retry_can_help(exc),
                ) from None
            log.debug(
                "%s %s -> %s in %.3fs",
                method,
                context["url"],
                response.status_code,
                time.monotonic() - started,
            )
            if not response.is_redirect:
                return response, context
            location = urllib.parse.urljoin(url, response.headers.get("Location", ""))
            response.close()
            self._check_redirect(method, response.status_code, location, context)
            url, params = location, None
        raise MDMError(f"{method} {context['url']}: more than {MAX_REDIRECTS} redirects", **context)

    def _check_redirect(
        self, method: str, status: int, location: str, context: dict[str, Any]
    ) -> None:
        where = self.redact(location)
        if method not in IDEMPOTENT_METHODS:
            raise error_for_status(
                status,
                f"{method} {context['url']}: the server answered {status} with a redirect to "
                f"{where}; a redirected write is not followed (it may not have done what was "
                "asked), check base_url",
                **context,
            )
        if _origin(location) != self._origin:
            raise error_for_status(
                status,
                f"{method} {context['url']}: redirected to another origin ({where}); not "
                "followed, so the tenant's credentials are not sent there (check base_url)",
                **context,
            )

    # readers: what a 2xx answer becomes ----------------------------------------------------

    def _read_answer(
        self, response: requests.Response, deadline: Deadline, context: dict[str, Any]
    ) -> HTTPResult:
        body = self._read_body(response, MAX_BODY_BYTES, context)
        content_type = response.headers.get("Content-Type", "")
        try:
            data, text = decode_json(body, content_type)
        except BodyError as exc:
            raise self._not_json(response.status_code, body, content_type, exc, context) from None
        return HTTPResult(response.status_code, response.headers, data, text)

    def _spool(
        self, response: requests.Response, deadline: Deadline, context: dict[str, Any]
    ) -> IO[bytes]:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
        guard = DepthGuard()
        first = True
        try:
            for chunk in self._chunks(response, context):
                if first and chunk.startswith(UTF8_BOM):
                    chunk = chunk[len(UTF8_BOM) :]
                first = False
                guard.feed(chunk)
                spool.write(chunk)
                deadline.extend(len(chunk) / STREAM_BYTES_PER_SECOND)
        except BodyError as exc:
            spool.close()
            message = f"GET {context['url']}: the body is not usable JSON ({exc})"
            raise _Failure(
                MalformedResponse(message, **context), sent=True, retryable=False
            ) from None
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        self._check_array_start(spool, response, context)
        return spool

    def _check_array_start(
        self, spool: IO[bytes], response: requests.Response, context: dict[str, Any]
    ) -> None:
        head = spool.read(4096)
        if head.lstrip()[:1] == b"[":
            spool.seek(0)
            return
        body = head + spool.read(MAX_BODY_BYTES)
        spool.close()
        content_type = response.headers.get("Content-Type", "")
        try:
            data, text = decode_json(body, content_type)
        except BodyError as exc:
            raise self._not_json(response.status_code, body, content_type, exc, context) from None
        got = "an empty body" if data is None else type(data).__name__
        raise MalformedResponse(
            f"GET {context['url']}: expected a JSON array, got {got}",
            body=self.redact(text),
            **context,
        )

    def _items(self, spool: IO[bytes], url: str) -> Iterator[Any]:
        context = self._context("GET", url)
        try:
            yield from ijson.items(spool, "item", use_float=True)
        except (ijson.JSONError, ValueError, OverflowError, RecursionError) as exc:
            raise MalformedResponse(
                f"GET {context['url']}: the body is not valid JSON ({excerpt(str(exc), 80)})",
                **context,
            ) from None

    # reading bytes ---------------------------------------------------------------------------

    def _chunks(self, response: requests.Response, context: dict[str, Any]) -> Iterator[bytes]:
        """The body's bytes as they arrive; every way reading can fail is a ``_Failure``."""
        method, url = context["method"], context["url"]
        try:
            yield from response.raw.stream(CHUNK_BYTES, decode_content=True)
        except urllib3.exceptions.DecodeError:
            encoding = response.headers.get("Content-Encoding", "?")
            raise _Failure(
                MalformedResponse(
                    f"{method} {url}: the body claims Content-Encoding {encoding!r} "
                    "but cannot be decoded that way",
                    **context,
                ),
                sent=True,
                retryable=False,
            ) from None
        except urllib3.exceptions.ReadTimeoutError:
            raise _Failure(
                TransportError(
                    f"{method} {url}: timed out reading the body (read {self.timeouts.read}s)",
                    **context,
                ),
                sent=True,
            ) from None
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError):
            raise _Failure(
                MalformedResponse(f"{method} {url}: the response body was cut off", **context),
                sent=True,
            ) from None
        finally:
            response.close()

    def _read_body(self, response: requests.Response, limit: int, context: dict[str, Any]) -> bytes:
        body = bytearray()
        for chunk in self._chunks(response, context):
            body += chunk
            if len(body) > limit:
                response.close()
                raise _Failure(
                    MalformedResponse(
                        f"{context['method']} {context['url']}: the body is larger than "
                        f"{limit // (1024 * 1024)} MiB, refused",
                        **context,
                    ),
                    sent=True,
                    retryable=False,
                )
        return bytes(body)

    # errors ------------------------------------------------------------------------------------

    def _context(self, method: str, url: str) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "tenant": self.tenant,
            "method": method,
            "url": self.redact(url),
        }

    def _refuse_in_dry_run(self, method: str, url: str) -> None:
        if self.read_only and method not in IDEMPOTENT_METHODS:
            raise DryRunViolation(
                f"dry run: refused to send {method} {self.redact(url[len(self.base_url) :])}",
                **self._context(method, url),
            )

    def _deadline_error(self, context: dict[str, Any]) -> TransportError:
        return TransportError(
            f"{context['method']} {context['url']}: no complete answer within the "
            f"{self.timeouts.deadline:g} s request deadline (request_deadline_s)",
            **context,
        )

    def _log_retry(
        self, method: str, context: dict[str, Any], why: str, attempt: int, wait: float
    ) -> None:
        log.debug(
            "%s %s: %s, retry %d in %.2fs", method, context["url"], self.redact(why), attempt, wait
        )

    def _not_json(
        self,
        status: int,
        body: bytes,
        content_type: str,
        exc: BodyError,
        context: dict[str, Any],
    ) -> MalformedResponse:
        text = body_text(body, content_type, strict=False)
        kind = (
            "an HTML page"
            if looks_like_html(text, content_type.lower())
            else "a body that is not JSON"
        )
        return MalformedResponse(
            f"{context['method']} {context['url']}: HTTP {status} with {kind} ({exc}): "
            f"{excerpt(self.redact(text), 120)}",
            status=status,
            body=self.redact(text),
            **context,
        )

    def _error(self, response: requests.Response, context: dict[str, Any]) -> MDMError:
        """A non-2xx answer as the error class its status (or the vendor's body) means."""
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        try:
            body = self._read_body(response, MAX_ERROR_BODY_BYTES, context)
        except _Failure:
            body = b""  # the status says enough; a half-read error body adds nothing
        text = body_text(body, content_type, strict=False)
        data: Any = None
        if text.strip():
            try:
                DepthGuard().feed(body)
                data = parse_json(text)
            except BodyError:
                data = None
        vendor = self._error_parser(status, data, text) if self._error_parser is not None else None
        message = vendor.message if vendor is not None else None
        if not message:
            message = _generic_message(response, status, text, content_type.lower())
        return error_for_status(
            vendor.status if vendor is not None and vendor.status is not None else status,
            f"{context['method']} {context['url']}: {self.redact(message)}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            http_status=status,
            body=self.redact(text) if text else None,
            **context,
        )


def _generic_message(response: requests.Response, status: int, text: str, content_type: str) -> str:
    if looks_like_html(text, content_type):
        title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        page = title.group(1).strip() if title else "an HTML error page"
        return f"a proxy or gateway answered with an HTML page ({page!r})"
    return excerpt(text, 160) if text.strip() else (response.reason or f"HTTP {status}")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port
