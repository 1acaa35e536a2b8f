"""The pager shapes beyond numbered-from-1: pages from 0, offsets, and cursors/next links,
each with the integrity checks every pager has (no id twice, counts add up, no cycles)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mdmbridge.errors import IncompleteListing
from mdmbridge.paging import CursorPage, Page, follow, paginate


@dataclass(frozen=True)
class Item:
    id: str


ITEMS = [Item(str(n)) for n in range(23)]


def test_pages_numbered_from_zero() -> None:
    asked: list[int] = []

    def fetch(page: int, limit: int) -> Page[Item]:
        asked.append(page)
        return Page(ITEMS[page * limit : (page + 1) * limit], len(ITEMS))

    assert list(paginate(fetch, limit=10, what="t", numbering="from_0")) == ITEMS
    assert asked == [0, 1, 2]


def test_offsets_follow_the_page_size_the_server_really_serves() -> None:
    asked: list[int] = []

    def fetch(offset: int, limit: int) -> Page[Item]:
        asked.append(offset)
        served = min(limit, 5)  # the server clamps limit to 5
        return Page(ITEMS[offset : offset + served], len(ITEMS))

    assert list(paginate(fetch, limit=10, what="t", numbering="offset")) == ITEMS
    assert asked == [0, 5, 10, 15, 20]


def _cursor_pages(
    pages: list[list[Item]], total: int | None = None
) -> dict[str | None, CursorPage[Item]]:
    out: dict[str | None, CursorPage[Item]] = {}
    for number, items in enumerate(pages):
        here = None if number == 0 else f"c{number}"
        nxt = f"c{number + 1}" if number + 1 < len(pages) else None
        out[here] = CursorPage(items, nxt, total)
    return out


def test_cursor_listing_is_complete_and_in_order_with_empty_pages_followed() -> None:
    pages = _cursor_pages([ITEMS[:10], [], ITEMS[10:20], ITEMS[20:]], total=23)
    assert list(follow(pages.__getitem__, what="t")) == ITEMS


def test_cursor_duplicate_is_refetched_once_then_refused_naming_the_id() -> None:
    pages = _cursor_pages([ITEMS[:10], [*ITEMS[10:19], ITEMS[3]]])
    calls: list[str | None] = []

    def fetch(cursor: str | None) -> CursorPage[Item]:
        calls.append(cursor)
        return pages[cursor]

    with pytest.raises(IncompleteListing, match=r"id '3' on page 2 was already listed \(page 1\)"):
        list(follow(fetch, what="t"))
    assert calls == [None, "c1", "c1"]


def test_cursor_duplicate_cured_by_the_refetch() -> None:
    good = CursorPage(ITEMS[10:], None)
    bad = CursorPage([ITEMS[0], *ITEMS[11:]], None)
    answers = iter([CursorPage(ITEMS[:10], "c1"), bad, good])
    assert list(follow(lambda cursor: next(answers), what="t")) == ITEMS


def test_cursor_cycle_is_refused() -> None:
    pages = {
        None: CursorPage(ITEMS[:5], "a"),
        "a": CursorPage(ITEMS[5:10], "b"),
        "b": CursorPage(ITEMS[10:15], "a"),
    }
    with pytest.raises(IncompleteListing, match="round in circles"):
        list(follow(pages.__getitem__, what="t"))


def test_cursor_count_must_add_up_and_not_change() -> None:
    short = _cursor_pages([ITEMS[:10], ITEMS[10:20]], total=23)
    with pytest.raises(IncompleteListing, match="listed 20 items but the server counted 23"):
        list(follow(short.__getitem__, what="t"))
    changing = {None: CursorPage(ITEMS[:10], "c1", 23), "c1": CursorPage(ITEMS[10:], None, 24)}
    with pytest.raises(IncompleteListing, match="count changed from 23 to 24"):
        list(follow(changing.__getitem__, what="t"))
