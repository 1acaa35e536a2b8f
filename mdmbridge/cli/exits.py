"""Exit codes, decided in one place."""

from __future__ import annotations

from collections.abc import Sequence

from mdmbridge.errors import AuthError, ConfigError, MDMError, ValidationError

EXIT_OK = 0
EXIT_PARTIAL = 1  # some tenants or items failed; the rest was done
EXIT_USAGE = 2  # usage or configuration error, nothing was sent
EXIT_AUTH = 3  # credentials refused
EXIT_INTERRUPTED = 130


def exit_code_for(error: MDMError) -> int:
    if isinstance(error, AuthError):
        return EXIT_AUTH
    if isinstance(error, (ConfigError, ValidationError)):
        return EXIT_USAGE
    return EXIT_PARTIAL


def exit_code_for_stop(error: MDMError | None) -> int:
    """A run that stopped part-way (some of it done): 3 when the credentials were refused,
    else 1. Decided by the error's class, never by its text."""
    return EXIT_AUTH if isinstance(error, AuthError) else EXIT_PARTIAL


def exit_for(errors: Sequence[MDMError], *, succeeded: int) -> int:
    """0 when nothing failed; 3 when nothing succeeded and every failure was refused
    credentials; otherwise 1 (some failed, the rest was done)."""
    if not errors:
        return EXIT_OK
    if not succeeded and all(isinstance(e, AuthError) for e in errors):
        return EXIT_AUTH
    return EXIT_PARTIAL
