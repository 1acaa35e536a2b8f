"""What every pager shares: the page shape, the id of an item, and the duplicate rule.

No id may be listed twice in one listing: a repeat is a sign of a shifted offset, a server
that ignores ``?page=``, or a fan-out join, so a record is probably missing too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mdmbridge.errors import IncompleteListing, excerpt
from mdmbridge.paging.seen import SeenIds, batches

T = TypeVar("T")

ID_EXCERPT_CHARS = 80


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int | None  # None: the vendor did not say (then the page is the whole listing)


@dataclass(frozen=True)
class CheckedRows(Generic[T]):
    """Rows a pager has already checked: no value of ``column`` comes twice in the whole
    listing (``paginate`` or ``unique`` with a key reading that column). An adapter's
    ``export_rows`` returns its rows so, and the export's own check of the same thing
    (``export.collect.unique_batches``) is not made twice: a second ids-seen set per
    tenant costs up to its SQLite cache in memory (8 MB at a million rows) and ~0.6 µs a
    row. Rows that do not say so are checked there, whoever made them."""

    rows: Iterable[T]
    column: str

    def __iter__(self) -> Iterator[T]:
        return iter(self.rows)


PageFetcher = Callable[[int, int], Page[T]]  # (page number from 1, limit) -> Page
Key = Callable[[T], str]  # item -> its id, unique within one listing


def record_id(item: Any) -> str:
    """The default ``key``: the ``id`` of a record (every core model has one)."""
    try:
        value = item.id
    except AttributeError:
        raise TypeError(
            f"cannot tell the id of a {type(item).__name__}: pass key= to the paging call"
        ) from None
    return value if isinstance(value, str) else str(value)


def show_id(value: str) -> str:
    return excerpt(repr(value), ID_EXCERPT_CHARS)


DUPLICATES = "refusing to return a listing with duplicates"


def unique(items: Iterable[T], *, what: str, key: Key[T] | None = None) -> Iterator[T]:
    """Yield ``items`` (one unpaged array), refusing the first id that comes twice.

    [decision] A repeated id in an unpaged array is always an ``IncompleteListing``, even
    when both copies are byte-identical: it is never dropped silently, because an array
    that repeats a record is an array we cannot trust to hold every record either. It is
    raised at once, without a re-fetch: the array is streamed, so the items before the
    repeat are already with the caller and a second request could not replace the first
    answer, only be stitched onto it (two snapshots mixed); and the second request would
    read the whole array (a whole fleet) again, for a fault that is the server's state
    rather than a paging glitch. The caller may list again.

    Lazy like its input, a batch at a time (``seen.BATCH`` items, so the ids are checked
    at C speed): the items before the repeat have been yielded when the error is raised.
    The ids go into a :class:`~mdmbridge.paging.seen.SeenIds`, flat in memory however long
    the array.
    """
    get = record_id if key is None else key
    with SeenIds() as seen:
        done = 0  # items yielded before this batch
        for batch in batches(items):
            ids = [get(item) for item in batch]
            found = seen.find_repeat(ids)
            if found is not None:
                yield from batch[: found.index]
                earlier = found.first  # the position recorded, or the earlier copy in the batch
                if earlier is None:
                    earlier = done + 1 + (found.first_index or 0)
                raise IncompleteListing(
                    f"{what}: id {show_id(found.ident)} appears twice in the array "
                    f"(items {earlier} and {done + 1 + found.index}); {DUPLICATES}"
                )
            seen.add(ids, range(done + 1, done + 1 + len(ids)))
            done += len(ids)
            yield from batch


def single_page(
    fetch: Callable[[], Iterable[T]], *, what: str = "listing", key: Key[T] | None = None
) -> Iterator[T]:
    """For vendors without paging: one request, made lazily when iteration starts; its
    items pass through :func:`unique` (a repeated id is an ``IncompleteListing``)."""
    yield from unique(fetch(), what=what, key=key)
