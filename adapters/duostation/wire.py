"""DuoSTATION on the wire: settings, endpoints, id forms, bodies, error texts, validation.

Knows HTTP and the vendor's document; knows nothing of core models (that is mapping.py).
Every place where the document is silent or contradicts itself is marked [decision] and
lives here once, so it can be corrected when the vendor answers differently.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr, field_validator

from mdmbridge.adapter import AdapterSettings
from mdmbridge.errors import MalformedResponse, ValidationError
from mdmbridge.models import AppStore, CommandKind, Platform
from mdmbridge.transport import VendorError
from mdmbridge.writes import AppUpsert

from .mapping import PLATFORM_CODES, STORE_CODES

VENDOR = "duostation"


class DuoStationSettings(AdapterSettings):
    """``base_url`` is the site (``https://mdm.acme.example``); the MDM login authenticates."""

    base_url: str
    username: str = Field(min_length=1)
    password: SecretStr = Field(min_length=4)  # shorter could not be redacted from text safely

    @field_validator("base_url")
    @classmethod
    def _site_url(cls, value: str) -> str:
        parts = urllib.parse.urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://mdm.example.com")
        path = parts.path.rstrip("/")
        # [decision] Users paste the API root as often as the site: accept both.
        if path.lower().endswith("/api"):
            path = path[: -len("/api")]
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    @field_validator("password")
    @classmethod
    def _password_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value


# Device command endpoints: POST /api/devices/<guid>/<endpoint>.
COMMAND_ENDPOINTS: dict[CommandKind, str] = {
    CommandKind.REFRESH: "inventorydevice",
    CommandKind.INSTALL_APP: "installapp",
    CommandKind.REMOVE_APP: "removeapp",
    CommandKind.LOCK: "lockdevice",
    CommandKind.WIPE: "wipedevice",
    CommandKind.CLEAR_PASSCODE: "clearpasscode",
    CommandKind.SEND_MESSAGE: "sendmessage",
}


def path(*segments: str | int) -> str:
    """/api/<segments>, each URL-encoded (the document asks for encoded text)."""
    return "/api/" + "/".join(urllib.parse.quote(str(s), safe="") for s in segments)


# ASCII digits only: Python's \d and int() also take fullwidth ('\uff11\uff12') and
# Arabic-Indic ('\u0661\u0662') digits as 12, so such an id would name another record.
_INT_ID = re.compile(r"[0-9]{1,18}")
# The GUID forms accepted (canonical, without hyphens, in braces), ASCII hex only: uuid.UUID
# alone would also take non-ASCII digits, underscores and hyphens anywhere.
_GUID = re.compile(
    r"\{?[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}\}?"
)


def int_id(value: str, what: str, *, allow_zero: bool = False) -> int:
    """Groups, users, tags, links and apps have integer ids; refuse anything else locally."""
    text = value.strip()
    if not _INT_ID.fullmatch(text):
        raise ValidationError(
            f"{what} must be an integer (ASCII digits) for DuoSTATION, got {value!r}",
            vendor=VENDOR,
        )
    number = int(text)
    if number == 0 and not allow_zero:
        raise ValidationError(f"{what} must be a positive integer, got {value!r}", vendor=VENDOR)
    return number


def device_guid(value: str) -> str:
    """Devices have GUID ids; refuse anything else locally, send the canonical lowercase form."""
    text = value.strip()
    if not _GUID.fullmatch(text) or text.startswith("{") != text.endswith("}"):
        raise ValidationError(
            f"device id must be a GUID for DuoSTATION, got {value!r}", vendor=VENDOR
        )
    return str(uuid.UUID(text))


def error_parser(status: int, data: Any, text: str) -> VendorError | None:
    """[decision] ASP.NET style: the body's ``Message``/``message``, else the transport's text;
    the HTTP status decides the error class."""
    message = _message(data)
    return None if message is None else VendorError(message)


def _message(data: Any) -> str | None:
    if isinstance(data, dict):
        lowered = {str(k).lower(): v for k, v in data.items()}
        for key in ("message", "exceptionmessage", "error", "title"):
            value = lowered.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    if isinstance(data, str) and data.strip():
        return data.strip()
    return None


def new_id(data: Any, what: str) -> str:
    """[decision] "Returns the id": a bare number or string, or an object with ``Id``/``id``."""
    if isinstance(data, dict):
        lowered = {str(k).lower(): v for k, v in data.items()}
        data = lowered.get("id")
    if isinstance(data, bool) or data is None:
        raise MalformedResponse(f"creating a {what}: the answer held no id", vendor=VENDOR)
    if isinstance(data, (int, str)) and str(data).strip():
        return str(data).strip()
    raise MalformedResponse(f"creating a {what}: unexpected id {data!r}", vendor=VENDOR)


def check_lost_mode(values: dict[str, Any]) -> None:
    """The document: all 'lost mode' parameters must have a value, or none of them."""
    fields = ("lost_mode_message", "lost_mode_phone_number", "lost_mode_footnote")
    given = [bool((values.get(name) or "").strip()) for name in fields]
    if any(given) and not all(given):
        missing = [name for name, ok in zip(fields, given, strict=True) if not ok]
        raise ValidationError(
            "lost-mode fields must be set all together or not at all; "
            f"missing {', '.join(missing)}",
            vendor=VENDOR,
        )


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _enum_code(value: Platform | AppStore, codes: Mapping[Any, int], what: str) -> int:
    if value not in codes:
        allowed = ", ".join(m.value for m in codes)
        raise ValidationError(
            f"app {what} must be one of {allowed}, got {value.value!r}", vendor=VENDOR
        )
    return codes[value]


def app_body(values: AppUpsert) -> dict[str, Any]:
    """Check an app against the document's rules and return it with vendor enum codes.

    Core has checked the rest: every required field present and not blank, the platform
    and store known members, size and version_number integers (size not negative)."""
    out: dict[str, Any] = dict(values)
    out["platform"] = platform_code = _enum_code(values["platform"], PLATFORM_CODES, "platform")
    out["store"] = store_code = _enum_code(values["store"], STORE_CODES, "store")
    has_data, has_url = values.get("image_data") is not None, values.get("image_url") is not None
    if has_data == has_url:
        raise ValidationError("app needs exactly one of image_data or image_url", vendor=VENDOR)
    if has_data:
        try:
            png = base64.b64decode(str(values["image_data"]), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("app image_data must be base64", vendor=VENDOR) from None
        if not png.startswith(_PNG_MAGIC):
            raise ValidationError(
                "app image_data must be a base64-encoded PNG image", vendor=VENDOR
            )
    elif not _is_http_url(str(values["image_url"])):
        raise ValidationError("app image_url must be an http(s) URL", vendor=VENDOR)
    store_id, package_id = str(values["store_id"]), str(values["package_id"])
    if store_code == 0 and not re.fullmatch(r"[0-9]+", store_id):
        raise ValidationError(
            f"app store_id must be the numeric App Store id, got {store_id!r}", vendor=VENDOR
        )
    if store_code == 1 and store_id != package_id:
        raise ValidationError(
            "app store_id must equal package_id for Play store apps", vendor=VENDOR
        )
    if store_code == 2 and platform_code == 2:
        suffix_ok = urllib.parse.urlsplit(store_id).path.lower().endswith((".pkg", ".zip"))
        if not (_is_http_url(store_id) and suffix_ok):
            raise ValidationError(
                "app store_id must be an http(s) URL of a .pkg or .zip file "
                "for in-house macOS apps",
                vendor=VENDOR,
            )
    return out


def _is_http_url(value: str) -> bool:
    parts = urllib.parse.urlsplit(value.strip())
    return parts.scheme in {"http", "https"} and bool(parts.hostname)
