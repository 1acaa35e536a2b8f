"""Secret references in the tenants file: ``env:VAR`` and ``keyring:service/name``.

Kept apart from the file's parsing because they are resolved at another time: a reference's
form is checked when the file is loaded, its value only when that tenant is first used, so
an unset variable fails one tenant and never the ones that were not selected. Values are
never echoed in a message.
"""

from __future__ import annotations

import os
from typing import Any

from mdmbridge.errors import ConfigError

# Stands in for a secret reference while the file is checked: it has the shape every
# built-in secret accepts. A key whose value is a reference is checked again, for real,
# once the reference is resolved.
PLACEHOLDER = "Unresolved-reference-0"


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("env:", "keyring:"))


def check_reference(value: str, *, where: str, key: str, tenant: str) -> None:
    """A reference's form is part of the file: a malformed one is refused at load."""
    if value.startswith("env:") and not value[len("env:") :]:
        raise ConfigError(f"{where}: {key}: 'env:' needs a variable name", tenant=tenant)
    if value.startswith("keyring:"):
        service, _, username = value[len("keyring:") :].partition("/")
        if not service or not username:
            raise ConfigError(f"{where}: {key}: use keyring:<service>/<name>", tenant=tenant)


def resolve_secret(
    value: Any, *, where: str, key: str, vendor: str | None = None, tenant: str | None = None
) -> Any:
    """``env:VAR`` -> the variable's value; ``keyring:service/name`` -> the keyring's."""
    if not isinstance(value, str):
        return value

    def fail(reason: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {reason}", vendor=vendor, tenant=tenant)

    if value.startswith("env:"):
        variable = value[len("env:") :]
        if not variable:
            raise fail("'env:' needs a variable name")
        resolved = os.environ.get(variable)
        if resolved is None or resolved == "":
            raise fail(f"environment variable {variable} is not set")
        return resolved
    if value.startswith("keyring:"):
        service, _, username = value[len("keyring:") :].partition("/")
        if not service or not username:
            raise fail("use keyring:<service>/<name>")
        try:
            import keyring  # optional: pip install 'mdmbridge[keyring]'
        except ImportError:
            raise fail(
                "keyring: needs the keyring package (pip install 'mdmbridge[keyring]')"
            ) from None
        try:
            secret = keyring.get_password(service, username)
        except Exception as exc:  # any backend failure is a config problem, said in one line
            raise fail(f"keyring lookup failed ({type(exc).__name__})") from None
        if secret is None:
            raise fail(f"no keyring entry for service {service!r}, name {username!r}")
        return secret
    return value
