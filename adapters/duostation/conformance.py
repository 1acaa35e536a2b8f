"""What the conformance kit (``mdmbridge.testing``) needs to know about DuoSTATION beyond
the adapter's own declarations."""

from __future__ import annotations

from collections.abc import Sequence

from mdmbridge.simulation import SimServer
from mdmbridge.testing import ConformanceProfile


def commands_seen(server: SimServer) -> Sequence[tuple[str, str]]:
    """The simulator records (device GUID, command endpoint, body) per accepted command."""
    from .simulator import DuoStationSimulator

    app = server.app
    assert isinstance(app, DuoStationSimulator)
    return [(device, name) for device, name, _ in app.commands]


PROFILE = ConformanceProfile(
    vendor="duostation",
    missing_ids={
        "groups": "99999",
        "users": "99999",
        "devices": "00000000-0000-4000-8000-000000000000",
        "tags": "99999",
        "apps": "99999",
        "device_tags": "99999",
        "user_tags": "99999",
        "group_tags": "99999",
    },
    bad_credentials={"password": "wrong-password"},
    bad_ids={
        "groups": ("abc", "0", "-1", "1.5", "\uff11\uff12"),
        "users": ("abc", "0", "\u0661\u0662"),
        "devices": ("12", "not-a-guid", "{00000000-0000-4000-8000-000000000000"),
        "tags": ("abc", "0"),
        "apps": ("abc",),
    },
    commands_seen=commands_seen,
    # An app needs an icon (image_url or image_data), and an App Store app its numeric id.
    create_values={"apps": {"image_url": "https://example.se/kit.png", "store_id": "1234567890"}},
    shaping_faults=frozenset({"duplicate"}),
)
