"""The vendor's own totals of the listings a piece of code ran: a completeness proof.

A pager that checked a listing against the total the vendor reported (ezmdm's ``total``)
reports it here when the listing ends whole; a caller that wants the figures (a sync's
``sync_tenants.vendor_totals``, an export's manifest) collects them around its reading with
:func:`listing_totals`. A context variable, so a tenant read in its own thread sees only
its own listings, and nobody pays for it who does not ask.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_collecting: ContextVar[list[int] | None] = ContextVar("mdmbridge_listing_totals", default=None)


@contextmanager
def listing_totals() -> Iterator[list[int]]:
    """The totals of every listing completed inside the block, in order."""
    found: list[int] = []
    token = _collecting.set(found)
    try:
        yield found
    finally:
        _collecting.reset(token)


def report_total(total: int) -> None:
    """Called by a pager when a listing checked against ``total`` has ended whole."""
    found = _collecting.get()
    if found is not None:
        found.append(total)


def one_total(found: list[int]) -> int | None:
    """The entity's total when exactly one listing gave one; a listing made of several
    (users per group) proves nothing about the whole, so it gives none."""
    return found[0] if len(found) == 1 else None
