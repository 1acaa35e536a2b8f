"""Paging you can trust: exact counts at every boundary, never a short list passed off as
complete, and memory bounded by pages in flight. Against the live ezmdm simulator, plus
unit tests of the one paging mechanism on plain functions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from mdmbridge_ezmdm.wire import page_total

import mdmbridge
from mdmbridge.errors import IncompleteListing
from mdmbridge.mapping import describe
from mdmbridge.paging import Page, paginate, single_page, unique
from mdmbridge.simulation import SimServer
from tests.conftest import connect_ez
from tests.support import raises


def empty_fleet_with_groups(
    ez_sim: Callable[..., SimServer], count: int
) -> tuple[SimServer, mdmbridge.Client]:
    server = ez_sim(devices=0)
    mdm = connect_ez(server)
    for index in range(count):
        mdm.groups.create(name=f"Grupp {index:05d} åäö")
    return server, mdm


@pytest.mark.parametrize("count", [0, 1, 99, 100, 101, 253])
def test_exact_counts_at_every_page_boundary(ez_sim: Callable[..., SimServer], count: int) -> None:
    server, mdm = empty_fleet_with_groups(ez_sim, count)
    server.app.list_requests = 0
    names = [g.name for g in mdm.groups.list()]
    assert len(names) == count
    assert len(set(names)) == count  # no page fetched twice, none skipped
    assert names == sorted(names)  # insertion order kept across concurrent pages
    pages = max(1, -(-count // 100))
    assert server.app.list_requests == pages  # never asks for more than the server has


def test_ten_thousand_devices_in_order_with_concurrent_pages(
    ez_sim: Callable[..., SimServer],
) -> None:
    server = ez_sim(devices=10_000)
    expected = server.app.ids("device")
    mdm = connect_ez(server, page_concurrency=8)
    ids = [d.id for d in mdm.devices.list()]
    assert ids == expected
    assert server.app.list_requests == 100


def test_server_that_clamps_limit_silently(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=253, max_page_size=40)
    ids = [d.id for d in connect_ez(server).devices.list()]  # asks for 100, gets 40 a page
    assert ids == server.app.ids("device")
    assert server.app.list_requests == 7  # ceil(253 / 40)


def test_short_page_once_is_fetched_again(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=253)
    server.app.short_page(2, missing=3, times=1)
    ids = [d.id for d in connect_ez(server, page_concurrency=1).devices.list()]
    assert ids == server.app.ids("device")


def test_short_page_twice_is_an_incomplete_listing(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=253)
    server.app.short_page(2, missing=1, times=2)
    with raises(IncompleteListing, match="page 2 of 3 held 99 items, expected 100"):
        list(connect_ez(server).devices.list())


def test_short_last_page_is_caught(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=253)
    server.app.short_page(3, missing=1, times=2)
    with raises(IncompleteListing, match="page 3 of 3 held 52 items, expected 53"):
        list(connect_ez(server).devices.list())


def test_total_that_changes_under_the_listing_is_refused(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=0)
    mdm = connect_ez(server, page_concurrency=1)
    for index in range(150):
        mdm.groups.create(name=f"G{index}")
    listing = mdm.groups.list()
    first = [next(listing) for _ in range(100)]  # page 1 consumed, page 2 not yet fetched
    assert len(first) == 100
    mdm.groups.create(name="added while listing")
    with raises(IncompleteListing, match="total changed from 150 to 151"):
        list(listing)


def test_total_drift_once_is_refetched_twice_is_refused(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=150)
    server.app.drift_total(by=-1, times=1)  # page 1 reports 149: page 2 then disagrees
    with raises(IncompleteListing):
        list(connect_ez(server, page_concurrency=1).devices.list())
    server.app.reset_counters()
    assert len(list(connect_ez(server).devices.list())) == 150


@pytest.mark.parametrize("fault", ["drop", "truncate"])
def test_page_dropped_or_cut_off_mid_listing_is_fetched_again(
    ez_sim: Callable[..., SimServer], fault: str
) -> None:
    server = ez_sim(devices=253)
    server.faults.add(fault, methods=["GET"], path="/device$", after=1, times=1)  # the 2nd page
    ids = [d.id for d in connect_ez(server, page_concurrency=1).devices.list()]
    assert ids == server.app.ids("device")


def test_page_failing_for_good_raises_not_truncates(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=253)
    server.faults.add("status", status=503, methods=["GET"], path="/device$", after=1, times=None)
    received: list[str] = []
    with raises(mdmbridge.VendorServerError):
        for device in connect_ez(server, retries=1, page_concurrency=4).devices.list():
            received.append(device.id)
    assert len(received) == 100  # page 1 was yielded; the error surfaced, it was not swallowed


def test_listing_is_lazy(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=1000)
    listing = connect_ez(server, page_concurrency=1).devices.list()
    assert server.app.list_requests == 0  # nothing fetched before iteration
    next(listing)
    assert server.app.list_requests == 1


# The paging mechanism itself, on plain functions (no HTTP).


def fetcher(
    items: list[int], *, total: Callable[[int], int] | None = None, clamp: int | None = None
) -> Callable[[int, int], Page[int]]:
    def fetch(page: int, limit: int) -> Page[int]:
        size = min(limit, clamp) if clamp else limit
        chunk = items[(page - 1) * size : page * size]
        return Page(chunk, total(page) if total else len(items))

    return fetch


@pytest.mark.parametrize("count", [0, 1, 9, 10, 11, 95])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_paginate_counts(count: int, concurrency: int) -> None:
    items = list(range(count))
    listing = paginate(fetcher(items), limit=10, what="x", key=str, concurrency=concurrency)
    assert list(listing) == items


def test_paginate_refuses_empty_first_page_with_total() -> None:
    with pytest.raises(IncompleteListing, match="page 1 came back empty"):
        list(paginate(lambda page, limit: Page([], 5), limit=10, what="x", key=str))


def test_paginate_refuses_oversized_page() -> None:
    with pytest.raises(IncompleteListing, match="more than the 10 asked"):
        list(paginate(lambda page, limit: Page(list(range(12)), 30), limit=10, what="x", key=str))


def test_paginate_refuses_negative_total() -> None:
    with pytest.raises(IncompleteListing, match="negative"):
        list(paginate(lambda page, limit: Page([1], -1), limit=10, what="x", key=str))


def test_paginate_handles_clamped_pages() -> None:
    items = list(range(57))
    listing = paginate(fetcher(items, clamp=7), limit=10, what="x", key=str, concurrency=3)
    assert list(listing) == items


def test_paginate_concurrent_error_is_raised_in_order() -> None:
    items = list(range(100))
    calls: list[int] = []

    def fetch(page: int, limit: int) -> Page[int]:
        calls.append(page)
        if page == 6:
            raise mdmbridge.TransportError("page 6 failed")
        return fetcher(items)(page, limit)

    got: list[int] = []
    with pytest.raises(mdmbridge.TransportError, match="page 6"):
        for item in paginate(fetch, limit=10, what="x", key=str, concurrency=3):
            got.append(item)
    assert got == items[:50]  # pages 1-5 in order, then the error; nothing after it


# Repeated ids: a listing never passes duplicates off as complete.


class Pages:
    """An in-memory paged server over ``items`` (ints; ids are ``str(item)``) whose pages
    can be rewritten: ``bad[page]`` is served instead of the real page while
    ``bad_times[page]`` lasts (None: for ever). Counts fetches per page, and the thread
    each fetch ran in."""

    def __init__(self, items: list[int], *, total: int | None = None) -> None:
        self.items = items
        self.total = len(items) if total is None else total
        self.bad: dict[int, list[int]] = {}
        self.bad_times: dict[int, int | None] = {}
        self.calls: dict[int, int] = {}
        self.threads: dict[int, list[str]] = {}
        self.lock = threading.Lock()

    def serve(self, page: int, items: list[int], times: int | None = None) -> None:
        self.bad[page] = items
        self.bad_times[page] = times

    def fetch(self, page: int, limit: int) -> Page[int]:
        with self.lock:
            self.calls[page] = self.calls.get(page, 0) + 1
            self.threads.setdefault(page, []).append(threading.current_thread().name)
            left = self.bad_times.get(page)
            if page in self.bad and (left is None or left > 0):
                if left is not None:
                    self.bad_times[page] = left - 1
                return Page(list(self.bad[page]), self.total)
        return Page(self.items[(page - 1) * limit : page * limit], self.total)


def listing(pages: Pages, concurrency: int, *, limit: int = 10) -> Iterator[int]:
    return paginate(
        pages.fetch, limit=limit, what="acme device list", key=str, concurrency=concurrency
    )


def drain(items: Iterator[int], into: list[int]) -> None:
    for item in items:
        into.append(item)


CONCURRENCY = pytest.mark.parametrize("concurrency", [1, 4])


@CONCURRENCY
def test_a_page_repeating_an_earlier_page_is_refused_after_one_refetch(concurrency: int) -> None:
    items = list(range(60))
    pages = Pages(items)
    page3 = items[20:30]
    page3[4] = 5  # page 3 holds item 5 (of page 1) where 24 belongs
    pages.serve(3, page3)
    got: list[int] = []
    with pytest.raises(IncompleteListing) as info:
        drain(listing(pages, concurrency), got)
    assert str(info.value) == (
        "acme device list: id '5' on page 3 was already listed (page 1); "
        "refusing to return a listing with duplicates"
    )
    assert got == items[:20]  # pages 1 and 2; nothing of the bad page
    assert pages.calls[3] == 2  # fetched once more, not more


@CONCURRENCY
def test_a_page_holding_one_id_twice_is_refused(concurrency: int) -> None:
    items = list(range(60))
    pages = Pages(items)
    pages.serve(2, [10, 11, 12, 12, 14, 15, 16, 17, 18, 19])  # 13 missing, 12 twice
    with pytest.raises(IncompleteListing) as info:
        list(listing(pages, concurrency))
    assert "id '12' on page 2 was already listed (earlier on page 2)" in str(info.value)
    assert pages.calls[2] == 2


def test_page_one_holding_one_id_twice_is_fetched_again_then_refused() -> None:
    items = list(range(30))
    pages = Pages(items)
    pages.serve(1, [0, 1, 2, 3, 3, 5, 6, 7, 8, 9])
    got: list[int] = []
    with pytest.raises(
        IncompleteListing,
        match=r"id '3' on page 1 was already listed \(earlier on page 1\); refusing to return a listing with duplicates",
    ):
        drain(listing(pages, 1), got)
    assert got == []  # page 1 is checked before any of its items is yielded
    assert pages.calls == {1: 2}


def test_page_one_duplicate_once_is_cured_by_the_refetch() -> None:
    items = list(range(30))
    pages = Pages(items)
    pages.serve(1, [0, 0, 2, 3, 4, 5, 6, 7, 8, 9], times=1)
    assert list(listing(pages, 1)) == items
    assert pages.calls[1] == 2


@CONCURRENCY
def test_a_transient_duplicate_is_cured_by_the_refetch_and_order_is_kept(
    concurrency: int,
) -> None:
    items = list(range(95))
    pages = Pages(items)
    pages.serve(4, [1, *items[31:40]], times=1)  # once: page 4 starts with item 1 of page 1
    pages.serve(7, [*items[60:69], 60], times=1)  # once: page 7 ends with its own first item
    assert list(listing(pages, concurrency)) == items  # every item once, in order
    assert (pages.calls[4], pages.calls[7]) == (2, 2)
    assert all(pages.calls[n] == 1 for n in (1, 2, 3, 5, 6, 8, 9, 10))


def test_concurrent_pages_are_checked_and_refetched_in_the_consuming_thread() -> None:
    items = list(range(95))
    pages = Pages(items)
    pages.serve(5, [7, *items[41:50]], times=1)
    assert list(listing(pages, 4)) == items
    first, again = pages.threads[5]
    assert first.startswith("mdmbridge-page")  # fetched ahead by the pool
    assert again == threading.current_thread().name  # re-fetched where ids are checked


@CONCURRENCY
@pytest.mark.parametrize("total", [50, 15, 10**400], ids=["50", "15", "10**400"])
def test_a_server_that_ignores_the_page_number_is_refused(concurrency: int, total: int) -> None:
    """Every page is page 1 again while the total promises more: the dead giveaway is
    page 2 repeating page 1's first id. A short total (15: page 2 should hold 5) and an
    absurd one (no float arithmetic overflows) end the same way."""
    items = list(range(10))
    pages = Pages(items, total=total)
    for number in range(2, 12):
        pages.serve(number, items)
    got: list[int] = []
    with pytest.raises(
        IncompleteListing,
        match=r"^acme device list: id '0' on page 2 was already listed \(page 1\)",
    ) as info:
        drain(listing(pages, concurrency), got)
    assert "refusing to return a listing with duplicates" in str(info.value)
    assert got == items  # page 1 only
    assert pages.calls[2] == 2


def test_the_default_key_is_the_record_id() -> None:
    records = [SimpleNamespace(id=f"r{n}") for n in range(25)]

    def fetch(page: int, limit: int) -> Page[SimpleNamespace]:
        chunk = records[(page - 1) * limit : page * limit]
        if page == 3:
            chunk = [records[0], *chunk[1:]]
        return Page(chunk, len(records))

    with pytest.raises(IncompleteListing, match=r"id 'r0' on page 3 was already listed \(page 1\)"):
        list(paginate(fetch, limit=10, what="x"))
    with pytest.raises(TypeError, match="pass key="):
        list(paginate(fetcher(list(range(5))), limit=10, what="x"))


def test_a_huge_repeated_id_is_excerpted_in_the_message() -> None:
    long_id = "9" * 100_000
    pages = [[long_id, "a"], [long_id, "b"]]
    fetch: Callable[[int, int], Page[str]] = lambda page, limit: Page(pages[page - 1], 4)  # noqa: E731
    with pytest.raises(IncompleteListing, match="on page 2 was already listed") as info:
        list(paginate(fetch, limit=2, what="x", key=lambda item: item))
    assert len(str(info.value)) < 200 and "\n" not in str(info.value)


# Unpaged arrays: unique() and single_page().


def test_unique_refuses_the_first_repeat_naming_the_id_and_both_positions() -> None:
    got: list[str] = []
    with pytest.raises(IncompleteListing) as info:
        for item in unique(iter(["a", "b", "c", "b", "d"]), what="acme tags list", key=lambda i: i):
            got.append(item)
    assert str(info.value) == (
        "acme tags list: id 'b' appears twice in the array (items 2 and 4); "
        "refusing to return a listing with duplicates"
    )
    assert got == ["a", "b", "c"]  # lazy: what came before the repeat was yielded


def test_unique_refuses_even_identical_copies_and_passes_distinct_ids() -> None:
    same = SimpleNamespace(id="7", name="G")
    with pytest.raises(IncompleteListing, match="id '7' appears twice"):
        list(unique([same, SimpleNamespace(id="7", name="G")], what="x"))
    records = [SimpleNamespace(id=str(n)) for n in range(1000)]
    assert list(unique(records, what="x")) == records


def test_single_page_goes_through_unique_and_stays_lazy() -> None:
    calls: list[int] = []

    def fetch() -> list[SimpleNamespace]:
        calls.append(1)
        return [SimpleNamespace(id="1"), SimpleNamespace(id="2"), SimpleNamespace(id="1")]

    items = single_page(fetch, what="acme groups list")
    assert calls == []
    with pytest.raises(
        IncompleteListing,
        match=r"acme groups list: id '1' appears twice in the array \(items 1 and 3\)",
    ):
        list(items)


# ezmdm's ``total``: only a plain, sane integer is a usable one.


@pytest.mark.parametrize(
    ("total", "expected"), [(0, 0), (253, 253), ("253", 253), (2**63 - 1, 2**63 - 1)]
)
def test_ezmdm_page_total_accepts_integers_and_ascii_digits(total: object, expected: int) -> None:
    assert page_total({"success": True, "total": total}, {}) == expected


@pytest.mark.parametrize(
    "total",
    [
        None,
        True,
        False,
        -1,
        "-1",
        12.0,
        float("inf"),
        float("nan"),
        "\uff11\uff12",  # fullwidth digits: str.isdigit() says yes
        "\u0661\u0662",  # Arabic-Indic digits
        "²",
        " 12",
        "",
        2**63,
        10**5000,
        "9" * 5000,
        [12],
    ],
    ids=lambda value: describe(value, 30),
)
def test_ezmdm_page_total_refuses_anything_else(total: object) -> None:
    with pytest.raises(mdmbridge.MalformedResponse, match="without a usable total") as info:
        page_total({"success": True, "total": total}, {"vendor": "ezmdm"})
    assert len(str(info.value)) < 200
