"""The one error tree of mdmbridge.

Every failure a caller can see is an ``MDMError``: the transport converts every ``requests``
exception and every non-success response into one of these, in one function
(:func:`error_for_status`), so callers catch one family and the CLI turns it into a one-line
message and an exit code in one place.

``str(error)`` is the human line; ``repr(error)`` is the structured form. Neither ever holds
a secret: messages and body excerpts pass through the transport's redactor before an error
is built.
"""

from __future__ import annotations

BODY_EXCERPT_CHARS = 200


class MDMError(Exception):
    """Base of every mdmbridge error: message plus where it came from."""

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        tenant: str | None = None,
        status: int | None = None,
        body: str | None = None,
        method: str | None = None,
        url: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.tenant = tenant
        self.status = status
        self.body = excerpt(body) if body else None
        self.method = method
        self.url = url
        self.request_id = request_id  # the vendor's id for this request, for its support desk

    def __str__(self) -> str:
        where = ":".join(p for p in (self.vendor, self.tenant) if p)
        prefix = f"[{where}] " if where else ""
        suffix = f" (HTTP {self.status})" if self.status else ""
        return f"{prefix}{self.message}{suffix}"

    def __repr__(self) -> str:
        fields = {
            "message": self.message,
            "vendor": self.vendor,
            "tenant": self.tenant,
            "status": self.status,
            "method": self.method,
            "url": self.url,
            "request_id": self.request_id,
        }
        shown = ", ".join(f"{k}={v!r}" for k, v in fields.items() if v is not None)
        return f"{type(self).__name__}({shown})"


class AuthError(MDMError):
    """Credentials were refused (HTTP 401, or the vendor's 'invalid key')."""


class PermissionDenied(MDMError):
    """Credentials are valid but not allowed to do this (HTTP 403)."""


class NotFound(MDMError):
    """The record does not exist (HTTP 404 or the vendor's 'not found')."""


class Conflict(MDMError):
    """The vendor refused because of the state of other records (HTTP 409): a group with
    subgroups, a user with devices, an ambiguous path lookup."""


class ValidationError(MDMError):
    """Input is invalid. Raised locally, before any request, when we can tell; or mapped
    from the vendor's 400/422 when only the vendor could."""


class RateLimited(MDMError):
    """HTTP 429 after retries ran out; ``retry_after`` is in seconds when the vendor said."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, **context: object
    ) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.retry_after = retry_after


class VendorServerError(MDMError):
    """The vendor (or a proxy in front of it) failed: 5xx, or an HTML error page."""


class TransportError(MDMError):
    """The request did not complete: connection refused or dropped, timeout, TLS."""


class MalformedResponse(MDMError):
    """The vendor answered 2xx with something we cannot read: not JSON, truncated, wrong shape."""


class IncompleteListing(MalformedResponse):
    """A paged listing did not add up: a page came back short, or the total changed under us.
    Raised instead of passing a short list off as complete."""


class UnsupportedOperation(MDMError):
    """The adapter does not support this operation; raised locally, with no request sent."""


class ConfigError(MDMError):
    """The tenants file or connection settings are wrong; names the tenant and the key."""


class DryRunViolation(MDMError):
    """A write was attempted through a read-only (dry-run) transport; nothing was sent."""


def excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """A short, single-line excerpt of a body, for messages about malformed answers."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_STATUS_CLASSES: dict[int, type[MDMError]] = {
    400: ValidationError,
    401: AuthError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationError,
    429: RateLimited,
}


def error_for_status(
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    http_status: int | None = None,
    **context: object,
) -> MDMError:
    """The one mapping from an HTTP status to the error tree.

    ``status`` chooses the class; ``http_status`` (default: the same) is what the error
    records, for vendors whose answer says more than its status (ezmdm's "Invalid API
    Key" arrives with 200)."""
    recorded = status if http_status is None else http_status
    if status == 429:
        return RateLimited(message, retry_after=retry_after, status=recorded, **context)
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = VendorServerError if status >= 500 else MDMError
    return cls(message, status=recorded, **context)  # type: ignore[arg-type]
