"""The directory's rules, shared by the user and group routes: which nicknames and
passwords Entra ID accepts, and its error answers (the directory dialect's codes and
messages, as observed)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from mdmbridge.simulation.server import SimRequest

from .core import SimCore
from .odata import GraphError, Resource, parse_select

Record = dict[str, Any]

_UPN_LOCAL = re.compile(r"[A-Za-z0-9'.\-_!#^~]+")
_NICKNAME = re.compile(r"[\x21-\x7e]+")
_NICKNAME_FORBIDDEN = set('@()\\[]";:.<>, ')
_BIND_PATH = re.compile(r"/(?:directoryObjects|users|groups)/([^/?#]+)/?$", re.IGNORECASE)
MAX_BINDS = 20


def _select(sim: SimCore, request: SimRequest, resource: Resource) -> tuple[str, ...] | None:
    return parse_select(sim.option(request, "select"), resource)


def _nickname_ok(value: str, *, dots: bool = False) -> bool:
    """Groups: ASCII except ``@ () \\ [] " ; : . <> , SPACE``; users may also have dots."""
    forbidden = _NICKNAME_FORBIDDEN - {"."} if dots else _NICKNAME_FORBIDDEN
    return (
        0 < len(value) <= 64 and bool(_NICKNAME.fullmatch(value)) and not (set(value) & forbidden)
    )


def _password_hash(profile: Any) -> str:
    allowed = {"password", "forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa"}
    if not isinstance(profile, dict) or set(profile) - allowed:
        raise _invalid_value("passwordProfile", "User")
    password = profile.get("password")
    if not isinstance(password, str):
        raise _invalid_value("passwordProfile", "User")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if not 8 <= len(password) <= 256 or classes < 3:
        raise GraphError(
            400,
            "Request_BadRequest",
            "The specified password does not comply with password complexity requirements. "
            "Please provide a different password.",
        )
    return hashlib.sha256(password.encode()).hexdigest()


def _not_found(object_id: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


def _already_member() -> GraphError:
    return GraphError(
        400,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified "
        "properties: 'members'.",
    )


def _invalid_value(name: str, label: str) -> GraphError:
    return GraphError(
        400,
        "Request_BadRequest",
        f"Invalid value specified for property '{name}' of resource '{label}'.",
    )


def _no_such_property(name: str, known: frozenset[str] | set[str]) -> GraphError:
    del known
    return GraphError(
        400,
        "Request_BadRequest",
        f"Property '{name}' does not exist as a declared property or extension property.",
    )
