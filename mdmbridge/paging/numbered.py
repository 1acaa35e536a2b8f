"""Numbered pages (from 1, from 0, or offsets): lazy, checked, optionally concurrent.

A list call returns an iterator; pages are fetched as it is consumed, so memory stays flat
whatever the fleet size. Every anchor in this field has shipped a bug where a list silently
came back short, so this module refuses to pass a short listing off as complete:

* the first page gives ``total``; every later page must report the same total;
* every page before the last must be full, and the last must hold exactly the remainder;
* no id may be listed twice: a page holding an id that an earlier page (or the same page)
  already held is a sign of a shifted offset, a server that ignores ``?page=``, or a
  fan-out join, so a record is probably missing too;
* a page that breaks those rules is fetched once more (a transient glitch), and if it is
  still wrong an :class:`~mdmbridge.errors.IncompleteListing` is raised;
* a server that silently clamps ``limit`` is detected from the first page (fewer items
  than asked while the total says there are more) and the effective page size is used.

After the first page, later pages may be fetched concurrently: a bounded window of
futures, consumed in order, so results keep their order, errors are raised (never
swallowed) and at most ``window`` pages are in memory. Every check, and a re-fetch when a
check fails, happens in the consuming thread in page order, so "already listed" always
means "by an earlier page".

Memory: besides the pages in flight, a listing keeps the ids it has yielded (id -> the
page that held it) in a :class:`~mdmbridge.paging.seen.SeenIds`: a dict up to 50,000 ids,
then a temporary SQLite file with a bounded cache, so a listing of millions stays flat.

"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, Literal, TypeVar

from mdmbridge.errors import IncompleteListing
from mdmbridge.paging.seen import SeenIds
from mdmbridge.paging.shared import DUPLICATES, Key, Page, PageFetcher, record_id, show_id
from mdmbridge.paging.totals import report_total

T = TypeVar("T")
Numbering = Literal["from_1", "from_0", "offset"]


def paginate(
    fetch: PageFetcher[T],
    *,
    limit: int,
    what: str,
    key: Key[T] | None = None,
    concurrency: int = 1,
    numbering: Numbering = "from_1",
) -> Iterator[T]:
    """Yield every item of a paged listing, checked against the reported total and for
    repeated ids.

    ``numbering`` says what ``fetch`` receives as its first argument: page numbers from 1
    (ezmdm), from 0, or ``"offset"``, the index of the page's first item (counted in the
    page size the server really serves, so a server that clamps ``limit`` still works).
    ``key`` gives an item's id (default: :func:`record_id`, the ``id`` of a core model).
    An id already yielded by an earlier page, or held twice by one page, makes that page
    wrong: it is fetched once more, and if it still repeats an id the listing raises
    ``IncompleteListing`` naming the id and both pages. No item of a wrong page is
    yielded.
    """
    checker = _PageChecker(
        _numbered(fetch, numbering, lambda: checker.size),
        limit=limit,
        what=what,
        key=record_id if key is None else key,
    )
    with checker.seen:  # its temporary file, if it spilled, goes when the listing ends
        first = checker.first_page()
        yield from first.items
        total = first.total
        if total is None or len(first.items) >= total:
            if total is not None:
                report_total(total)
            return
        # A server that clamps ``limit`` silently serves fewer items per page than asked:
        # pages are then counted in its size, not ours.
        checker.size = len(first.items)
        checker.total = total
        checker.pages = -(-total // checker.size)  # integers: a huge total cannot overflow
        if concurrency <= 1 or checker.pages <= 2:
            for number in range(2, checker.pages + 1):
                yield from checker.checked(number, checker.fetch(number, limit))
        else:
            yield from _concurrent_pages(checker, range(2, checker.pages + 1), concurrency)
        report_total(total)  # every page held what the total promised: a whole listing


def _numbered(
    fetch: PageFetcher[T], numbering: Numbering, size: Callable[[], int]
) -> PageFetcher[T]:
    """``fetch`` as the checker calls it (page numbers from 1), in the vendor's numbering."""
    if numbering == "from_1":
        return fetch
    if numbering == "from_0":
        return lambda number, limit: fetch(number - 1, limit)
    if numbering == "offset":
        return lambda number, limit: fetch((number - 1) * size(), limit)
    raise ValueError(f"unknown page numbering {numbering!r}")


class _PageChecker(Generic[T]):
    """The checks of one listing, and the ids it has yielded so far (page by page, in
    order: only the consuming thread calls :meth:`checked`)."""

    def __init__(self, fetch: PageFetcher[T], *, limit: int, what: str, key: Key[T]) -> None:
        self.fetch = fetch
        self.limit = limit
        self.what = what
        self.key = key
        self.size = limit
        self.total = 0
        self.pages = 1
        self.seen = SeenIds()  # id -> the page that listed it, flat in memory

    # page 1 --------------------------------------------------------------------------------

    def first_page(self) -> Page[T]:
        """Page 1, checked before any of its items is yielded; a repeated id inside it is
        fetched once more, the other faults of page 1 are refused at once."""
        page = self.fetch(1, self.limit)
        ids, repeat = self._ids(1, page.items)
        if repeat is not None:
            page = self.fetch(1, self.limit)
            ids, repeat = self._ids(1, page.items)
            if repeat is not None:
                raise IncompleteListing(f"{self.what}: {repeat}; {DUPLICATES}")
        self._first_page_shape(page)
        self._commit(1, ids)
        return page

    def _first_page_shape(self, page: Page[T]) -> None:
        total, held = page.total, len(page.items)
        if total is None:
            return
        if total < 0:
            raise IncompleteListing(f"{self.what}: the server reported a negative total ({total})")
        if held > self.limit:
            raise IncompleteListing(
                f"{self.what}: page 1 held {held} items, more than the {self.limit} asked"
            )
        if held > total:
            raise IncompleteListing(
                f"{self.what}: page 1 held {held} items but the total is {total}"
            )
        if not held and total:
            raise IncompleteListing(f"{self.what}: the total is {total} but page 1 came back empty")

    # later pages ---------------------------------------------------------------------------

    def expected(self, number: int) -> int:
        return self.size if number < self.pages else self.total - self.size * (self.pages - 1)

    def _shape(self, number: int, page: Page[T]) -> str | None:
        if page.total != self.total:
            return (
                f"the total changed from {self.total} to {page.total} while listing (page {number})"
            )
        if len(page.items) != self.expected(number):
            return (
                f"page {number} of {self.pages} held {len(page.items)} items, "
                f"expected {self.expected(number)} (total {self.total})"
            )
        return None

    def _ids(self, number: int, items: list[T]) -> tuple[list[str], str | None]:
        """The page's ids, and what is wrong if one of them was listed already."""
        ids = [self.key(item) for item in items]
        found = self.seen.find_repeat(ids)
        if found is None:
            return ids, None
        where = f"earlier on page {number}" if found.first is None else f"page {found.first}"
        return ids, f"id {show_id(found.ident)} on page {number} was already listed ({where})"

    def _problems(self, number: int, page: Page[T]) -> tuple[list[str], list[str], bool]:
        ids, repeat = self._ids(number, page.items)
        problems = [p for p in (repeat, self._shape(number, page)) if p is not None]
        return ids, problems, repeat is not None

    def checked(self, number: int, page: Page[T]) -> list[T]:
        """Page ``number``'s items once it passed every check, fetching it once more (here,
        in the consuming thread) if it did not."""
        ids, problems, _ = self._problems(number, page)
        if problems:
            page = self.fetch(number, self.limit)  # one more try: the glitch may be transient
            ids, problems, repeated = self._problems(number, page)
            if problems:
                refusal = DUPLICATES if repeated else "refusing to return a partial listing"
                raise IncompleteListing(f"{self.what}: {'; '.join(problems)}; {refusal}")
        self._commit(number, ids)
        return page.items

    def _commit(self, number: int, ids: list[str]) -> None:
        self.seen.add(ids, number)


def _concurrent_pages(checker: _PageChecker[T], numbers: range, concurrency: int) -> Iterator[T]:
    window = concurrency * 2
    pending: deque[tuple[int, Future[Page[T]]]] = deque()
    todo = iter(numbers)
    fetch, limit = checker.fetch, checker.limit
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="mdmbridge-page") as pool:
        try:
            for number in todo:
                pending.append((number, pool.submit(fetch, number, limit)))
                if len(pending) >= window:
                    break
            while pending:
                number, future = pending.popleft()
                page = future.result()  # raises the page's error, in order
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(fetch, nxt, limit)))
                yield from checker.checked(number, page)
        finally:
            for _, future in pending:
                future.cancel()
