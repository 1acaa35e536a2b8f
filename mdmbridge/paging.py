"""The one paging mechanism: lazy, checked, optionally concurrent.

A list call returns an iterator; pages are fetched as it is consumed, so memory stays flat
whatever the fleet size. Every anchor in this field has shipped a bug where a list silently
came back short, so this module refuses to pass a short listing off as complete:

* the first page gives ``total``; every later page must report the same total;
* every page before the last must be full, and the last must hold exactly the remainder;
* a page that breaks those rules is fetched once more (a transient glitch), and if it is
  still wrong an :class:`~mdmbridge.errors.IncompleteListing` is raised;
* a server that silently clamps ``limit`` is detected from the first page (fewer items
  than asked while the total says there are more) and the effective page size is used.

After the first page, later pages may be fetched concurrently: a bounded window of
futures, consumed in order, so results keep their order, errors are raised (never
swallowed) and at most ``window`` pages are in memory.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from mdmbridge.errors import IncompleteListing

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int | None  # None: the vendor did not say (then the page is the whole listing)


PageFetcher = Callable[[int, int], Page[T]]  # (page number from 1, limit) -> Page


def single_page(fetch: Callable[[], list[T]]) -> Iterator[T]:
    """For vendors without paging: one request, made lazily when iteration starts."""
    yield from fetch()


def paginate(
    fetch: PageFetcher[T],
    *,
    limit: int,
    what: str,
    concurrency: int = 1,
) -> Iterator[T]:
    """Yield every item of a paged listing, checked against the reported total."""
    first = fetch(1, limit)
    yield from first.items
    total = first.total
    if total is None:
        return
    if total < 0:
        raise IncompleteListing(f"{what}: the server reported a negative total ({total})")
    if len(first.items) > limit:
        raise IncompleteListing(
            f"{what}: page 1 held {len(first.items)} items, more than the {limit} asked"
        )
    if len(first.items) >= total:
        if len(first.items) > total:
            raise IncompleteListing(
                f"{what}: page 1 held {len(first.items)} items but the total is {total}"
            )
        return
    if not first.items:
        raise IncompleteListing(f"{what}: the total is {total} but page 1 came back empty")
    # A server that clamps ``limit`` silently serves fewer items per page than asked:
    # pages are then counted in its size, not ours.
    size = len(first.items)
    pages = math.ceil(total / size)
    checker = _PageChecker(fetch, limit=limit, size=size, total=total, pages=pages, what=what)
    if concurrency <= 1 or pages <= 2:
        for number in range(2, pages + 1):
            yield from checker.fetch_checked(number)
        return
    yield from _concurrent_pages(checker, range(2, pages + 1), concurrency)


class _PageChecker(Generic[T]):
    def __init__(
        self, fetch: PageFetcher[T], *, limit: int, size: int, total: int, pages: int, what: str
    ) -> None:
        self.fetch = fetch
        self.limit = limit
        self.size = size
        self.total = total
        self.pages = pages
        self.what = what

    def expected(self, number: int) -> int:
        return self.size if number < self.pages else self.total - self.size * (self.pages - 1)

    def problem(self, number: int, page: Page[T]) -> str | None:
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

    def fetch_checked(self, number: int) -> list[T]:
        page = self.fetch(number, self.limit)
        if self.problem(number, page) is None:
            return page.items
        page = self.fetch(number, self.limit)  # one more try: the glitch may be transient
        problem = self.problem(number, page)
        if problem is not None:
            raise IncompleteListing(f"{self.what}: {problem}; refusing to return a partial listing")
        return page.items


def _concurrent_pages(checker: _PageChecker[T], numbers: range, concurrency: int) -> Iterator[T]:
    window = concurrency * 2
    pending: deque[Future[list[T]]] = deque()
    todo = iter(numbers)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="mdmbridge-page") as pool:
        try:
            for number in todo:
                pending.append(pool.submit(checker.fetch_checked, number))
                if len(pending) >= window:
                    break
            while pending:
                items = pending.popleft().result()  # raises the page's error, in order
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(checker.fetch_checked, nxt))
                yield from items
        finally:
            for future in pending:
                future.cancel()
