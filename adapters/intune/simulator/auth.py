"""The Microsoft identity platform's token endpoint (client credentials only) and the bearer
check in front of every Graph call.

``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials``, ``client_id``,
``client_secret`` (form body, or HTTP Basic as RFC 6749 §2.3.1 allows) and
``scope=<resource>/.default``. Refusals carry Entra's error shape (``error``,
``error_description`` starting ``AADSTSnnnn:``, ``error_codes``, ``timestamp``, ``trace_id``,
``correlation_id``, ``error_uri``) with the statuses observed for each code.

Tokens are opaque random strings shaped like a JWT (three base64url parts) whose payload is
noise: a client cannot read anything out of them, which is the point.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from mdmbridge.simulation.server import SimRequest, SimResponse

from .odata import GraphError

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_RESOURCES = ("https://graph.microsoft.com", "https://graph.microsoft.com/", GRAPH_APP_ID)
FORM_TYPE = "application/x-www-form-urlencoded"
WWW_AUTHENTICATE = (
    'Bearer realm="", '
    'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="{GRAPH_APP_ID}"'
)


@dataclass
class _Token:
    expires_at: float
    tenant_id: str


class TokenService:
    """Issues and checks tokens for one tenant and one app registration."""

    def __init__(
        self,
        *,
        tenant_id: str,
        domains: tuple[str, ...],
        client_id: str,
        client_secret: str,
        lifetime_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if lifetime_s <= 0:
            raise ValueError("token_lifetime_s must be > 0")
        self.tenant_id = tenant_id
        self.domains = tuple(d.lower() for d in domains)
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self.issued = 0  # tokens handed out since start (for tests: "renewed exactly once")
        self._handed_out: list[str] = []  # every token ever issued, revoked ones included
        self.refused = 0  # token requests refused

    # -------------------------------------------------------------- test hooks

    def expire_all(self) -> None:
        """Every token issued so far is now expired (a clock jump, for the 401 path)."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = 0.0

    def issued_tokens(self) -> list[str]:
        """Every token handed out since start, for leak checks (a log, an error, a
        cassette must hold none of them)."""
        with self._lock:
            return list(self._handed_out)

    def revoke_all(self) -> None:
        """Forget every token (an admin revoked the app's sessions)."""
        with self._lock:
            self._tokens.clear()

    # -------------------------------------------------------------- token endpoint

    def knows_tenant(self, tenant: str) -> bool:
        lowered = tenant.lower()
        return lowered == self.tenant_id.lower() or lowered in self.domains

    def token_endpoint(self, request: SimRequest, tenant: str) -> SimResponse:
        trace_id = str(uuid.uuid4())
        correlation = request.headers.get("client-request-id") or str(uuid.uuid4())
        headers = {
            "x-ms-request-id": trace_id,
            "client-request-id": correlation,
            "Cache-Control": "no-store, no-cache",
            "Pragma": "no-cache",
        }

        def refuse(status: int, error: str, code: int, text: str) -> SimResponse:
            with self._lock:
                self.refused += 1
            stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            body = {
                "error": error,
                "error_description": (
                    f"AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\n"
                    f"Correlation ID: {correlation}\r\nTimestamp: {stamp}"
                ),
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace_id,
                "correlation_id": correlation,
                "error_uri": f"https://login.microsoftonline.com/error?code={code}",
            }
            response = SimResponse.json(body, status=status)
            response.headers.update(headers)
            return response

        if request.method != "POST":
            return refuse(
                400,
                "invalid_request",
                900561,
                "The endpoint only accepts POST, OPTIONS requests. "
                f"Received a {request.method} request.",
            )
        if not self.knows_tenant(tenant):
            return refuse(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud. Check with your subscription "
                "administrator, this may happen if there are no active subscriptions for the "
                "tenant.",
            )
        form = _form(request)
        basic_id, basic_secret = _basic(request.headers.get("Authorization"))
        grant_type = form.get("grant_type")
        if not grant_type:
            return refuse(
                400, "invalid_request", 900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )  # fmt: skip
        if grant_type != "client_credentials":
            return refuse(
                400, "unsupported_grant_type", 70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )  # fmt: skip
        client_id = form.get("client_id") or basic_id
        if not client_id:
            return refuse(
                400, "invalid_request", 900144,
                "The request body must contain the following parameter: 'client_id'.",
            )  # fmt: skip
        if client_id != self.client_id:
            return refuse(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        scope = form.get("scope")
        if not scope:
            return refuse(
                400, "invalid_request", 900144,
                "The request body must contain the following parameter: 'scope'.",
            )  # fmt: skip
        if not scope.endswith("/.default") or " " in scope.strip():
            return refuse(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource = scope[: -len("/.default")]
        if resource not in GRAPH_RESOURCES and resource.rstrip("/") != _own_origin(request):
            return refuse(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{tenant}. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You "
                "might have sent your authentication request to the wrong tenant.",
            )
        secret = form.get("client_secret") if "client_secret" in form else basic_secret
        if not secret:
            return refuse(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        if not secrets.compare_digest(secret.encode(), self.client_secret.encode()):
            return refuse(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{self.client_id}'.",
            )
        token = _opaque_token()
        lifetime = int(self.lifetime_s) if self.lifetime_s >= 1 else 1
        with self._lock:
            self._tokens[token] = _Token(self._clock() + self.lifetime_s, self.tenant_id)
            self._handed_out.append(token)
            self.issued += 1
        body = {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }
        response = SimResponse.json(body)
        response.headers.update(headers)
        return response

    # -------------------------------------------------------------- bearer check

    def check(self, authorization: str | None) -> None:
        """Raise Graph's 401 unless ``authorization`` is ``Bearer <a live token>``."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise _unauthorized("Access token is empty.")
        with self._lock:
            token = self._tokens.get(value)
            expired = token is not None and self._clock() >= token.expires_at
        if token is None:
            if "." not in value:
                raise _unauthorized("IDX14100: JWT is not well formed, there are no dots (.).")
            raise _unauthorized("Access token validation failure. Invalid audience.")
        if expired:
            raise _unauthorized("Access token has expired or is not yet valid.")


def _unauthorized(message: str) -> GraphError:
    return GraphError(
        401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": WWW_AUTHENTICATE}
    )


def _opaque_token() -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    header = part(json.dumps({"typ": "JWT", "alg": "RS256", "x5t": "sim"}).encode())
    return f"{header}.{part(secrets.token_bytes(96))}.{part(secrets.token_bytes(64))}"


def _form(request: SimRequest) -> dict[str, str]:
    """The form body; anything else (a JSON body, say) reads as an empty form, as Entra does."""
    if request.content_type != FORM_TYPE:
        return {}
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def _basic(header: str | None) -> tuple[str | None, str | None]:
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, _, password = decoded.partition(":")
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


def _own_origin(request: SimRequest) -> str:
    host = request.headers.get("Host") or ""
    return f"http://{host}" if host else ""


__all__ = ["GRAPH_APP_ID", "TokenService"]
