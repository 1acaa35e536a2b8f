"""Shared machinery for the vendor simulators: one HTTP server, one fault switchboard, one
seed-data generator. Each adapter's ``simulator/`` supplies only the vendor's routes.

The simulators are part of the product (``mdmbridge simulate``, the demo, the benchmarks),
not test fixtures, which is why they live in the installed package.
"""

from mdmbridge.simulation.faults import Fault, FaultKind, Faults, RequestFaults
from mdmbridge.simulation.server import (
    RunningSimulator,
    SimRequest,
    SimResponse,
    SimServer,
    VendorApp,
    pick_credentials,
)

__all__ = [
    "Fault",
    "FaultKind",
    "Faults",
    "RequestFaults",
    "RunningSimulator",
    "SimRequest",
    "SimResponse",
    "SimServer",
    "VendorApp",
    "pick_credentials",
]
