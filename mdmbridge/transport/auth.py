"""How a request proves who it is: one small strategy object per tenant.

The transport asks its :class:`Auth` for headers on every request to the tenant's own
origin (never to another host), for the secrets to redact, and, when the vendor answers
401, whether fresh credentials are worth one more try (a bearer token may have expired; a
password has not). Strategies register every secret with the transport's redactor the
moment it exists, so a token fetched later is hidden as surely as a configured password.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

RegisterSecret = Callable[[str], None]
# (url, form) -> (HTTP status, decoded JSON body or None): the transport's own session,
# lent to strategies that must fetch credentials (OAuth tokens); sent without auth headers.
TokenSender = Callable[[str, Mapping[str, str]], tuple[int, Any]]


class Auth:
    """No credentials in headers (ezmdm's key travels in the URL path, redacted as a secret)."""

    renewable = False  # True: a 401 may be cured by refresh() (a token), so try it once

    def bind(self, register_secret: RegisterSecret) -> None:
        """Called once by the transport: register every secret this strategy knows."""

    def bind_sender(self, send: TokenSender) -> None:
        """Called once by the transport: how to reach a token endpoint, if this needs one."""

    def headers(self) -> Mapping[str, str]:
        return {}

    def refresh(self) -> bool:
        """After a 401 (only when ``renewable``): renew credentials; True if that worked."""
        return False


class SecretInPath(Auth):
    """A key that the adapter puts in the URL itself: nothing to send, one secret to hide."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def bind(self, register_secret: RegisterSecret) -> None:
        register_secret(self._secret)


class BasicAuth(Auth):
    """HTTP Basic (RFC 7617).

    [decision] ``user:password`` is encoded in latin-1 when it fits, as requests always did
    (servers that predate RFC 7617 decode latin-1), and in UTF-8 otherwise (RFC 7617's
    ``charset=UTF-8``, what current servers accept): a password such as ``Пароль€`` works
    instead of raising a ``UnicodeEncodeError`` that would quote one of its characters.
    Both base64 forms are registered as secrets, so neither can leak through a proxy that
    echoes the header.
    """

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        pair = f"{username}:{password}"
        try:
            wire = pair.encode("latin-1")
        except UnicodeEncodeError:
            wire = pair.encode("utf-8")
        self._header = "Basic " + base64.b64encode(wire).decode("ascii")

    def bind(self, register_secret: RegisterSecret) -> None:
        register_secret(self._password)
        for token in basic_tokens(self._username, self._password):
            register_secret(token)

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": self._header}

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r}, password='***')"


def basic_tokens(username: str, password: str) -> list[str]:
    """Every base64 form ``user:password`` can take in a Basic header."""
    pair = f"{username}:{password}"
    tokens = [base64.b64encode(pair.encode("utf-8")).decode("ascii")]
    with contextlib.suppress(UnicodeEncodeError):
        tokens.append(base64.b64encode(pair.encode("latin-1")).decode("ascii"))
    return tokens
