"""The built-in adapters run the conformance kit, exactly as a third party's would."""

from __future__ import annotations

from mdmbridge import Capability
from mdmbridge.testing import ConformanceSuite, load_profile
from mdmbridge.testing.kit import PROBES


class TestDuoStationConformance(ConformanceSuite):
    vendor = "duostation"


class TestEzmdmConformance(ConformanceSuite):
    vendor = "ezmdm"


def test_every_capability_has_a_probe() -> None:
    """A capability added to core without a probe would go unchecked by the kit."""
    assert set(PROBES) == set(Capability)


def test_built_in_profiles_are_found_through_the_adapters() -> None:
    for vendor in ("duostation", "ezmdm"):
        assert load_profile(vendor).vendor == vendor
