"""SeenIds: the exact, flat-memory "ids seen" set under every pager (issue 10).

Exactness is checked against a plain-dict model of the rule the pagers had before (the
first id of a page held earlier in the page, or by an earlier page), on both sides of the
spill threshold; the pagers are then driven across the real threshold (SPILL_AT ids) with
pure page functions, so the messages naming both positions are checked end to end.
"""

from __future__ import annotations

import gc
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdmbridge.errors import IncompleteListing, MalformedResponse
from mdmbridge.export.collect import LEFT_OUT, unique_rows
from mdmbridge.export.schema import ENTITIES
from mdmbridge.paging import CheckedRows, CursorPage, Page, follow, paginate, unique
from mdmbridge.paging.seen import SPILL_AT, Repeat, SeenIds, batches

# Ids that look alike but are not the same: NULs, a lone surrogate against the pair and the
# character it would make, a combining accent against the precomposed letter.
TRICKY = [
    "a",
    "a\x00",
    "a\x00b",
    "\x00",
    "",
    "\ud800",
    "\ud800\udc00",
    "\U00010000",
    "e\u0301",
    "\u00e9",
    "Ωμέγα-設備-🚀",
    "x" * 5000,
    "x" * 5001,
]
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
ids = st.one_of(st.sampled_from(TRICKY), any_text, st.uuids().map(str))
pages = st.lists(st.lists(ids, max_size=8), max_size=12)


def model_repeat(recorded: dict[str, int], page: list[str]) -> Repeat | None:
    """The rule as the pagers wrote it before SeenIds, one id at a time."""
    here: dict[str, int] = {}
    for index, ident in enumerate(page):
        if ident in here:
            return Repeat(ident, index, None, here[ident])
        if ident in recorded:
            return Repeat(ident, index, recorded[ident], None)
        here[ident] = index
    return None


def files_in(folder: str | Path) -> list[str]:
    return sorted(os.listdir(folder))


@settings(max_examples=150, deadline=None)
@given(pages=pages, spill_at=st.integers(0, 20), per_id=st.booleans())
def test_find_repeat_matches_the_one_at_a_time_rule_across_the_spill(
    pages: list[list[str]], spill_at: int, per_id: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        recorded: dict[str, int] = {}
        with SeenIds(spill_at=spill_at, directory=folder) as seen:
            for number, page in enumerate(pages, 1):
                expected = model_repeat(recorded, page)
                assert seen.find_repeat(page) == expected
                if expected is None:
                    places = range(number * 100, number * 100 + len(page))
                    seen.add(page, places if per_id else number)
                    recorded.update(
                        zip(page, places if per_id else [number] * len(page), strict=True)
                    )
                assert len(seen) == len(recorded)
            assert seen.spilled == (len(recorded) > spill_at)
        assert files_in(folder) == []


@settings(max_examples=60, deadline=None)
@given(distinct=st.lists(ids, unique=True, min_size=1, max_size=40), data=st.data())
def test_every_repeat_is_found_and_no_new_id_is_taken_for_one(
    distinct: list[str], data: st.DataObject
) -> None:
    split = data.draw(st.integers(0, len(distinct)), label="split")
    with SeenIds(spill_at=data.draw(st.integers(0, 10), label="spill_at")) as seen:
        seen.add(distinct[:split], 1)
        assert seen.find_repeat(distinct[split:]) is None  # never a false duplicate
        for index, ident in enumerate(distinct[:split]):
            found = seen.find_repeat([*distinct[split:], ident])  # never a missed one
            assert found == Repeat(ident, len(distinct) - split, 1, None), index


def test_spilling_empties_the_dict_and_keeps_every_id_and_tag(tmp_path: Path) -> None:
    with SeenIds(spill_at=5, directory=tmp_path) as seen:
        seen.add(["a", "b", "c"], 1)
        assert (seen.spilled, seen.in_memory) == (False, 3)
        seen.add(["d", "e", "f"], range(10, 13))  # 6 ids > 5: all of them move to disk
        assert (seen.spilled, seen.in_memory, len(seen)) == (True, 0, 6)
        assert seen.find_repeat(["z", "b"]) == Repeat("b", 1, 1, None)
        assert seen.find_repeat(["f"]) == Repeat("f", 0, 12, None)
        seen.add(["g"], 7)
        assert (seen.in_memory, len(seen)) == (0, 7)
        assert repr(seen) == "SeenIds(7 ids on disk)"


def test_look_alike_ids_stay_apart_on_disk() -> None:
    with SeenIds(spill_at=0) as seen:
        seen.add(TRICKY, range(1, len(TRICKY) + 1))
        assert seen.spilled and len(seen) == len(TRICKY)
        for place, ident in enumerate(TRICKY, 1):
            assert seen.find_repeat(["fresh", ident]) == Repeat(ident, 1, place, None)
        assert seen.find_repeat(["a\x00c", "\udc00", "x" * 4999, "E\u0301"]) is None


def test_a_very_long_id_is_exact_on_disk() -> None:
    long = "é" * 1_000_000  # 2 MB of UTF-8, many SQLite pages
    with SeenIds(spill_at=0) as seen:
        seen.add([long], 3)
        assert seen.find_repeat([long[:-1] + "e"]) is None
        assert seen.find_repeat(["x", long]) == Repeat(long, 1, 3, None)


def test_a_page_larger_than_one_lookup_query_is_checked_whole() -> None:
    with SeenIds(spill_at=0) as seen:
        seen.add([f"id-{n}" for n in range(5000)], 1)
        page = [f"new-{n}" for n in range(4999)] + ["id-4321"]
        assert seen.find_repeat(page) == Repeat("id-4321", 4999, 1, None)


def test_a_repeat_inside_the_page_names_its_first_place() -> None:
    for spill_at in (100, 0):
        with SeenIds(spill_at=spill_at) as seen:
            seen.add(["old"], 1)
            assert seen.find_repeat(["p", "q", "p", "old"]) == Repeat("p", 2, None, 0)
            assert seen.find_repeat(["p", "old", "p"]) == Repeat("old", 1, 1, None)


def test_the_temporary_file_never_outlives_the_set(tmp_path: Path) -> None:
    seen = SeenIds(spill_at=1, directory=tmp_path)
    seen.add(["a", "b"], 1)
    assert seen.spilled
    if os.name == "posix":  # unlinked as soon as it is open
        assert files_in(tmp_path) == []
    seen.close()
    seen.close()  # twice is harmless
    assert files_in(tmp_path) == []
    with pytest.raises(ValueError, match="closed"):
        seen.find_repeat(["a"])

    forgotten = SeenIds(spill_at=0, directory=tmp_path)
    forgotten.add(["a"], 1)
    del forgotten
    gc.collect()
    assert files_in(tmp_path) == []


def test_tags_must_match_the_ids_and_ids_must_be_strings_on_disk() -> None:
    with SeenIds(spill_at=0) as seen:
        with pytest.raises(ValueError, match="2 ids but 1 tags"):
            seen.add(["a", "b"], [1])
        with pytest.raises(TypeError, match="an id must be a string, not int"):
            seen.add([7], 1)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="spill_at"):
        SeenIds(spill_at=-1)


def test_one_listing_may_move_between_threads() -> None:
    seen = SeenIds(spill_at=2)
    seen.add(["a", "b", "c"], 1)  # spilled in this thread
    found: list[Repeat | None] = []

    def elsewhere() -> None:
        found.append(seen.find_repeat(["d", "c"]))
        seen.add(["d"], 2)
        found.append(seen.find_repeat(["d"]))

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert found == [Repeat("c", 1, 1, None), Repeat("d", 0, 2, None)]
    seen.close()


# batches: page-at-a-time checking of an input read item by item ---------------------------


def test_batches_hand_over_the_good_items_before_a_failing_input() -> None:
    def source() -> Iterator[int]:
        yield from range(5)
        raise MalformedResponse("item 6 is not JSON")

    got: list[list[int]] = []
    with pytest.raises(MalformedResponse, match="item 6"):
        for batch in batches(source(), 3):
            got.append(batch)
    assert got == [[0, 1, 2], [3, 4]]
    assert list(batches(range(6), 3)) == [[0, 1, 2], [3, 4, 5]]
    assert list(batches([], 3)) == []


def test_unique_yields_every_item_before_a_broken_one() -> None:
    def source() -> Iterator[SimpleNamespace]:
        yield SimpleNamespace(id="1")
        yield SimpleNamespace(id="2")
        raise MalformedResponse("the array broke off")

    got: list[str] = []
    with pytest.raises(MalformedResponse, match="broke off"):
        for item in unique(source(), what="x"):
            got.append(item.id)
    assert got == ["1", "2"]


# the pagers across the real threshold ---------------------------------------------------------

BEYOND = SPILL_AT + 50_000  # enough ids that every pager has spilled to disk


def test_unique_names_both_positions_after_spilling() -> None:
    array = [f"guid-{n}" for n in range(BEYOND)] + ["guid-2"]
    got = 0
    with pytest.raises(IncompleteListing) as info:
        for _ in unique(array, what="duo devices list", key=lambda i: i):
            got += 1
    assert str(info.value) == (
        f"duo devices list: id 'guid-2' appears twice in the array (items 3 and {BEYOND + 1}); "
        "refusing to return a listing with duplicates"
    )
    assert got == BEYOND  # every item before the repeat was yielded


@pytest.mark.parametrize("concurrency", [1, 4])
def test_paginate_names_both_pages_after_spilling(concurrency: int) -> None:
    size = 1000
    count = -(-BEYOND // size)
    total = count * size

    def fetch(number: int, limit: int) -> Page[str]:
        items = [f"dev-{(number - 1) * size + n}" for n in range(size)]
        if number == count:
            items[-1] = "dev-1500"  # page 2's, on the last page, whatever the retry
        return Page(items, total)

    listed = paginate(
        fetch, limit=size, what="ez devices", key=lambda i: i, concurrency=concurrency
    )
    got = 0
    with pytest.raises(IncompleteListing) as info:
        for _ in listed:
            got += 1
    assert str(info.value) == (
        f"ez devices: id 'dev-1500' on page {count} was already listed (page 2); "
        "refusing to return a listing with duplicates"
    )
    assert got == total - size  # no item of the wrong page was yielded
    clean = paginate(
        lambda n, limit: Page([f"d{(n - 1) * size + i}" for i in range(size)], total),
        limit=size,
        what="ez devices",
        key=lambda i: i,
    )
    assert sum(1 for _ in clean) == total


def test_follow_names_both_pages_after_spilling() -> None:
    size = 1000
    count = -(-BEYOND // size)

    def fetch(cursor: str | None) -> CursorPage[str]:
        number = 1 if cursor is None else int(cursor)
        items = [f"mgd-{(number - 1) * size + n}" for n in range(size)]
        if number == count:
            items[500] = "mgd-7"
        return CursorPage(items, None if number == count else str(number + 1))

    with pytest.raises(IncompleteListing) as info:
        for _ in follow(fetch, what="intune devices", key=lambda i: i):
            pass
    assert str(info.value) == (
        f"intune devices: id 'mgd-7' on page {count} was already listed (page 1); "
        "refusing to return a listing with duplicates"
    )


def test_the_export_refuses_a_repeated_id_after_spilling() -> None:
    spec = ENTITIES["devices"]
    at = [c.name for c in spec.columns].index("id")
    width = len(spec.columns)

    def rows() -> Iterator[tuple[object, ...]]:
        for n in [*range(BEYOND), 42]:
            row: list[object] = [None] * width
            row[at] = f"d-{n}"
            yield tuple(row)

    passed = 0
    with pytest.raises(MalformedResponse) as info:
        for _ in unique_rows(spec, rows(), outcome=LEFT_OUT):
            passed += 1
    assert str(info.value) == (
        "devices 'd-42': this id appears more than once in the tenant's listing; "
        "the tenant was left out of the export"
    )
    assert passed == BEYOND


def _rows_with_ids(ids: list[str]) -> list[tuple[object, ...]]:
    spec = ENTITIES["devices"]
    at = [c.name for c in spec.columns].index("id")
    out = []
    for ident in ids:
        row: list[object] = [None] * len(spec.columns)
        row[at] = ident
        out.append(tuple(row))
    return out


def test_rows_a_pager_checked_by_id_are_not_checked_twice() -> None:
    """``CheckedRows(rows, "id")`` is the pager's word (paginate and unique checked the
    whole listing already): the export passes them through without a second ids-seen
    set. What a real adapter's rows do on a repeat is held end to end in
    test_reliability_export (the pager's own error fails the tenant)."""
    rows = _rows_with_ids(["a", "b", "a"])
    spec = ENTITIES["devices"]
    passed = list(unique_rows(spec, CheckedRows(rows, "id"), outcome=LEFT_OUT))
    assert passed == rows


@pytest.mark.parametrize("wrap", [list, lambda rows: CheckedRows(rows, "serial_number")])
def test_rows_not_checked_by_id_are_checked_by_the_export(wrap: object) -> None:
    rows = _rows_with_ids(["a", "b", "a"])
    with pytest.raises(MalformedResponse, match="'a': this id appears more than once"):
        list(unique_rows(ENTITIES["devices"], wrap(rows), outcome=LEFT_OUT))  # type: ignore[operator]
