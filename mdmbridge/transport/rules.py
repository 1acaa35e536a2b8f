"""One place per vendor that says what success is and how an error reads.

libcloud's ``Response.success()``/``parse_error()`` shape: the transport reads every
answer, then asks the vendor's :class:`ResponseRules` two questions. For a 2xx answer, is
it really a success (ezmdm answers HTTP 200 with ``{"success": false, "error": ...}``)? For
any failure, what does the vendor's body say (its message, and the status whose error
class fits when the body knows better than the HTTP status)? The error itself is then
built once, by the transport, with ``error_for_status`` and the request's context, so a
vendor has one error path whatever status its answer came with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_REQUEST_ID_HEADERS = ("request-id", "x-request-id", "x-ms-request-id", "x-correlation-id")


@dataclass(frozen=True)
class VendorError:
    """What a vendor's answer says went wrong.

    ``status`` picks the error class when the body knows better than the HTTP status
    (None: trust the HTTP status); ``malformed`` means the answer is not even in the
    vendor's own shape (``MalformedResponse``); ``request_id`` is what the vendor's
    support asks for.
    """

    message: str | None
    status: int | None = None
    malformed: bool = False
    request_id: str | None = None


# Given the HTTP status, the decoded JSON body (or None) and the body text: the vendor's
# reading of its own error answer, or None to fall back on a generic one.
ErrorParser = Callable[[int, Any, str], VendorError | None]


class ResponseRules:
    """The defaults: every 2xx is a success; an error body means nothing special."""

    def failure(self, status: int, data: Any, text: str) -> VendorError | None:
        """For a 2xx answer: None when it is a success, else what went wrong."""
        return None

    def parse_error(self, status: int, data: Any, text: str) -> VendorError | None:
        """For a non-2xx answer: the vendor's reading of it, or None for a generic one."""
        return None

    def request_id(self, headers: Mapping[str, str], data: Any) -> str | None:
        """The id the vendor gave this request, for support tickets (headers by default)."""
        for name in _REQUEST_ID_HEADERS:
            value = headers.get(name)
            if value:
                return value[:100]
        return None


class ParserRules(ResponseRules):
    """Rules from a bare error parser: for vendors whose 2xx answers are always successes."""

    def __init__(self, parser: ErrorParser) -> None:
        self._parser = parser

    def parse_error(self, status: int, data: Any, text: str) -> VendorError | None:
        return self._parser(status, data, text)
