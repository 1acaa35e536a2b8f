"""ezmdm on the wire: the key in the path, envelopes, paging, form bodies, error texts.

Knows HTTP and the vendor's page; knows nothing of core models (that is mapping.py).
Decisions where the page is silent are marked [decision] or [assumption] and live here once.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from pydantic import Field, SecretStr, field_validator

from mdmbridge.adapter import AdapterSettings
from mdmbridge.errors import MalformedResponse, ValidationError
from mdmbridge.mapping import describe
from mdmbridge.transport import ResponseRules, VendorError

VENDOR = "ezmdm"
DEFAULT_BASE_URL = "https://www.ezmdm.com"
MAX_PAGE_SIZE = 100  # the vendor's documented maximum


class EzmdmSettings(AdapterSettings):
    """``api_key`` is the whole credential; it travels in the URL path, so it is redacted
    from every URL, message and log line (see mdmbridge.redaction)."""

    api_key: SecretStr
    base_url: str = DEFAULT_BASE_URL
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    page_concurrency: int = Field(default=8, ge=1, le=32)

    @field_validator("api_key")
    @classmethod
    def _key_shape(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if len(key) < 4 or not re.fullmatch(r"[A-Za-z0-9._~-]+", key):
            raise ValueError(
                "must be the key from the ezmdm account menu (letters, digits, . _ ~ -)"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _site_url(cls, value: str) -> str:
        parts = urllib.parse.urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://www.ezmdm.com")
        path = parts.path.rstrip("/")
        if path.lower().endswith("/api/v1"):
            path = path[: -len("/api/v1")]
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


ITEMS = frozenset({"group", "user", "device", "devicelocation"})


def check_id(value: str, what: str) -> str:
    """Ids are opaque strings; refuse what could not be one (or could change the URL)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", value):
        raise ValidationError(f"{what} is not an ezmdm id: {value!r}", vendor=VENDOR)
    return value


def item_path(api_key: str, item: str, item_id: str | None = None) -> str:
    """/api/v1/<key>/<item>[/<id>]. [decision] item names are always sent lowercase."""
    assert item in ITEMS, item
    segments = ["api", "v1", api_key, item] + ([item_id] if item_id is not None else [])
    return "/" + "/".join(urllib.parse.quote(s, safe="") for s in segments)


# Error texts -> the HTTP status they mean, so one function (errors.error_for_status) maps both.
_ERROR_TEXTS: tuple[tuple[str, int], ...] = (
    ("invalid api key", 401),
    ("not found", 404),
    ("missing required field", 400),
    ("invalid value", 400),
    ("unknown field", 400),
    ("unsupported content type", 400),
    ("an identifier is required", 400),
    ("unknown item", 400),
    ("method not allowed", 405),
)


class EzmdmRules(ResponseRules):
    """ezmdm's envelope decides, not the HTTP status: ``{"success": false, "error": ...}``
    arrives with 200 as often as not. The error text, when it is one we know, picks the
    error class for 2xx and non-2xx answers alike; the HTTP status that was sent is what
    the error records."""

    def failure(self, status: int, data: Any, text: str) -> VendorError | None:
        if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
            got = "an empty body" if data is None else type(data).__name__
            return VendorError(
                f"expected the ezmdm envelope {{success, data, ...}}, got {got}", malformed=True
            )
        if data["success"]:
            return None
        message = str(data.get("error") or "")
        code = _status_for(message) or (400 if message.strip() else 502)
        return VendorError(message or "the vendor reported a failure without a reason", code)

    def parse_error(self, status: int, data: Any, text: str) -> VendorError | None:
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            message = str(data["error"])
            return VendorError(message, _status_for(message))
        return None


RULES = EzmdmRules()


def _status_for(text: str) -> int | None:
    lowered = text.lower()
    return next((code for needle, code in _ERROR_TEXTS if needle in lowered), None)


MAX_TOTAL = 2**63 - 1


def page_total(envelope: dict[str, Any], context: dict[str, Any]) -> int:
    """The list answer's ``total``: a JSON integer, or [decision] its text in ASCII
    digits (``"12"``; not fullwidth or other Unicode digits, which ``str.isdigit`` accepts
    too). A boolean, a float (even ``12.0``, infinity or NaN), a negative or a total
    beyond 64 bits is not a usable total."""
    total = envelope.get("total")
    value: int | None = None
    if isinstance(total, int) and not isinstance(total, bool):
        value = total
    elif isinstance(total, str) and total.isascii() and total.isdigit() and len(total) <= 19:
        value = int(total)
    if value is None or not 0 <= value <= MAX_TOTAL:
        raise MalformedResponse(
            f"a list answer without a usable total ({describe(total)})", **context
        )
    return value


def push_notification_form() -> dict[str, str]:
    """[assumption] The page says devices can be sent push notifications, but its endpoint
    list is lost. We send ``POST /device/<id>`` with ``push=1``: an update of the device
    that triggers a push. Isolated here so the real call replaces one function."""
    return {"push": "1"}
