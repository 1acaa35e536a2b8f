"""The conformance kit: one suite that any adapter, built-in or third-party, runs against
its own simulator to show it keeps mdmbridge's promises.

An adapter package ships a :class:`ConformanceProfile` as ``<package>.conformance.PROFILE``
(the few facts the kit cannot derive from the adapter's declarations) and runs the suite
from its tests::

    from mdmbridge.testing import ConformanceSuite

    class TestMyVendor(ConformanceSuite):
        vendor = "myvendor"

``ConformanceSuite`` needs pytest; the profile and :class:`Kit` do not, so importing this
package in an adapter's ``conformance`` module costs nothing at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mdmbridge.testing.kit import FAST, TRICKY, Kit
from mdmbridge.testing.profile import CommandLog, ConformanceProfile, load_profile

if TYPE_CHECKING:
    from mdmbridge.testing.suite import ConformanceSuite

__all__ = [
    "FAST",
    "TRICKY",
    "CommandLog",
    "ConformanceProfile",
    "ConformanceSuite",
    "Kit",
    "load_profile",
]


def __getattr__(name: str) -> Any:
    if name == "ConformanceSuite":  # imports pytest: only when a test asks for it
        from mdmbridge.testing.suite import ConformanceSuite

        return ConformanceSuite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
