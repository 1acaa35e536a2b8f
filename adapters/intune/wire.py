"""Microsoft Graph v1.0 on the wire: settings, the token endpoint, GUIDs, OData query
strings, Graph's error body, next links.

Knows HTTP and Graph's rules; knows nothing of core models (that is mapping.py). The
contract, with every source page, is ``docs/intune-contract.md``; decisions taken there are
marked [decision] here and live here once.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import unicodedata
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, SecretStr, field_validator

from mdmbridge.adapter import AdapterSettings
from mdmbridge.errors import MalformedResponse, ValidationError
from mdmbridge.mapping import describe
from mdmbridge.transport import ResponseRules, VendorError

VENDOR = "intune"
DEFAULT_AUTHORITY_URL = "https://login.microsoftonline.com"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
DIRECTORY_TOP = 999  # users, groups, members: "$top 1 to 999"
# [decision] 4 requests at once: a fleet-wide command run would pass Intune's 200 writes
# per 20 s per app at 8 (docs/intune-contract.md, "Throttling").
DEFAULT_MAX_CONCURRENCY = 4

_GUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DOMAIN = re.compile(r"(?=.{3,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
# AADSTS9001023: the client-credentials grant is not supported on these.
_MULTI_TENANT = frozenset({"common", "organizations", "consumers"})
UPN_LOCAL = re.compile(r"[A-Za-z0-9'.\-_!#^~]{1,64}")
_UPN_DROP = re.compile(r"[^A-Za-z0-9'.\-_!#^~]")
_NICKNAME_BAD = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+")


def guid(value: str, what: str) -> str:
    """A GUID in canonical lowercase form, or a ``ValidationError`` before any request
    ([decision] everything is addressed by GUID, so nothing can reach a path but hex)."""
    text = value.strip()
    if not _GUID_TEXT.fullmatch(text):
        raise ValidationError(f"{what} is not a GUID: {describe(value)}", vendor=VENDOR)
    return str(uuid.UUID(text))


def _url_setting(value: str, example: str) -> str:
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"must be an http(s) URL such as {example}")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class IntuneSettings(AdapterSettings):
    """An Entra app registration with Graph application permissions (see the contract's
    "Permissions"). ``client_secret`` is the secret's *value*; it is sent to the token
    endpoint only, and redacted everywhere."""

    tenant_id: str
    client_id: str
    client_secret: SecretStr
    authority_url: str = DEFAULT_AUTHORITY_URL
    graph_url: str = DEFAULT_GRAPH_URL
    # The domain of sign-in names derived from e-mail addresses by users.create (no
    # default: guessing the tenant's domain would create names under the wrong one).
    user_domain: str | None = None
    max_concurrency: int = Field(default=DEFAULT_MAX_CONCURRENCY, ge=1, le=256)

    @field_validator("tenant_id")
    @classmethod
    def _tenant(cls, value: str) -> str:
        text = value.strip()
        if _GUID_TEXT.fullmatch(text):
            return str(uuid.UUID(text))
        if text.lower() in _MULTI_TENANT:
            raise ValueError(
                "must be the directory's own tenant (GUID or domain); 'common', "
                "'organizations' and 'consumers' cannot use the client-credentials grant"
            )
        if not _DOMAIN.fullmatch(text):
            raise ValueError("must be a tenant GUID or a domain such as contoso.onmicrosoft.com")
        return text.lower()

    @field_validator("client_id")
    @classmethod
    def _client(cls, value: str) -> str:
        text = value.strip()
        if not _GUID_TEXT.fullmatch(text):
            raise ValueError("must be the app registration's application (client) id, a GUID")
        return str(uuid.UUID(text))

    @field_validator("client_secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) < 4 or not secret.isprintable() or secret.strip() != secret:
            raise ValueError("must be the client secret's value (not its id), as Entra shows it")
        return value

    @field_validator("authority_url")
    @classmethod
    def _authority(cls, value: str) -> str:
        return _url_setting(value, DEFAULT_AUTHORITY_URL)

    @field_validator("graph_url")
    @classmethod
    def _graph(cls, value: str) -> str:
        url = _url_setting(value, DEFAULT_GRAPH_URL)
        if not url.lower().endswith("/v1.0"):
            raise ValueError(f"must end with /v1.0 (only Graph v1.0 is used): {DEFAULT_GRAPH_URL}")
        return url

    @field_validator("user_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip().lstrip("@").lower()
        if not _DOMAIN.fullmatch(text):
            raise ValueError("must be a verified domain of the tenant: contoso.onmicrosoft.com")
        return text

    # derived ---------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.authority_url}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def scope(self) -> str:
        """``{graph host}/.default``: ``https://graph.microsoft.com/.default`` by default,
        the national cloud's own Graph host otherwise."""
        parts = urllib.parse.urlsplit(self.graph_url)
        return f"{parts.scheme}://{parts.netloc}/.default"


# ---------------------------------------------------------------------------- query strings


def literal(value: str) -> str:
    """An OData string literal: single-quoted, a quote inside doubled (``'O''Brien'``)."""
    return "'" + value.replace("'", "''") + "'"


def eq(prop: str, value: str) -> str:
    return f"{prop} eq {literal(value)}"


def query(options: Mapping[str, str | int | None]) -> str:
    """``?$filter=...&$select=...``: every value percent-encoded whole (a raw ``+`` would
    be a space, ``#`` and ``&`` would break the URL); ``$``, quotes, commas, parentheses
    and ``/`` are left as Graph's own examples write them."""
    pairs = [(key, str(value)) for key, value in options.items() if value is not None]
    if not pairs:
        return ""
    return "?" + urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote, safe="$'(),/")


def select(names: Sequence[str]) -> str:
    return ",".join(names)


def same_origin(url: str, base: str) -> bool:
    def origin(text: str) -> tuple[str, str, int | None]:
        parts = urllib.parse.urlsplit(text)
        try:
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
        except ValueError:
            port = -1
        return parts.scheme.lower(), (parts.hostname or "").lower(), port

    return origin(url) == origin(base)


def next_link(data: Mapping[str, Any], graph_url: str, context: Mapping[str, Any]) -> str | None:
    """A page's ``@odata.nextLink``, followed verbatim, and only on the Graph origin: a link
    elsewhere would carry the bearer token there ([decision] ``MalformedResponse``)."""
    link = data.get("@odata.nextLink")
    if link is None:
        return None
    if not isinstance(link, str) or not link.strip():
        raise MalformedResponse(
            f"a page with an unusable @odata.nextLink ({describe(link)})", **context
        )
    if not same_origin(link, graph_url):
        raise MalformedResponse(
            "a page's @odata.nextLink leads to another origin "
            f"({urllib.parse.urlsplit(link).netloc or describe(link)}); not followed, so the "
            "bearer token is not sent there",
            **context,
        )
    return link


def count_of(data: Mapping[str, Any]) -> int | None:
    """``@odata.count`` when it came (a missing one is "no count", never zero)."""
    count = data.get("@odata.count")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    return None


# ---------------------------------------------------------------------------- errors


_DUPLICATE = "another object with the same value for property"
_ALREADY_MEMBER = "added object references already exist"


class GraphRules(ResponseRules):
    """Graph's error body ``{"error": {"code", "message", "innerError": {"request-id",
    "date", ...}}}``. The message is ``code: message`` (first line; Intune's message that
    is itself a JSON text gives its inner ``Message``) plus the request id, which Microsoft
    support asks for. The status decides the class, with one exception: a duplicate
    ``userPrincipalName`` (400 ``Request_BadRequest``) is a ``Conflict``."""

    def parse_error(self, status: int, data: Any, text: str) -> VendorError | None:
        if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
            return None
        error = data["error"]
        code = str(error.get("code") or "").strip()
        message = _message(error.get("message"))
        inner = next(
            (v for k, v in error.items() if str(k).lower() == "innererror" and isinstance(v, dict)),
            {},
        )
        request_id = next(
            (str(v)[:100] for k, v in inner.items() if str(k).lower() == "request-id" and v), None
        )
        said = ": ".join(part for part in (code, message) if part) or f"HTTP {status}"
        if request_id:
            said += f" (request-id {request_id})"
        chosen = None
        if status == 400 and message.lower().startswith(_DUPLICATE):
            chosen = 409
        return VendorError(said, chosen, request_id=request_id)


RULES = GraphRules()


def _message(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if text.startswith("{"):
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        if isinstance(inner, dict) and isinstance(inner.get("Message"), str):
            text = inner["Message"].strip()
    lines = text.splitlines()
    return lines[0].strip()[:300] if lines else ""


def already_member(error: Exception) -> bool:
    """A membership POST refused because it exists ([decision] that counts as done)."""
    return _ALREADY_MEMBER in str(error).lower()


# ---------------------------------------------------------------------------- directory names


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def check_upn(upn: str) -> str:
    """A ``userPrincipalName``: ``local@domain``, the local part of ``A-Z a-z 0-9 ' . - _ !
    # ^ ~`` only, no leading, trailing or doubled dot, at most 64 characters."""
    local, at, domain = upn.strip().rpartition("@")
    if (
        not at
        or not UPN_LOCAL.fullmatch(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or not _DOMAIN.fullmatch(domain)
    ):
        raise ValidationError(
            f"{describe(upn)} is not a usable userPrincipalName (local@domain; the local part "
            "of A-Z a-z 0-9 ' . - _ ! # ^ ~, no accents)",
            vendor=VENDOR,
        )
    return f"{local}@{domain.lower()}"


def check_mail(email: str) -> str:
    """Graph's ``mail``: one ASCII address ("can't contain accent characters")."""
    if not email.isascii() or email.count("@") != 1:
        raise ValidationError(
            f"{describe(email)} cannot be an Entra mail (one ASCII address, no accents)",
            vendor=VENDOR,
        )
    return email


def sign_in_name(account: str | None, email: str | None, settings: IntuneSettings) -> str:
    """A new user's ``userPrincipalName``: ``account``, else derived from the e-mail under
    ``user_domain`` (no default: a guessed domain would be the wrong one)."""
    if email is not None:
        check_mail(email)
    if account is not None:
        return check_upn(account)
    if email is None or settings.user_domain is None:
        raise ValidationError(
            "an Intune (Entra) user needs a sign-in name: give account (a "
            "userPrincipalName), or an e-mail and the tenant setting user_domain",
            vendor=VENDOR,
        )
    return upn_from_email(email, settings.user_domain)


def upn_from_email(email: str, domain: str) -> str:
    """[decision] The sign-in name derived from an e-mail address: its local part
    ASCII-folded, characters Entra refuses dropped, runs of dots collapsed, no dot at either
    end, at most 64 characters, then ``@domain``."""
    local = _UPN_DROP.sub("", ascii_fold(email.rpartition("@")[0] or email).lower())
    local = re.sub(r"\.{2,}", ".", local).strip(".")[:64].rstrip(".")
    if not local:
        raise ValidationError(
            f"no sign-in name can be derived from the e-mail {describe(email)}", vendor=VENDOR
        )
    return check_upn(f"{local}@{domain}")


def group_nickname(name: str) -> str:
    """A group's ``mailNickname``: ASCII-folded, each run of characters Graph refuses
    (``@ () \\ [] " ; : . <> , SPACE`` and non-ASCII) one ``-``, trimmed, at most 64;
    ``group`` if nothing is left."""
    slug = _NICKNAME_BAD.sub("-", ascii_fold(name)).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:64].strip("-")
    return slug or "group"


_PASSWORD_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%+-.:=?@_~")


def temporary_password(length: int = 20) -> str:
    """20 characters from ``secrets``, with every one of the four character classes, so
    any default complexity policy accepts it."""
    alphabet = "".join(_PASSWORD_CLASSES)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(c in cls for c in password) for cls in _PASSWORD_CLASSES):
            return password
