"""A listing never passes duplicates off as complete, end to end through the simulators.

Each test makes a live simulator serve a listing that repeats a record, then checks that
every list endpoint of both vendors raises ``IncompleteListing`` naming the repeated id
(after the one re-fetch, for ezmdm's pages) instead of returning the repeat.

The repeats are made by changing the simulators' in-memory state (a second entry holding
a copy of a record; an id put twice into ezmdm's list order; a page number ignored), so
these tests need nothing the simulators do not already offer. The last section uses the
simulators' ``duplicate`` and ``ignore_page`` faults, and is skipped while
``mdmbridge/simulation/faults.py`` does not have them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mdmbridge
from mdmbridge.errors import IncompleteListing
from mdmbridge.simulation import SimServer
from mdmbridge.simulation.faults import FaultKind
from tests.conftest import connect_duo, connect_ez
from tests.support import raises

Listing = Callable[[mdmbridge.Client], Iterator[Any]]

# DuoSTATION: resource -> (the simulator's table of it, the client call listing it)
DUO_LISTS: dict[str, tuple[str, Listing]] = {
    "groups": ("groups", lambda mdm: mdm.groups.list()),
    "users": ("users", lambda mdm: mdm.users.list()),
    "devices": ("devices", lambda mdm: mdm.devices.list()),
    "tags": ("tags", lambda mdm: mdm.tags.list()),
    "devicetags": ("device_tags", lambda mdm: mdm.device_tags.list()),
    "usertags": ("user_tags", lambda mdm: mdm.user_tags.list()),
    "grouptags": ("group_tags", lambda mdm: mdm.group_tags.list()),
    "apps": ("apps", lambda mdm: mdm.apps.list()),
}


def duo_repeat(server: SimServer, table_name: str) -> str:
    """Store a copy of one record of ``table_name`` under a second key: the array the
    simulator serves then holds that record (its ``Id``) twice. Returns the id."""
    app: Any = server.app
    with app.lock:
        table: dict[Any, dict[str, Any]] = getattr(app, table_name)
        assert len(table) >= 2, f"the seeded fleet has too few {table_name}"
        original_key = list(table)[len(table) // 2]
        record = dict(table[original_key])
        spare = str(uuid.uuid4()) if table_name == "devices" else max(table) + 1000
        table[spare] = record
    return str(record["Id"])


@pytest.mark.parametrize("resource", list(DUO_LISTS))
def test_duostation_array_holding_a_record_twice_is_refused(
    duo_sim: Callable[..., SimServer], resource: str
) -> None:
    server = duo_sim(devices=30)
    table_name, list_it = DUO_LISTS[resource]
    mdm = connect_duo(server)
    before = [record.id for record in list_it(mdm)]
    assert len(before) == len(set(before))  # clean before the change
    repeated = duo_repeat(server, table_name)
    with raises(
        IncompleteListing,
        match=rf"^duostation:duo-test {resource} list: id '{re.escape(repeated)}' appears "
        r"twice in the array \(items \d+ and \d+\); refusing to return a listing with duplicates$",
    ):
        list(list_it(mdm))


def test_duostation_groups_are_refused_before_any_is_returned(
    duo_sim: Callable[..., SimServer],
) -> None:
    """Group paths are worked out from the whole array, so nothing is yielded at all."""
    server = duo_sim(devices=30)
    duo_repeat(server, "groups")
    received: list[str] = []
    with raises(IncompleteListing, match="appears twice"):
        for group in connect_duo(server).groups.list():
            received.append(group.id)
    assert received == []


def test_duostation_streamed_fleet_with_a_repeat_at_the_end(
    duo_sim: Callable[..., SimServer],
) -> None:
    """A fleet large enough that the simulator streams the array: the repeat is found
    where it stands, after the records before it, which were all distinct."""
    server = duo_sim(devices=2100)
    app: Any = server.app
    with app.lock:
        first = next(iter(app.devices))
        app.devices[str(uuid.uuid4())] = dict(app.devices[first])  # repeats item 1, last
    received: list[str] = []
    with raises(
        IncompleteListing, match=rf"id '{first}' appears twice in the array \(items 1 and 2101\)"
    ):
        for device in connect_duo(server).devices.list():
            received.append(device.id)
    assert len(received) == 2100 and len(set(received)) == 2100


def test_duostation_ids_may_repeat_across_kinds(duo_sim: Callable[..., SimServer]) -> None:
    """Ids are per entity: group 1, user 1, tag 1 and app 1 are not duplicates."""
    mdm = connect_duo(duo_sim(devices=30))
    group_ids = {g.id for g in mdm.groups.list()}
    user_ids = {u.id for u in mdm.users.list()}
    tag_ids = {t.id for t in mdm.tags.list()}
    assert group_ids & user_ids & tag_ids  # the same numbers, each listing complete


# ezmdm: paged lists. A page repeating a record of an earlier page, or itself.

EZ_PAGE = 3  # small pages, so a seeded fleet (and one user's devices) spans several


def ez_app(server: SimServer) -> Any:
    return server.app


def ez_order(server: SimServer, kind: str) -> list[str]:
    """The simulator's own list of a kind's ids, in list order (live, not a copy)."""
    order: list[str] = ez_app(server)._order[kind]
    return order


def ez_owner_list(server: SimServer, index: str, minimum: int) -> tuple[str, list[str]]:
    """An owner (group, user, device) with at least ``minimum`` children, and the live
    list of those children's ids."""
    lists: dict[str, list[str]] = getattr(ez_app(server), index)
    owner, children = max(lists.items(), key=lambda entry: len(entry[1]))
    assert len(children) >= minimum, f"no owner in {index} with {minimum} children"
    return owner, children


def later_page_repeats_page_one(ids: list[str]) -> str:
    """Put page 1's second id where page 2's third belongs (that record goes missing, the
    total stays): the vendor bug of a page overlapping an earlier one."""
    ids[EZ_PAGE + 2] = ids[1]
    return ids[1]


EZ_LISTS: dict[str, tuple[str, Callable[[SimServer], tuple[Listing, list[str]]]]] = {
    "groups": (
        "group",
        lambda server: (lambda mdm: mdm.groups.list(), ez_order(server, "group")),
    ),
    "users": (
        "user",
        lambda server: (lambda mdm: mdm.users.list(), ez_order(server, "user")),
    ),
    "devices": (
        "device",
        lambda server: (lambda mdm: mdm.devices.list(), ez_order(server, "device")),
    ),
}


def ez_users_of_a_group(server: SimServer) -> tuple[Listing, list[str]]:
    group_id, users = ez_owner_list(server, "_users_by_group", EZ_PAGE + 3)
    return (lambda mdm: mdm.users.list(group_id=group_id)), users


def ez_devices_of_a_user(server: SimServer) -> tuple[Listing, list[str]]:
    user_id, devices = ez_owner_list(server, "_devices_by_user", EZ_PAGE + 3)
    return (lambda mdm: mdm.devices.list(user_id=user_id)), devices


EZ_LISTS["users of a group"] = ("user", ez_users_of_a_group)
EZ_LISTS["devices of a user"] = ("device", ez_devices_of_a_user)


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("listing", list(EZ_LISTS))
def test_ezmdm_page_repeating_an_earlier_page_is_refused(
    ez_sim: Callable[..., SimServer], listing: str, concurrency: int
) -> None:
    server = ez_sim(devices=600)
    item, pick = EZ_LISTS[listing]
    list_it, ids = pick(server)
    mdm = connect_ez(server, page_size=EZ_PAGE, page_concurrency=concurrency)
    assert [r.id for r in list_it(mdm)] == ids  # clean before the change
    repeated = later_page_repeats_page_one(ids)
    received: list[str] = []
    with raises(
        IncompleteListing,
        match=rf"^ezmdm:ez-test {item} list: id '{repeated}' on page 2 was already listed "
        r"\(page 1\); refusing to return a listing with duplicates$",
    ):
        for record in list_it(mdm):
            received.append(record.id)
    assert received == ids[:EZ_PAGE]  # page 1; nothing of the page that repeats it


def test_ezmdm_location_page_holding_a_record_twice_is_refused(
    ez_sim: Callable[..., SimServer],
) -> None:
    server = ez_sim(devices=60)
    device_id, locations = ez_owner_list(server, "_locations_by_device", 2)
    locations[1] = locations[0]  # one page, one location twice
    list_requests = ez_app(server).list_requests
    with raises(
        IncompleteListing,
        match=rf"ezmdm:ez-test devicelocation list: id '{locations[0]}' on page 1 was already "
        r"listed \(earlier on page 1\)",
    ):
        list(connect_ez(server).locations.list(device_id=device_id))
    assert ez_app(server).list_requests - list_requests == 2  # fetched once more


def test_ezmdm_repeat_cured_by_the_refetch_is_not_an_error(
    ez_sim: Callable[..., SimServer],
) -> None:
    """The same overlap, gone by the time the page is fetched again: the listing is whole."""
    server = ez_sim(devices=100)
    ids = ez_order(server, "device")
    expected = list(ids)
    app = ez_app(server)
    original = app._list
    served: list[int] = []

    def overlap_once(request: Any, chunk_ids: Any) -> Any:
        if request.arg("page") == "3" and not served:
            served.append(3)
            chunk = list(chunk_ids)
            chunk[2 * EZ_PAGE] = chunk[0]  # page 3 starts with page 1's first record
            return original(request, chunk)
        return original(request, chunk_ids)

    app._list = overlap_once
    got = [d.id for d in connect_ez(server, page_size=EZ_PAGE, page_concurrency=1).devices.list()]
    assert served == [3] and got == expected


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("listing", ["groups", "users", "devices"])
def test_ezmdm_server_ignoring_the_page_number_is_refused(
    ez_sim: Callable[..., SimServer], listing: str, concurrency: int
) -> None:
    """Page 1 again and again, with a total of several pages: refused at page 2."""
    server = ez_sim(devices=60)
    app = ez_app(server)
    real = app._positive_arg

    def page_ignored(request: Any, name: str, default: int) -> int:
        return 1 if name == "page" else int(real(request, name, default))

    app._positive_arg = page_ignored
    item, pick = EZ_LISTS[listing]
    list_it, ids = pick(server)
    with raises(
        IncompleteListing,
        match=rf"{item} list: id '{ids[0]}' on page 2 was already listed \(page 1\)",
    ):
        list(list_it(connect_ez(server, page_size=EZ_PAGE, page_concurrency=concurrency)))


# The simulators' own faults, where they exist already (another change adds them).

HAS_DUPLICATE = "duplicate" in {kind.value for kind in FaultKind}
HAS_IGNORE_PAGE = "ignore_page" in {kind.value for kind in FaultKind}
needs_duplicate = pytest.mark.skipif(
    not HAS_DUPLICATE, reason="the simulators have no 'duplicate' fault yet"
)
needs_ignore_page = pytest.mark.skipif(
    not HAS_IGNORE_PAGE, reason="the simulators have no 'ignore_page' fault yet"
)
DUPLICATE_MESSAGE = (
    r"id '[^']+' (appears twice in the array|on page \d+ was already listed)"
    r".*refusing to return a listing with duplicates"
)


@needs_duplicate
@pytest.mark.parametrize("resource", list(DUO_LISTS))
def test_duostation_duplicate_fault_on_every_list(
    duo_sim: Callable[..., SimServer], resource: str
) -> None:
    server = duo_sim(devices=30)
    _, list_it = DUO_LISTS[resource]
    server.faults.add("duplicate", times=None)
    with raises(IncompleteListing, match=DUPLICATE_MESSAGE) as info:
        list(list_it(connect_duo(server)))
    named = re.search(r"id '([^']+)'", str(info.value))
    server.faults.clear()
    assert named is not None and named.group(1) in {r.id for r in list_it(connect_duo(server))}


@needs_duplicate
@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("listing", list(EZ_LISTS))
def test_ezmdm_duplicate_fault_on_every_list(
    ez_sim: Callable[..., SimServer], listing: str, concurrency: int
) -> None:
    server = ez_sim(devices=600)
    _, pick = EZ_LISTS[listing]
    list_it, ids = pick(server)
    server.faults.add("duplicate", times=None)
    mdm = connect_ez(server, page_size=EZ_PAGE, page_concurrency=concurrency)
    with raises(IncompleteListing, match=DUPLICATE_MESSAGE) as info:
        list(list_it(mdm))
    named = re.search(r"id '([^']+)'", str(info.value))
    assert named is not None and named.group(1) in ids


@needs_duplicate
def test_ezmdm_duplicate_fault_on_locations(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=60)
    device_id, locations = ez_owner_list(server, "_locations_by_device", 2)
    server.faults.add("duplicate", times=None)
    with raises(IncompleteListing, match=DUPLICATE_MESSAGE) as info:
        list(connect_ez(server).locations.list(device_id=device_id))
    named = re.search(r"id '([^']+)'", str(info.value))
    assert named is not None and named.group(1) in locations


@needs_duplicate
def test_ezmdm_duplicate_fault_once_is_cured_by_the_refetch(
    ez_sim: Callable[..., SimServer],
) -> None:
    server = ez_sim(devices=100)
    expected = ez_app(server).ids("device")
    server.faults.add("duplicate", times=1)
    got = [d.id for d in connect_ez(server, page_size=EZ_PAGE).devices.list()]
    assert got == expected


@needs_ignore_page
@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("listing", list(EZ_LISTS))
def test_ezmdm_ignore_page_fault_on_every_list(
    ez_sim: Callable[..., SimServer], listing: str, concurrency: int
) -> None:
    server = ez_sim(devices=600)
    item, pick = EZ_LISTS[listing]
    list_it, ids = pick(server)
    server.faults.add("ignore_page", times=None)
    mdm = connect_ez(server, page_size=EZ_PAGE, page_concurrency=concurrency)
    with raises(
        IncompleteListing,
        match=rf"{item} list: id '{ids[0]}' on page 2 was already listed \(page 1\)",
    ):
        list(list_it(mdm))
