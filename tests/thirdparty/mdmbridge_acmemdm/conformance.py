"""What mdmbridge's conformance kit needs to know about Acme MDM beyond the adapter's own
declarations (found by ``mdmbridge.testing.load_profile("acmemdm")``)."""

from __future__ import annotations

from collections.abc import Sequence

from mdmbridge.simulation import SimServer
from mdmbridge.testing import ConformanceProfile

from .simulator import AcmeSimulator


def _simulator(server: SimServer) -> AcmeSimulator:
    assert isinstance(server.app, AcmeSimulator)
    return server.app


def actions(server: SimServer) -> Sequence[tuple[str, str]]:
    return list(_simulator(server).actions)


def tokens(server: SimServer) -> Sequence[str]:
    return list(_simulator(server).tokens)


PROFILE = ConformanceProfile(
    vendor="acmemdm",
    missing_ids={
        "groups": "grp_000000000000",
        "users": "usr_000000000000",
        "devices": "dev_000000000000",
    },
    bad_credentials={"client_secret": "not-the-secret"},
    bad_ids={
        "groups": ("usr_0123456789ab", "grp_0123", "GRP_0123456789AB"),
        "users": ("grp_0123456789ab", "usr_0123456789abc"),
        "devices": ("dev_g123456789ab",),
    },
    commands_seen=actions,
    page_size_setting="page_size",
    issued_secrets=tokens,
    shaping_faults=frozenset({"duplicate"}),
)
