"""OAuth 2.0 client credentials (RFC 6749 §4.4): a bearer token per tenant, fetched lazily.

Why a strategy of its own rather than adapter code: Microsoft Graph, Jamf Pro and Kandji
all work this way, and each would otherwise re-invent the three subtle parts: the token
is fetched on first use (not when a client is built, so ``connect()`` stays offline),
cached until shortly before it expires, and renewed once when the API answers 401 (a
token revoked or expired early), after which the request is tried once more. Every token
is registered with the transport's redactor the moment it arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from mdmbridge.errors import AuthError, MalformedResponse, MDMError
from mdmbridge.transport.auth import Auth, RegisterSecret, TokenSender

EXPIRY_MARGIN_S = 300.0  # renew this long before expiry (or at half the lifetime if shorter)


class OAuth2ClientCredentials(Auth):
    """``token_url`` gets ``grant_type=client_credentials`` with the client's id and secret.

    The token endpoint's own error code (``invalid_client``, Entra's ``AADSTS7000215`` in
    ``error_description``) is kept in the ``AuthError`` message, since it is what tells a
    wrong secret from a wrong tenant; the secret itself never is.
    """

    renewable = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._register: RegisterSecret = lambda secret: None
        self._send: TokenSender | None = None

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self._client_id!r})"
        )

    def bind(self, register_secret: RegisterSecret) -> None:
        self._register = register_secret
        register_secret(self._client_secret)

    def bind_sender(self, send: TokenSender) -> None:
        """The transport lends its session (pooling, proxies, CA bundle, deadline) for the
        token request."""
        self._send = send

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def refresh(self) -> bool:
        with self._lock:
            self._token = None
        self.token()
        return True

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._token, lifetime = self._fetch()
                margin = min(EXPIRY_MARGIN_S, lifetime / 2)
                self._renew_at = time.monotonic() + lifetime - margin
            return self._token

    def _fetch(self) -> tuple[str, float]:
        if self._send is None:
            raise MDMError("OAuth2ClientCredentials is not bound to a transport")
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        if self._scope:
            form["scope"] = self._scope
        status, data = self._send(self.token_url, form)
        if status >= 400 or not isinstance(data, dict):
            raise AuthError(
                f"token request refused: {_describe_refusal(status, data)}", status=status
            )
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise MalformedResponse("token response without an access_token", status=status)
        self._register(token)
        return token, _lifetime(data.get("expires_in"))


def _lifetime(value: Any) -> float:
    """``expires_in`` seconds (a number, or digits as text, as Entra sends in v1); 1 h if absent."""
    if isinstance(value, bool):
        return 3600.0
    if isinstance(value, (int, float)) and 0 < value < 10**7:
        return float(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 8:
        return float(int(value))
    return 3600.0


def _describe_refusal(status: int, data: Any) -> str:
    if isinstance(data, dict):
        code = data.get("error")
        description = data.get("error_description")
        parts = [str(p) for p in (code, description) if isinstance(p, str) and p]
        if parts:
            first_line = " ".join(parts).splitlines()[0]
            return first_line[:200]
    return f"HTTP {status}"
