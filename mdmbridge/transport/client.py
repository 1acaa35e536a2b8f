"""The only class that talks HTTP: one pool manager per tenant, and one retry loop.

Rules, each applied here once:

* **Retries** (:meth:`Transport._call`, the one loop): reads (GET/HEAD) are retried on
  connection errors, cut-off bodies, read timeouts, 429 and 5xx, with capped backoff and
  jitter, or the vendor's Retry-After when it gives one that parses. Writes and device
  commands are never re-sent once they may have reached the server (our vendors have no
  idempotency keys, and a wipe sent twice is not harmless): only a failure to connect is
  retried for them.
* **Deadline**: every call, all attempts and waits included, ends within the tenant's
  ``request_deadline_s`` (see ``transport.deadline``); a whole-fleet body earns one more
  second for every ``reading.STREAM_BYTES_PER_SECOND`` bytes that arrive, so an honest slow
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
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from urllib3 import BaseHTTPResponse, Timeout

from mdmbridge.errors import DryRunViolation, MDMError, TransportError, error_for_status
from mdmbridge.redaction import Redactor
from mdmbridge.transport.auth import Auth, BasicAuth
from mdmbridge.transport.deadline import Deadline
from mdmbridge.transport.policy import IDEMPOTENT_METHODS, RETRY_STATUSES, RetryPolicy, Timeouts
from mdmbridge.transport.pools import open_pools, request_headers, request_url
from mdmbridge.transport.reading import AnswerReader, Failure, HTTPResult
from mdmbridge.transport.reasons import describe, never_sent, retry_can_help
from mdmbridge.transport.rules import ResponseRules
from mdmbridge.transport.stats import RetryCounter, TransportStats

log = logging.getLogger("mdmbridge.transport")

USER_AGENT = "mdmbridge/0.1 (+urllib3)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
_RENEW = -1.0  # a step of the retry loop: renew the credentials, then try again
T = TypeVar("T")


Reader = Callable[[BaseHTTPResponse, Deadline, dict[str, Any]], T]


class Transport:
    """One urllib3 pool manager for one tenant (``transport.pools``: why not ``requests``,
    proxies and CA bundle from the environment), with every rule above applied."""

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
        rules: ResponseRules | None = None,
    ) -> None:
        """``rules`` say what success is and how errors read (see ``transport.rules``;
        ``ParserRules`` wraps a bare error parser)."""
        self.base_url = base_url.rstrip("/")
        self.vendor = vendor
        self.tenant = tenant
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.read_only = read_only
        self.redact = Redactor(secrets)
        self._reader = AnswerReader(self.redact, self.timeouts.read, rules or ResponseRules())
        self.auth = BasicAuth(*auth) if isinstance(auth, tuple) else (auth or Auth())
        self.auth.bind(self.redact.add)
        self.auth.bind_sender(self._send_token_request)
        self._origin = _origin(self.base_url)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._retries = RetryCounter()
        # The environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...) is read once per
        # transport for the tenant's host, not on every request.
        self._pools = open_pools(self.base_url, maxsize=max_concurrency)
        self._timeout = Timeout(connect=self.timeouts.connect, read=self.timeouts.read)

    def __repr__(self) -> str:
        return (
            f"Transport(vendor={self.vendor!r}, tenant={self.tenant!r}, "
            f"base_url={self.redact(self.base_url)!r}, read_only={self.read_only})"
        )

    def close(self) -> None:
        self._pools.clear()

    @property
    def stats(self) -> TransportStats:
        """The retries made so far and why (a snapshot; see ``transport.stats``)."""
        return self._retries.stats

    # the two public calls ----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTTPResult:
        """Send one request and return its decoded 2xx answer, or raise an ``MDMError``.

        ``path`` is appended to ``base_url``; an absolute URL (a vendor's next-page link) is
        accepted only on the tenant's own origin, so credentials never go anywhere else.
        ``headers`` are this request's own (Graph's ``ConsistencyLevel``, a request id);
        the authentication strategy's headers are added after them, and win.
        """
        method = method.upper()
        url = self._url(path)
        self._refuse_in_dry_run(method, url)
        data: bytes | None = None
        own = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            own["Content-Type"] = "application/json; charset=utf-8"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode("ascii")
            own["Content-Type"] = "application/x-www-form-urlencoded"
        return self._call(method, url, params, data, own, self._reader.answer)

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
        url = self._url(path)
        spool = self._call("GET", url, params, None, {}, self._reader.spool_array)
        with spool:
            for batch in self._reader.batches(spool, self._context("GET", url)):
                yield from batch

    # the one retry loop ------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        data: bytes | None,
        headers: dict[str, str],
        reader: Reader[T],
        *,
        send_auth: bool = True,
        idempotent: bool | None = None,
        any_status: bool = False,
    ) -> T:
        """The one retry loop. ``idempotent`` overrides the method's rule (a token request
        is a POST that may be repeated); ``any_status`` hands non-2xx answers to the reader
        once the retries are spent, instead of raising."""
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        refreshed = False
        status: int | None  # what the last answer said; None: no answer arrived
        with Deadline(self.timeouts.deadline) as deadline:
            while True:
                context = self._context(method, url)
                try:
                    # Credentials first, outside the slot: fetching a token is a request too.
                    sent = {**headers, **self.auth.headers()} if send_auth else headers
                    with self._slots:
                        response, context = self._open(method, url, params, data, sent)
                        step = self._next_step(
                            response,
                            context,
                            renew=send_auth and self.auth.renewable and not refreshed,
                            retry=idempotent and attempt < self.retry.attempts,
                            attempt=attempt,
                            deadline=deadline,
                            any_status=any_status,
                        )
                        if step is None:
                            return reader(response, deadline, context)
                except Failure as failure:
                    if deadline.expired:
                        raise self._deadline_error(context) from None
                    may_retry = failure.retryable and (idempotent or not failure.sent)
                    if not may_retry or attempt >= self.retry.attempts:
                        raise failure.error from None
                    step = self.retry.backoff(attempt + 1)
                    if step >= deadline.remaining():
                        raise failure.error from None
                    why, status = failure.error.message, None
                except MDMError as error:
                    if deadline.expired:
                        raise self._deadline_error(context) from None
                    self._ours(error)  # the strategy's own (a refused token) too
                    raise
                else:
                    why, status = f"HTTP {response.status}", response.status
                if step == _RENEW:
                    try:
                        refreshed = self.auth.refresh()  # outside the slot: it sends a request
                    except MDMError as error:
                        raise self._ours(error) from None
                    continue
                attempt += 1
                self._retries.retried(status)
                self._log_retry(method, context, why, attempt, step)
                time.sleep(step)

    def _next_step(
        self,
        response: BaseHTTPResponse,
        context: dict[str, Any],
        *,
        renew: bool,
        retry: bool,
        attempt: int,
        deadline: Deadline,
        any_status: bool,
    ) -> float | None:
        """What an answer's status means for the loop: None, read it; ``_RENEW``, renew
        the credentials and try again; a number, wait that long and try again. Raises the
        answer's error when it is final."""
        status = response.status
        if status == 401 and renew:
            response.close()
            return _RENEW
        if status in RETRY_STATUSES and retry:
            wait = self.retry.wait_before(attempt + 1, status, response.headers)
            if wait < deadline.remaining():
                response.close()
                return wait
        if 200 <= status < 300 or any_status:
            return None
        raise self._reader.error(response, context)

    def _open(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        data: bytes | None,
        headers: dict[str, str],
    ) -> tuple[BaseHTTPResponse, dict[str, Any]]:
        """One request, following same-origin redirects of reads; headers only (streamed)."""
        for _ in range(MAX_REDIRECTS + 1):
            context = self._context(method, url)
            started = time.monotonic()
            try:
                response = self._pools.urlopen(
                    method,
                    request_url(url, params),
                    body=data,
                    headers=request_headers(method, data, headers, USER_AGENT),
                    timeout=self._timeout,
                    redirect=False,
                    preload_content=False,
                    decode_content=True,
                )
            except Exception as exc:  # the boundary: nothing raw may escape
                # Not only urllib3's HTTPError: http.client raises its own on bad headers,
                # and a header value it refuses is a ValueError.
                reason = describe(exc, self.redact)
                if reason == "timed out":
                    reason += f" (connect {self.timeouts.connect}s, read {self.timeouts.read}s)"
                raise Failure(
                    TransportError(f"{method} {context['url']}: {reason}", **context),
                    sent=not never_sent(exc),
                    retryable=retry_can_help(exc),
                ) from None
            log.debug(
                "%s %s -> %s in %.3fs",
                method,
                context["url"],
                response.status,
                time.monotonic() - started,
            )
            if response.status not in REDIRECT_STATUSES or "Location" not in response.headers:
                return response, context
            location = urllib.parse.urljoin(url, response.headers["Location"])
            response.close()
            self._check_redirect(method, response.status, location, context)
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

    # errors ------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if not path.lower().startswith(("http://", "https://")):
            return self.base_url + path
        if _origin(path) != self._origin:
            raise MDMError(
                f"refused to send a request to {self.redact(path)}: not the tenant's origin "
                f"({self.redact(self.base_url)}), so its credentials are not sent there",
                vendor=self.vendor,
                tenant=self.tenant,
            )
        return path

    def _send_token_request(self, url: str, form: Mapping[str, str]) -> tuple[int, Any]:
        """For authentication strategies: POST a form to a token endpoint, retried like a
        read (a token request changes nothing), answered even when it is an error, and
        allowed in dry-run mode (it writes nothing on the tenant)."""
        data = urllib.parse.urlencode(form).encode("utf-8")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self._call(
            "POST",
            url,
            None,
            data,
            headers,
            self._reader.status_and_json,
            send_auth=False,
            idempotent=True,
            any_status=True,
        )

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

    def _ours(self, error: MDMError) -> MDMError:
        """An error raised without this tenant's name (an authentication strategy's: a
        token endpoint's refusal) gets it, so it reads ``[vendor:tenant] ...`` like any."""
        if error.vendor is None:
            error.vendor = self.vendor
        if error.tenant is None:
            error.tenant = self.tenant
        return error

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


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port
