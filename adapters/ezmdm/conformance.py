"""What the conformance kit (``mdmbridge.testing``) needs to know about ezmdm beyond the
adapter's own declarations."""

from __future__ import annotations

from collections.abc import Sequence

from mdmbridge.simulation import SimServer
from mdmbridge.testing import ConformanceProfile

MISSING = "999999999999999999999999999999"  # 30 digits, like every ezmdm id


def commands_seen(server: SimServer) -> Sequence[tuple[str, str]]:
    """ezmdm's one command is a push; the simulator records the device ids pushed."""
    from .simulator import EzmdmSimulator

    app = server.app
    assert isinstance(app, EzmdmSimulator)
    return [(device, "push") for device in app.pushes]


PROFILE = ConformanceProfile(
    vendor="ezmdm",
    missing_ids={"groups": MISSING, "users": MISSING, "devices": MISSING},
    bad_credentials={"api_key": "WRONGKEY123456"},
    bad_ids={entity: ("a b", "x" * 129, "ä1") for entity in ("groups", "users", "devices")},
    commands_seen=commands_seen,
    page_size_setting="page_size",
    shaping_faults=frozenset({"duplicate"}),
)
