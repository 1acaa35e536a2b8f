"""Cursor pages: each answer names the next (an opaque token or a next-page link).

For vendors such as Microsoft Graph (``@odata.nextLink``), Jamf Pro and Kandji. There is
no page count to check against, so the checks are the ones a cursor allows:

* no id may be listed twice (as for every pager): a page repeating an id is fetched once
  more with the same cursor, then the listing raises ``IncompleteListing``;
* a cursor seen before means the server is going round in circles: refused at once;
* when the vendor gives a count of the whole listing (``@odata.count``), it must not change
  while listing, and the items listed must add up to it at the end;
* a listing ends only on a page without a next cursor; an empty page with one is followed
  (Graph sends those).

Where the cursor may lead (the same origin as the tenant, for a link) is the transport's
rule, not this module's: it refuses absolute URLs on another origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from mdmbridge.errors import IncompleteListing
from mdmbridge.paging.seen import SeenIds
from mdmbridge.paging.shared import DUPLICATES, Key, record_id, show_id

T = TypeVar("T")


@dataclass(frozen=True)
class CursorPage(Generic[T]):
    items: list[T]
    next: str | None  # the cursor or link of the next page; None on the last page
    total: int | None = None  # the vendor's count of the whole listing, when it gives one


CursorFetcher = Callable[[str | None], CursorPage[T]]  # None: the first page


def follow(fetch: CursorFetcher[T], *, what: str, key: Key[T] | None = None) -> Iterator[T]:
    """Yield every item of a cursor-paged listing, page by page, checked as above."""
    id_of = record_id if key is None else key
    seen = SeenIds()  # id -> the page that listed it, flat in memory
    cursors: set[str] = set()
    cursor: str | None = None
    total: int | None = None
    listed = 0
    number = 0
    with seen:  # its temporary file, if it spilled, goes when the listing ends
        while True:
            number += 1
            page = fetch(cursor)
            ids, repeat = _ids(page.items, id_of, seen, number)
            if repeat is not None:
                page = fetch(cursor)  # one more try: the glitch may be transient
                ids, repeat = _ids(page.items, id_of, seen, number)
                if repeat is not None:
                    raise IncompleteListing(f"{what}: {repeat}; {DUPLICATES}")
            if page.total is not None:
                if total is not None and page.total != total:
                    raise IncompleteListing(
                        f"{what}: the count changed from {total} to {page.total} while listing "
                        f"(page {number}); refusing to return a partial listing"
                    )
                total = page.total
            seen.add(ids, number)
            listed += len(page.items)
            yield from page.items
            if page.next is None:
                break
            if page.next in cursors or page.next == cursor:
                raise IncompleteListing(
                    f"{what}: page {number} points back to a page already read; "
                    "refusing to go round in circles"
                )
            cursors.add(page.next)
            cursor = page.next
    if total is not None and listed != total:
        raise IncompleteListing(
            f"{what}: listed {listed} items but the server counted {total}; "
            "refusing to return a partial listing"
        )


def _ids(items: list[T], id_of: Key[T], seen: SeenIds, number: int) -> tuple[list[str], str | None]:
    ids = [id_of(item) for item in items]
    found = seen.find_repeat(ids)
    if found is None:
        return ids, None
    where = f"page {found.first}" if found.first is not None else f"earlier on page {number}"
    return ids, f"id {show_id(found.ident)} on page {number} was already listed ({where})"
