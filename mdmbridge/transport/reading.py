"""What an answer's bytes become: an ``HTTPResult``, a spooled array, or an ``MDMError``.

The transport's loop decides what to send and when to try again; this module only reads.
Every way reading can fail is a :class:`Failure` (the loop may retry it) or an ``MDMError``
(final), never a raw ``urllib3``/``http.client`` exception.
"""

from __future__ import annotations

import http.client
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import urllib3.exceptions
from urllib3 import BaseHTTPResponse as Response

from mdmbridge.errors import (
    MalformedResponse,
    MDMError,
    TransportError,
    error_for_status,
    excerpt,
)
from mdmbridge.transport.array_items import array_batches
from mdmbridge.transport.body import (
    UTF8_BOM,
    BodyError,
    DepthGuard,
    body_text,
    decode_json,
    parse_json,
)
from mdmbridge.transport.deadline import Deadline
from mdmbridge.transport.policy import parse_retry_after
from mdmbridge.transport.reasons import looks_like_html
from mdmbridge.transport.rules import ResponseRules, VendorError
from mdmbridge.transport.wire import WireStream

CHUNK_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024  # an answer held in memory; whole-fleet arrays are spooled
MAX_ERROR_BODY_BYTES = 1024 * 1024  # an error answer is read only for its message
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
STREAM_BYTES_PER_SECOND = 256 * 1024  # a whole-fleet body's deadline grows by 1 s per 256 KiB
# JSON compresses 5-20 times; a body that inflates 200 times past its first 8 MiB is a
# bomb (whitespace or repeats), refused before it costs memory, disk or time.
MAX_INFLATION = 200
INFLATION_CHECK_BYTES = 8 * 1024 * 1024
MAX_SPOOL_BYTES = 8 * 1024 * 1024 * 1024  # a whole-fleet array on disk: ~10 M devices


@dataclass
class HTTPResult:
    """A successful (2xx) answer: status, headers and the decoded JSON body (None if empty)."""

    status: int
    headers: Mapping[str, str]
    data: Any
    text: str = field(repr=False)


class Failure(Exception):
    """An attempt that ended without an answer to act on; the loop decides on a retry."""

    def __init__(self, error: MDMError, *, sent: bool, retryable: bool = True) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent = sent
        self.retryable = retryable


class AnswerReader:
    """Reads answers for one transport: its redactor, read timeout and vendor error parser."""

    def __init__(
        self,
        redact: Callable[[str], str],
        read_timeout: float,
        rules: ResponseRules,
    ) -> None:
        self.redact = redact
        self.read_timeout = read_timeout
        self.rules = rules

    # readers: what a 2xx answer becomes ----------------------------------------------------

    def answer(self, response: Response, deadline: Deadline, context: dict[str, Any]) -> HTTPResult:
        body = self.read_body(response, MAX_BODY_BYTES, context)
        content_type = response.headers.get("Content-Type", "")
        try:
            data, text = decode_json(body, content_type)
        except BodyError as exc:
            raise self.not_json(response.status, body, content_type, exc, context) from None
        failure = self.rules.failure(response.status, data, text)
        if failure is not None:
            raise self.vendor_error(failure, response, data, text, context)
        return HTTPResult(response.status, response.headers, data, text)

    def status_and_json(
        self, response: Response, deadline: Deadline, context: dict[str, Any]
    ) -> tuple[int, Any]:
        """Any answer as (status, JSON or None): for callers that read errors themselves."""
        body = self.read_body(response, MAX_ERROR_BODY_BYTES, context)
        try:
            data, _ = decode_json(body, response.headers.get("Content-Type", ""))
        except BodyError:
            data = None
        return response.status, data

    def spool_array(
        self, response: Response, deadline: Deadline, context: dict[str, Any]
    ) -> IO[bytes]:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
        guard = DepthGuard()
        first = True
        written = earned = 0
        stream = WireStream(response, CHUNK_BYTES)
        try:
            for chunk in self.chunks(response, context, stream):
                if first and chunk.startswith(UTF8_BOM):
                    chunk = chunk[len(UTF8_BOM) :]
                first = False
                guard.feed(chunk)
                spool.write(chunk)
                written += len(chunk)
                if written > MAX_SPOOL_BYTES:
                    raise BodyError(f"larger than {MAX_SPOOL_BYTES // 1024**3} GiB")
                # Time is earned by bytes received, not decoded: a gzip bomb earns nothing.
                wire = stream.wire
                deadline.extend((wire - earned) / STREAM_BYTES_PER_SECOND)
                earned = wire
        except BodyError as exc:
            spool.close()
            message = f"GET {context['url']}: the body is not usable JSON ({exc})"
            raise Failure(
                MalformedResponse(message, **context), sent=True, retryable=False
            ) from None
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        self._check_array_start(spool, response, context)
        return spool

    def _check_array_start(
        self, spool: IO[bytes], response: Response, context: dict[str, Any]
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
            raise self.not_json(response.status, body, content_type, exc, context) from None
        got = "an empty body" if data is None else type(data).__name__
        raise MalformedResponse(
            f"GET {context['url']}: expected a JSON array, got {got}",
            body=self.redact(text),
            **context,
        )

    def batches(self, spool: IO[bytes], context: dict[str, Any]) -> Iterator[list[Any]]:
        """The spooled array's items, a chunk's worth at a time (``array_batches``)."""
        try:
            yield from array_batches(spool)
        except BodyError as exc:
            raise MalformedResponse(
                f"GET {context['url']}: the body is not valid JSON "
                f"({excerpt(self.redact(str(exc)), 80)})",
                **context,
            ) from None

    # reading bytes ---------------------------------------------------------------------------

    def chunks(
        self, response: Response, context: dict[str, Any], stream: WireStream | None = None
    ) -> Iterator[bytes]:
        """The body's bytes as they arrive; every way reading can fail is a ``Failure``.
        ``stream`` (made by the caller when it needs the wire count too) counts bytes
        received; the bomb rule applies only to an encoded body (identity cannot inflate)."""
        method, url = context["method"], context["url"]
        stream = WireStream(response, CHUNK_BYTES) if stream is None else stream
        decoded = 0
        try:
            for chunk in stream:
                decoded += len(chunk)
                if decoded > INFLATION_CHECK_BYTES and stream.encoded:
                    wire = max(stream.wire, 1)  # bytes as received, undecoded
                    if decoded > MAX_INFLATION * wire:
                        raise Failure(
                            MalformedResponse(
                                f"{method} {url}: the body inflates more than {MAX_INFLATION}"
                                f" times when decoded ({wire} bytes received), refused as a "
                                "decompression bomb",
                                **context,
                            ),
                            sent=True,
                            retryable=False,
                        )
                yield chunk
        except urllib3.exceptions.DecodeError:
            encoding = response.headers.get("Content-Encoding", "?")
            raise Failure(
                MalformedResponse(
                    f"{method} {url}: the body claims Content-Encoding {encoding!r} "
                    "but cannot be decoded that way",
                    **context,
                ),
                sent=True,
                retryable=False,
            ) from None
        except urllib3.exceptions.ReadTimeoutError:
            raise Failure(
                TransportError(
                    f"{method} {url}: timed out reading the body (read {self.read_timeout}s)",
                    **context,
                ),
                sent=True,
            ) from None
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError):
            raise Failure(
                MalformedResponse(f"{method} {url}: the response body was cut off", **context),
                sent=True,
            ) from None
        finally:
            response.close()

    def read_body(self, response: Response, limit: int, context: dict[str, Any]) -> bytes:
        body = bytearray()
        for chunk in self.chunks(response, context):
            body += chunk
            if len(body) > limit:
                response.close()
                raise Failure(
                    MalformedResponse(
                        f"{context['method']} {context['url']}: the body is larger than "
                        f"{limit // (1024 * 1024)} MiB, refused",
                        **context,
                    ),
                    sent=True,
                    retryable=False,
                )
        return bytes(body)

    def not_json(
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

    def error(self, response: Response, context: dict[str, Any]) -> MDMError:
        """A non-2xx answer as the error class its status (or the vendor's body) means."""
        status = response.status
        content_type = response.headers.get("Content-Type", "")
        try:
            body = self.read_body(response, MAX_ERROR_BODY_BYTES, context)
        except Failure:
            body = b""  # the status says enough; a half-read error body adds nothing
        text = body_text(body, content_type, strict=False)
        data: Any = None
        if text.strip():
            try:
                DepthGuard().feed(body)
                data = parse_json(text)
            except BodyError:
                data = None
        vendor = self.rules.parse_error(status, data, text) or VendorError(None)
        if not vendor.message:
            # Redacted before it is cut to an excerpt: a cut could split a secret in two.
            message = generic_message(response, status, self.redact(text), content_type.lower())
            vendor = VendorError(message, vendor.status, vendor.malformed, vendor.request_id)
        return self.vendor_error(vendor, response, data, text, context)

    def vendor_error(
        self,
        vendor: VendorError,
        response: Response,
        data: Any,
        text: str,
        context: dict[str, Any],
    ) -> MDMError:
        """The one place an answer's failure becomes an error, whatever its HTTP status."""
        status = response.status
        said = " ".join(self.redact(vendor.message or "").split())  # one line, whatever it held
        message = f"{context['method']} {context['url']}: {said}"
        request_id = vendor.request_id or self.rules.request_id(response.headers, data)
        body = self.redact(text) if text else None
        if vendor.malformed:
            return MalformedResponse(
                message, status=status, body=body, request_id=request_id, **context
            )
        chosen = vendor.status if vendor.status is not None else status
        if 200 <= chosen < 300:  # the body says "failed" but names no kind: the vendor's fault
            chosen = 502
        return error_for_status(
            chosen,
            message,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            http_status=status,
            body=body,
            request_id=request_id,
            **context,
        )


def generic_message(response: Response, status: int, text: str, content_type: str) -> str:
    if looks_like_html(text, content_type):
        title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        page = title.group(1).strip() if title else "an HTML error page"
        return f"a proxy or gateway answered with an HTML page ({page!r})"
    return excerpt(text, 160) if text.strip() else (response.reason or f"HTTP {status}")
