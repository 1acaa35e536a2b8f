"""Paging you can trust: exact counts at every boundary, never a short list passed off as
complete, and memory bounded by pages in flight. Against the live ezmdm simulator, plus
unit tests of the one paging mechanism on plain functions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import mdmbridge
from mdmbridge.errors import IncompleteListing
from mdmbridge.paging import Page, paginate
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
    assert list(paginate(fetcher(items), limit=10, what="x", concurrency=concurrency)) == items


def test_paginate_refuses_empty_first_page_with_total() -> None:
    with pytest.raises(IncompleteListing, match="page 1 came back empty"):
        list(paginate(lambda page, limit: Page([], 5), limit=10, what="x"))


def test_paginate_refuses_oversized_page() -> None:
    with pytest.raises(IncompleteListing, match="more than the 10 asked"):
        list(paginate(lambda page, limit: Page(list(range(12)), 30), limit=10, what="x"))


def test_paginate_refuses_negative_total() -> None:
    with pytest.raises(IncompleteListing, match="negative"):
        list(paginate(lambda page, limit: Page([1], -1), limit=10, what="x"))


def test_paginate_handles_clamped_pages() -> None:
    items = list(range(57))
    assert list(paginate(fetcher(items, clamp=7), limit=10, what="x", concurrency=3)) == items


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
        for item in paginate(fetch, limit=10, what="x", concurrency=3):
            got.append(item)
    assert got == items[:50]  # pages 1-5 in order, then the error; nothing after it
