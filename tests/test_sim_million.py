"""Both simulators seed a million devices without building them: records are made from
(seed, position) when served, so start-up is instant and memory flat. Structural checks
only (records built, generator states kept, the last page right), no timings."""

from __future__ import annotations

import json
from email.message import Message

from mdmbridge_duostation.simulator import DuoStationSimulator
from mdmbridge_ezmdm.simulator import EzmdmSimulator

from mdmbridge.simulation.server import SimRequest

MILLION = 1_000_000


def test_ezmdm_million_devices_serves_its_last_page_without_building_the_fleet() -> None:
    small = EzmdmSimulator(devices=250, seed=4)
    big = EzmdmSimulator(devices=MILLION, seed=4)
    assert big.count("device") == MILLION and big.count("user") == 800_000
    assert big.built() == small.built() == 40  # only the group tree exists as records
    # The first records of a seed do not depend on the fleet's size.
    assert big.ids("group") == small.ids("group")
    assert big._order["user"][:3] == small.ids("user")[:3]
    with big._lock:
        last_page = json.loads(big._list(_request(page=10_000), big._order["device"]).body)
    assert last_page["total"] == MILLION and last_page["page"] == 10_000
    assert [d["id"] for d in last_page["data"]] == big._order["device"][MILLION - 100 :]
    assert all(d["serialNumber"] and d["lastCheckIn"] for d in last_page["data"])
    assert big.built() == 40  # serving kept nothing
    # One generator state per 1,024 draws walked, not one record per device.
    assert big._ids.checkpoints() < 4_000


def test_duostation_million_devices_builds_nothing_and_serves_the_last_records() -> None:
    sim = DuoStationSimulator(devices=MILLION, seed=2)
    assert len(sim.devices) == MILLION and len(sim.users) == 800_000
    assert sim.devices.built() == sim.users.built() == 0
    last = sim.devices.count - 1
    device = sim.devices.record_at(last)
    assert device is not None and device["UserId"] is None  # every tenth device has no user
    owned = sim.devices.record_at(last - 1)
    assert owned is not None and owned["UserId"] == (last - 1 - (last - 1) // 10) % 800_000 + 1
    user = sim.users.peek(800_000)  # users are keyed by id: no reverse map
    assert user is not None and user["Id"] == 800_000
    assert sim.devices.built() == sim.users.built() == 0


def test_duostation_streamed_listing_is_the_same_json_as_the_records() -> None:
    sim = DuoStationSimulator(devices=3_000, seed=5)
    body = b"".join(sim.devices.encoded_chunks())
    assert json.loads(body) == list(sim.devices.records())
    assert sim.devices.built() == 0
    sim.devices[sim.devices._key_of(1_234)]["Name"] = "Ändrad"  # an overlay record
    again = json.loads(b"".join(sim.devices.encoded_chunks()))
    assert again[1_234]["Name"] == "Ändrad" and len(again) == 3_000
    assert sim.devices.built() == 1


def _request(*, page: int) -> SimRequest:
    return SimRequest(
        method="GET",
        path="/api/v1/k/device",
        raw_path="/api/v1/k/device",
        query={"page": [str(page)], "limit": ["100"]},
        headers=Message(),
        body=b"",
    )
