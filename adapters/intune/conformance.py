"""What the conformance kit (``mdmbridge.testing``) needs to know about Intune beyond the
adapter's own declarations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mdmbridge.simulation import SimServer
from mdmbridge.testing import ConformanceProfile

if TYPE_CHECKING:
    from .simulator import IntuneSimulator

MISSING = "0b8e3c8e-9d1e-4a50-bb6c-2f1b8a1c5e77"  # a GUID no seeded record has
NOT_GUIDS = ("1", "not-a-guid", "{0b8e3c8e-9d1e-4a50-bb6c-2f1b8a1c5e77}", "asa@contoso.com")


def _app(server: SimServer) -> IntuneSimulator:
    from .simulator import IntuneSimulator

    app = server.app
    assert isinstance(app, IntuneSimulator)
    return app


def commands_seen(server: SimServer) -> Sequence[tuple[str, str]]:
    """The simulator records every device action it accepts (device id, action name)."""
    return [(action.device_id, action.action) for action in _app(server).actions]


def issued_tokens(server: SimServer) -> Sequence[str]:
    return _app(server).tokens.issued_tokens()


PROFILE = ConformanceProfile(
    vendor="intune",
    missing_ids={"groups": MISSING, "users": MISSING, "devices": MISSING, "apps": MISSING},
    bad_credentials={"client_secret": "Wrong~Secret.Value-123"},
    bad_ids={name: NOT_GUIDS for name in ("groups", "users", "devices", "apps")},
    commands_seen=commands_seen,
    issued_secrets=issued_tokens,
    shaping_faults=frozenset({"duplicate"}),
    # A user's sign-in name is a userPrincipalName under a verified domain.
    create_values={"users": {"account": "asa.kit@contoso.onmicrosoft.com"}},
)
