"""The conformance suite: subclass :class:`ConformanceSuite` in a test module, name the
vendor (or give a profile), and pytest runs every check against the adapter's simulator::

    from mdmbridge.testing import ConformanceSuite

    class TestMyVendor(ConformanceSuite):
        vendor = "myvendor"  # its profile: mdmbridge_myvendor.conformance.PROFILE

Each test starts the simulator afresh and drives it through ``mdmbridge.connect`` only.
The checks come from the adapter's declarations read against the entity registry
(:mod:`mdmbridge.entities`): what it declares is exercised, what it lacks is skipped,
except the refusals: a capability it lacks must be refused locally, with no request sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

import mdmbridge
from mdmbridge import Capability as C
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES
from mdmbridge.testing.checks import (  # re-exported: they were defined here
    LINKS,
    VALUE_SOURCES,
    WRITABLE,
    assert_clean,
    assert_fields,
    same,
)
from mdmbridge.testing.faults import FaultChecks
from mdmbridge.testing.kit import Kit
from mdmbridge.testing.profile import ConformanceProfile, load_profile
from mdmbridge.testing.reading import ReadingChecks
from mdmbridge.testing.refusals import RefusalChecks
from mdmbridge.testing.secrets import SPOILERS, SecretChecks
from mdmbridge.testing.writing import WritingChecks

__all__ = [
    "LINKS",
    "SPOILERS",
    "VALUE_SOURCES",
    "WRITABLE",
    "ConformanceSuite",
    "assert_clean",
    "assert_fields",
    "same",
]


class ConformanceSuite(ReadingChecks, WritingChecks, RefusalChecks, FaultChecks, SecretChecks):
    """Every check the kit makes. Set ``vendor`` (the profile is then loaded from the
    adapter's package) or ``profile``. The checks live in one mixin per job (reading,
    writing, refusals, faults, secrets); the fixtures they take are defined here."""

    vendor: ClassVar[str | None] = None
    profile: ClassVar[ConformanceProfile | None] = None

    # fixtures ----------------------------------------------------------------------------

    @pytest.fixture
    def conformance_profile(self) -> ConformanceProfile:
        if self.profile is not None:
            return self.profile
        if self.vendor is None:
            raise TypeError(f"{type(self).__name__} sets neither vendor nor profile")
        return load_profile(self.vendor)

    @pytest.fixture
    def kit(self, conformance_profile: ConformanceProfile) -> Iterator[Kit]:
        with Kit(conformance_profile) as kit:
            yield kit

    @pytest.fixture
    def mdm(self, kit: Kit) -> Iterator[Client]:
        with kit.connect() as client:
            yield client

    # declarations ------------------------------------------------------------------------

    def test_declarations_are_complete(self, kit: Kit) -> None:
        """What it declares hangs together (the registry checked the names already)."""
        cls = kit.adapter_class
        assert cls.vendor == kit.vendor
        assert cls.description, "description: one line for `mdmbridge adapters`"
        assert cls.capabilities <= set(C)
        assert mdmbridge.adapters()[kit.vendor].adapter_class is cls
        cls.settings_model(**kit.running.settings)  # the simulator's settings connect as is
        for name in cls.list_filters:
            assert kit.supports(ENTITIES[name].read), f"list_filters: {name} is not read"
        for name in cls.writable:
            assert kit.supports(ENTITIES[name].write), f"writable: {name} is not written"

    def test_connect_is_offline_and_lists_are_lazy(self, kit: Kit) -> None:
        client = kit.connect()
        assert kit.count() == 0, "connect() sent a request"
        for name in ENTITIES:
            entity = ENTITIES[name]
            if kit.supports(entity.read) and entity.lister is None:
                listing = getattr(client, name).list()
                assert kit.count() == 0, f"{name}.list() sent a request before iteration"
                getattr(listing, "close", lambda: None)()
        client.close()
