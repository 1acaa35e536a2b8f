"""The one paging mechanism: lazy, checked pagers for every shape a vendor uses.

A list call returns an iterator; pages are fetched as it is consumed, so memory stays flat
whatever the fleet size, and no pager passes a short or duplicated listing off as
complete. The shapes:

* numbered pages, from 1 or 0, or offsets (:func:`paginate`), checked against the total;
* cursors and next-page links (:func:`follow`), checked against a count when there is one;
* one unpaged array (:func:`unique`, :func:`single_page`).

Every pager refuses an id listed twice (``shared``), after one re-fetch where a page can
be fetched again.
"""

from mdmbridge.paging.cursor import CursorFetcher, CursorPage, follow
from mdmbridge.paging.numbered import Numbering, paginate
from mdmbridge.paging.shared import (
    CheckedRows,
    Key,
    Page,
    PageFetcher,
    record_id,
    single_page,
    unique,
)

__all__ = [
    "CheckedRows",
    "CursorFetcher",
    "CursorPage",
    "Key",
    "Numbering",
    "Page",
    "PageFetcher",
    "follow",
    "paginate",
    "record_id",
    "single_page",
    "unique",
]
