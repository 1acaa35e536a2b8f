"""A faithful fake ezmdm server, built on the shared simulator framework.

Speaks ``/api/v1/<API_KEY>/<item>[/<id>]`` the way the vendor's page describes it (see
``VENDOR_APIS.md``): every API-level error is HTTP 200 with ``{"success":false,"error":...}``,
writes are form-encoded only, lists page with ``limit``/``page`` and report ``total``, and one
id after a list item means either "that item" or "the children of that parent".

Run it by hand with::

    python -m mdmbridge_ezmdm.simulator --port 8081 --devices 500 --api-key KEY \
        --latency-ms 20 --fault status:429:retry_after=2:times=3

Seeded fleets are materialised lazily: seeding only draws ids, ownership and index entries,
and a record is generated (then cached) the first time it is served or changed, so 100,000
devices seed in well under a second and a page costs O(limit), never O(fleet).

Where the document is silent, the choices are marked **[sim decision]** below.
"""

from __future__ import annotations

import argparse
import bisect
import random
import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from mdmbridge.simulation.faults import FaultKind, Faults
from mdmbridge.simulation.seed import FleetGenerator
from mdmbridge.simulation.server import BadRequest, SimRequest, SimResponse, SimServer

__all__ = ["EzmdmSimulator", "main", "start_simulator"]

GROUP = "group"
USER = "user"
DEVICE = "device"
LOCATION = "devicelocation"
ITEMS = (GROUP, USER, DEVICE, LOCATION)

API_PREFIX = "/api/v1/"
FORM_TYPE = "application/x-www-form-urlencoded"
DEFAULT_LIMIT = 100  # the vendor's documented page size

# Fields a client may send, per verb and item (the wire names, exactly as spelled).
ADDABLE: dict[str, tuple[str, ...]] = {
    GROUP: ("name",),
    USER: ("name", "groupId", "email", "phone"),
}
UPDATABLE: dict[str, tuple[str, ...]] = {
    GROUP: ("name",),
    USER: ("groupId", "name", "email", "phone"),
    DEVICE: ("name", "userId", "push"),
}

# Approximate centres of the seed generator's cities (all inside lat 55-66, lon 11-24).
CITY_COORDS: tuple[tuple[float, float], ...] = (
    (57.7089, 11.9746),  # Göteborg
    (55.6050, 13.0038),  # Malmö
    (59.3293, 18.0686),  # Stockholm
    (59.6099, 16.5448),  # Västerås
    (59.2753, 15.2134),  # Örebro
    (58.4108, 15.6214),  # Linköping
    (63.8258, 20.2630),  # Umeå
    (65.5848, 22.1547),  # Luleå
)

_DIGITS = re.compile(r"[0-9]+")
_ID_LOW = 10**29  # ids are 30 digits, first digit non-zero, like the vendor's example
_ID_SPAN = 9 * 10**29
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

Record = dict[str, Any]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


class _ApiError(Exception):
    """An error the vendor reports in the envelope (HTTP 200, ``success: false``)."""


class EzmdmSimulator:
    """The ezmdm REST API as a :class:`~mdmbridge.simulation.server.VendorApp`.

    Public state for tests: ``pushes`` (device ids that received ``push=1``, in order) and
    ``list_requests`` (list GETs answered successfully). Paging-bug hooks: :meth:`short_page`
    and :meth:`drift_total`. Read-only helpers: :meth:`count`, :meth:`ids`, :meth:`record`.
    """

    def __init__(
        self,
        *,
        api_key: str = "ez-demo-key",
        devices: int = 0,
        seed: int = 1,
        max_page_size: int = 100,
    ) -> None:
        if devices < 0:
            raise ValueError("devices must be >= 0")
        if max_page_size < 1:
            raise ValueError("max_page_size must be >= 1")
        self.api_key = api_key
        self.seed = seed
        self.max_page_size = max_page_size
        self.pushes: list[str] = []
        self.list_requests: int = 0
        self._lock = threading.RLock()
        self._gen = FleetGenerator(seed)
        self._id_rng = random.Random(f"ezmdm:ids:{seed}")
        # id -> (item kind, position in that kind's insertion order)
        self._meta: dict[str, tuple[str, int]] = {}
        self._order: dict[str, list[str]] = {kind: [] for kind in ITEMS}
        self._objects: dict[str, Record] = {}  # materialised records
        self._pending: dict[str, tuple[Any, ...]] = {}  # seeded, not yet materialised
        self._users_by_group: dict[str, list[str]] = {}
        self._devices_by_user: dict[str, list[str]] = {}
        self._locations_by_device: dict[str, list[str]] = {}
        self._short_pages: list[list[int]] = []  # [page, missing, remaining]
        self._drifts: list[list[int]] = []  # [by, remaining]
        if devices:
            self._seed_fleet(devices)

    # ------------------------------------------------------------------ VendorApp protocol

    def error_response(self, status: int, message: str) -> SimResponse:
        return SimResponse.json({"success": False, "error": message}, status=status)

    def handle(self, request: SimRequest) -> SimResponse:
        path = request.path
        # [sim decision] the prefix is matched case-insensitively, like the rest of the URL.
        if not path.lower().startswith(API_PREFIX):
            return SimResponse(
                status=404, body=b"Not Found", content_type="text/plain; charset=utf-8"
            )
        parts = path[len(API_PREFIX) :].split("/")
        if len(parts) > 1 and parts[-1] == "":
            parts.pop()  # [sim decision] one trailing slash is ignored
        with self._lock:
            try:
                return self._route(request, parts)
            except (_ApiError, BadRequest) as exc:
                return self.error_response(200, str(exc))

    # ------------------------------------------------------------------ test hooks

    def short_page(self, page: int, missing: int = 1, times: int = 1) -> None:
        """The next ``times`` list answers for ``page`` drop their last ``missing`` items
        while still reporting the full ``total`` (the vendor's short-page bug)."""
        if page < 1 or missing < 1 or times < 1:
            raise ValueError("page, missing and times must be >= 1")
        with self._lock:
            self._short_pages.append([page, missing, times])

    def drift_total(self, by: int, times: int = 1) -> None:
        """The next ``times`` list answers report ``total + by`` (never below 0)."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._drifts.append([by, times])

    def reset_counters(self) -> None:
        """Zero ``list_requests``, forget ``pushes`` and pending paging hooks."""
        with self._lock:
            self.list_requests = 0
            self.pushes.clear()
            self._short_pages.clear()
            self._drifts.clear()

    def count(self, item: str) -> int:
        """How many items of a kind exist (what an unfiltered list reports as ``total``)."""
        with self._lock:
            return len(self._order[item.lower()])

    def ids(self, item: str) -> list[str]:
        """All ids of a kind, in list order (a copy)."""
        with self._lock:
            return list(self._order[item.lower()])

    def record(self, item: str, item_id: str) -> Record | None:
        """A copy of one record as the API would serve it, or None."""
        with self._lock:
            if self._kind_of(item_id) != item.lower():
                return None
            return dict(self._obj(item_id))

    # ------------------------------------------------------------------ routing

    def _route(self, request: SimRequest, parts: list[str]) -> SimResponse:
        if parts[0] != self.api_key:  # [sim decision] the key itself is case-sensitive
            raise _ApiError("Invalid API Key")
        if len(parts) < 2 or not parts[1]:
            raise _ApiError("An item is required")
        item = parts[1].lower()
        if item not in ITEMS:
            raise _ApiError(f"Unknown item: {parts[1]}")
        if len(parts) > 3 or (len(parts) == 3 and not parts[2]):
            raise _ApiError("Item not found")
        item_id = parts[2] if len(parts) == 3 else None
        if request.method == "GET":
            return self._get(request, item, item_id)
        if request.method == "PUT":
            return self._put(request, item, item_id)
        if request.method == "POST":
            return self._post(request, item, item_id)
        raise _ApiError("Method not allowed")

    def _get(self, request: SimRequest, item: str, item_id: str | None) -> SimResponse:
        if item_id is None:
            if item == LOCATION:
                raise _ApiError("An identifier is required")
            return self._list(request, self._order[item])
        kind = self._kind_of(item_id)
        if kind == item:
            return SimResponse.json({"success": True, "data": self._obj(item_id)})
        if item == USER and kind == GROUP:
            return self._list(request, self._users_by_group.get(item_id, []))
        if item == DEVICE and kind == USER:
            return self._list(request, self._devices_by_user.get(item_id, []))
        if item == LOCATION and kind == DEVICE:
            return self._list(request, self._locations_by_device.get(item_id, []))
        raise _ApiError("Item not found")

    def _list(self, request: SimRequest, ids: Sequence[str]) -> SimResponse:
        limit = min(self._positive_arg(request, "limit", DEFAULT_LIMIT), self.max_page_size)
        page = self._positive_arg(request, "page", 1)
        if page > 1 and request.faults.take(FaultKind.IGNORE_PAGE):
            page = 1  # the fault: a server that ignores ?page= (and says page 1)
        start = (page - 1) * limit
        chunk = ids[start : start + limit]
        total = len(ids)
        for rule in self._short_pages:
            if rule[0] == page:
                chunk = chunk[: max(0, len(chunk) - rule[1])]
                rule[2] -= 1
                break
        self._short_pages = [rule for rule in self._short_pages if rule[2] > 0]
        if self._drifts:
            rule = self._drifts[0]
            total = max(0, total + rule[0])
            rule[1] -= 1
            if rule[1] <= 0:
                self._drifts.pop(0)
        self.list_requests += 1
        data = [self._obj(item_id) for item_id in chunk]
        self._duplicate(request, data, ids, page, limit)
        return SimResponse.json({"success": True, "data": data, "page": page, "total": total})

    def _duplicate(
        self, request: SimRequest, data: list[Record], ids: Sequence[str], page: int, limit: int
    ) -> None:
        """The ``duplicate`` fault: a page repeats a record while its size and ``total`` stay
        right, so only a client that checks ids can notice.

        On page 2 or later the page's last record becomes page 1's first; on a listing that
        is one page only, the last record becomes a copy of the first. Page 1 of a longer
        listing, and a page with fewer than two records of a one-page listing, are left
        alone (the fault does not fire on them).
        """
        if not data:
            return
        if page > 1:
            if request.faults.take(FaultKind.DUPLICATE):
                data[-1] = self._obj(ids[0])
        elif len(ids) <= limit and len(data) > 1 and request.faults.take(FaultKind.DUPLICATE):
            data[-1] = data[0]

    @staticmethod
    def _positive_arg(request: SimRequest, name: str, default: int) -> int:
        raw = request.arg(name)
        if raw is None:
            return default
        # [sim decision] only plain ASCII digits; empty, signs, spaces and decimals are invalid.
        if not _DIGITS.fullmatch(raw) or len(raw) > 18 or int(raw) < 1:
            raise _ApiError(f"Invalid value for {name}")
        return int(raw)

    def _put(self, request: SimRequest, item: str, item_id: str | None) -> SimResponse:
        # [sim decision] PUT with an id is not an add, so it is refused like any bad verb.
        if item not in ADDABLE or item_id is not None:
            raise _ApiError("Method not allowed")
        fields = self._form(request, ADDABLE[item])
        name = fields.get("name")
        if name is None or not name.strip():  # [sim decision] a blank name counts as missing
            raise _ApiError("Missing required field: name")
        if item == GROUP:
            new_id = self._add_group(name)
        else:
            group_id = self._reference(fields.get("groupId"), GROUP, "groupId")
            new_id = self._add_user(
                name,
                group_id,
                _optional(fields.get("email")),
                _optional(fields.get("phone")),
            )
        return SimResponse.json({"success": True, "data": new_id})

    def _post(self, request: SimRequest, item: str, item_id: str | None) -> SimResponse:
        if item not in UPDATABLE or item_id is None:
            raise _ApiError("Method not allowed")
        fields = self._form(request, UPDATABLE[item])
        if self._kind_of(item_id) != item:
            raise _ApiError("Item not found")
        record = self._obj(item_id)
        # Validate everything first, so a refused update changes nothing.
        changes: dict[str, str | None] = {}
        if "name" in fields:
            if not fields["name"].strip():
                raise _ApiError("Invalid value for name")
            changes["name"] = fields["name"]
        if item == USER:
            if "groupId" in fields:
                changes["groupId"] = self._reference(fields["groupId"], GROUP, "groupId")
            for key in ("email", "phone"):
                if key in fields:
                    changes[key] = _optional(fields[key])
        push = False
        if item == DEVICE:
            if "userId" in fields:
                changes["userId"] = self._reference(fields["userId"], USER, "userId")
            if "push" in fields:
                # [sim decision] push=1 pushes, push=0 is a no-op, anything else is refused.
                if fields["push"] not in {"0", "1"}:
                    raise _ApiError("Invalid value for push")
                push = fields["push"] == "1"
        if "groupId" in changes and item == USER:
            self._move(self._users_by_group, record["groupId"], changes["groupId"], item_id)
        if "userId" in changes:
            self._move(self._devices_by_user, record["userId"], changes["userId"], item_id)
        record.update(changes)
        if push:
            self.pushes.append(item_id)
        return SimResponse.json({"success": True})

    def _form(self, request: SimRequest, allowed: tuple[str, ...]) -> dict[str, str]:
        content_type = request.content_type
        if content_type != FORM_TYPE:
            # [sim decision] an empty body without a Content-Type reads as an empty form.
            if not content_type and not request.body:
                return {}
            raise _ApiError(f"Unsupported content type: {content_type or '(none)'}")
        fields = request.form()
        for key in fields:
            if key not in allowed:  # [sim decision] field names are matched exactly
                raise _ApiError(f"Unknown field: {key}")
        return fields

    def _reference(self, value: str | None, kind: str, field: str) -> str | None:
        """A ``groupId``/``userId`` value: empty means none, otherwise it must exist."""
        if not value:
            return None
        if self._kind_of(value) != kind:
            raise _ApiError(f"Invalid value for {field}")
        return value

    # ------------------------------------------------------------------ storage

    def _kind_of(self, item_id: str) -> str | None:
        meta = self._meta.get(item_id)
        return None if meta is None else meta[0]

    def _new_id(self) -> str:
        while True:
            item_id = str(_ID_LOW + self._id_rng.randrange(_ID_SPAN))
            if item_id not in self._meta:
                return item_id

    def _register(self, kind: str) -> str:
        item_id = self._new_id()
        order = self._order[kind]
        self._meta[item_id] = (kind, len(order))
        order.append(item_id)
        return item_id

    def _index_insert(self, index: dict[str, list[str]], key: str, item_id: str) -> None:
        """Insert keeping the list in insertion order of the items (stable paging)."""
        bucket = index.setdefault(key, [])
        position = bisect.bisect_left(
            bucket, self._meta[item_id][1], key=lambda other: self._meta[other][1]
        )
        bucket.insert(position, item_id)

    def _index_remove(self, index: dict[str, list[str]], key: str, item_id: str) -> None:
        bucket = index.get(key)
        if not bucket:
            return
        position = bisect.bisect_left(
            bucket, self._meta[item_id][1], key=lambda other: self._meta[other][1]
        )
        if position < len(bucket) and bucket[position] == item_id:
            del bucket[position]
        if not bucket:
            del index[key]

    def _move(
        self, index: dict[str, list[str]], old: str | None, new: str | None, item_id: str
    ) -> None:
        if old == new:
            return
        if old is not None:
            self._index_remove(index, old, item_id)
        if new is not None:
            self._index_insert(index, new, item_id)

    def _add_group(self, name: str) -> str:
        group_id = self._register(GROUP)
        self._objects[group_id] = {"id": group_id, "name": name}
        return group_id

    def _add_user(
        self, name: str, group_id: str | None, email: str | None, phone: str | None
    ) -> str:
        user_id = self._register(USER)
        self._objects[user_id] = {
            "id": user_id,
            "groupId": group_id,
            "name": name,
            "email": email,
            "phone": phone,
        }
        if group_id is not None:
            self._index_insert(self._users_by_group, group_id, user_id)
        return user_id

    # ------------------------------------------------------------------ seeding

    def _seed_fleet(self, devices: int) -> None:
        """Draw the fleet's shape now; the records themselves are made on first use."""
        rng = random.Random(f"ezmdm:fleet:{self.seed}")
        group_ids = [self._add_group(" / ".join(path)) for path in self._gen.group_tree()]
        user_count = max(1, int(devices * 0.8))
        user_ids: list[str] = []
        for person_index in range(user_count):
            group_id = group_ids[rng.randrange(len(group_ids))]
            user_id = self._register(USER)
            self._pending[user_id] = (person_index, group_id)
            self._users_by_group.setdefault(group_id, []).append(user_id)
            user_ids.append(user_id)
        for device_index in range(devices):
            owner = rng.randrange(user_count) if rng.random() < 0.9 else -1
            device_id = self._register(DEVICE)
            owner_id = user_ids[owner] if owner >= 0 else None
            self._pending[device_id] = (device_index, owner, owner_id)
            if owner_id is not None:
                self._devices_by_user.setdefault(owner_id, []).append(device_id)
            location_count = rng.randrange(4)
            if location_count:
                location_ids = [self._register(LOCATION) for _ in range(location_count)]
                self._locations_by_device[device_id] = location_ids
                for location_id in location_ids:
                    self._pending[location_id] = (device_id, device_index)

    def _obj(self, item_id: str) -> Record:
        """The live record for an id, generating a seeded one on first use."""
        record = self._objects.get(item_id)
        if record is not None:
            return record
        kind = self._meta[item_id][0]
        if kind == USER:
            person_index, group_id = self._pending.pop(item_id)
            person = self._gen.person(person_index)
            record = {
                "id": item_id,
                "groupId": group_id,
                "name": person.name,
                "email": person.email,
                "phone": person.phone,
            }
        elif kind == DEVICE:
            device_index, owner, owner_id = self._pending.pop(item_id)
            owner_person = self._gen.person(owner) if owner >= 0 else None
            handset = self._gen.handset(device_index, owner_person)
            record = {
                "id": item_id,
                "userId": owner_id,
                "name": handset.name,
                "serialNumber": handset.serial_number,
                "udid": handset.udid,
                "imei": handset.imei,
                "model": handset.model,
                "os": handset.platform,
                "osVersion": handset.os_version,
                "phoneNumber": handset.phone_number,
                "batteryLevel": handset.battery_level,
                "lastCheckIn": _iso(handset.last_seen),
            }
        else:
            device_id, device_index = self._pending[item_id]
            self._make_locations(device_id, device_index)
            return self._objects[item_id]
        self._objects[item_id] = record
        return record

    def _make_locations(self, device_id: str, device_index: int) -> None:
        """All of one device's locations at once, oldest first, before its last check-in."""
        last_check_in = datetime.strptime(
            self._obj(device_id)["lastCheckIn"], _TIME_FORMAT
        ).replace(tzinfo=UTC)
        location_ids = self._locations_by_device[device_id]
        rng = random.Random(f"ezmdm:locations:{self.seed}:{device_index}")
        base_lat, base_lon = CITY_COORDS[rng.randrange(len(CITY_COORDS))]
        moment = last_check_in
        stamps: list[datetime] = []
        for _ in location_ids:
            moment -= timedelta(minutes=rng.randrange(5, 12 * 60), seconds=rng.randrange(60))
            stamps.append(moment)
        stamps.reverse()
        for location_id, stamp in zip(location_ids, stamps, strict=True):
            self._pending.pop(location_id, None)
            self._objects[location_id] = {
                "id": location_id,
                "deviceId": device_id,
                "latitude": round(base_lat + rng.uniform(-0.08, 0.08), 6),
                "longitude": round(base_lon + rng.uniform(-0.12, 0.12), 6),
                "accuracy": float(rng.choice((5, 8, 10, 12, 16, 25, 35, 65, 120))),
                "timestamp": _iso(stamp),
            }


def _optional(value: str | None) -> str | None:
    """[sim decision] an empty optional text value is stored (and served) as null."""
    return value or None


def start_simulator(
    *,
    devices: int = 0,
    api_key: str = "ez-demo-key",
    seed: int = 1,
    host: str = "127.0.0.1",
    port: int = 0,
    max_page_size: int = 100,
) -> SimServer:
    """Build an :class:`EzmdmSimulator`, serve it on ``host:port`` (0 = any free port)."""
    app = EzmdmSimulator(api_key=api_key, devices=devices, seed=seed, max_page_size=max_page_size)
    return SimServer(app, host=host, port=port).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mdmbridge_ezmdm.simulator",
        description="Serve a fake ezmdm REST API on this machine.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--devices", type=int, default=0, help="seed a fleet of this size")
    parser.add_argument("--api-key", default="ez-demo-key")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-page-size", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="e.g. status:429:retry_after=2:times=3 (repeatable)",
    )
    args = parser.parse_args(argv)
    specs: list[dict[str, Any]] = []
    for text in args.fault:
        try:
            specs.append(cast(dict[str, Any], Faults.parse_spec(text)))
        except ValueError as exc:
            parser.error(f"--fault {text!r}: {exc}")
    sim = start_simulator(
        devices=args.devices,
        api_key=args.api_key,
        seed=args.seed,
        host=args.host,
        port=args.port,
        max_page_size=args.max_page_size,
    )
    for spec in specs:
        sim.faults.add(**spec)
    sim.faults.latency_s = max(0.0, args.latency_ms) / 1000.0
    base_url = f"http://{args.host}:{sim.port}"
    print(f"ezmdm simulator: {base_url}/api/v1/{args.api_key}/", flush=True)
    print(f"base URL: {base_url}", flush=True)
    print(f"API key: {args.api_key}", flush=True)
    sim.serve_until_interrupted()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
