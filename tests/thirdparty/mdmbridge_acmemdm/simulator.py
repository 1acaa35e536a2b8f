"""Acme MDM's API in memory, for mdmbridge's SimServer (which adds the common faults).

A token endpoint, then groups, users and devices behind a bearer token: cursor pages with
an absolute ``next`` link and a ``count``, PATCH as a JSON merge patch (null clears), and
every error in the vendor's envelope ``{"error": {"code", "message", "request_id"}}``.
"""

from __future__ import annotations

import base64
import itertools
import random
import threading
import urllib.parse
from typing import Any

from mdmbridge.simulation import FaultKind, SimRequest, SimResponse
from mdmbridge.simulation.seed import CITIES, FleetGenerator

Record = dict[str, Any]
PREFIX = {"groups": "grp", "users": "usr", "devices": "dev"}
# What a create or a PATCH may hold, per kind (wire names); the first one is required.
FIELDS = {
    "groups": ("displayName", "description"),
    "users": ("displayName", "mail", "mobilePhone", "groupId", "department"),
    "devices": ("deviceName", "userId"),
}
FILTERS = {"users": ("mail", "groupId"), "devices": ("serialNumber", "userId")}
REFERENCES = {"groupId": "groups", "userId": "users"}
ACTIONS = frozenset({"lock", "sync"})
CODES = {400: "invalid", 401: "invalid_token", 404: "not_found", 409: "conflict", 422: "invalid"}
MAX_LIMIT = 500


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class AcmeSimulator:
    """State for tests: ``actions`` (device id, action) in order, ``tokens`` issued."""

    def __init__(self, *, client_id: str, client_secret: str, devices: int = 0, seed: int = 1):
        self.client_id, self.client_secret = client_id, client_secret
        self.records: dict[str, dict[str, Record]] = {kind: {} for kind in PREFIX}
        self.actions: list[tuple[str, str]] = []
        self.tokens: list[str] = []  # every token issued; valid unless revoked
        self.revoked: set[str] = set()
        self._lock = threading.Lock()
        self._rng = random.Random(f"acme:{seed}")
        self._requests = itertools.count(1)
        self._seed(FleetGenerator(seed), devices)

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (as after a key rotation)."""
        with self._lock:
            self.revoked.update(self.tokens)

    # the VendorApp protocol --------------------------------------------------------------

    def error_response(self, status: int, message: str) -> SimResponse:
        """Every error in the vendor's envelope, the simulator's faults' too."""
        code = CODES.get(status, "server_error" if status >= 500 else "error")
        return self._error(status, code, message)

    def handle(self, request: SimRequest) -> SimResponse:
        with self._lock:
            try:
                if request.path == "/oauth/token":
                    return self._token(request)
                self._authenticate(request)
                return self._route(request)
            except _Refused as refused:
                return self._error(refused.status, refused.code, str(refused))

    def _error(self, status: int, code: str, message: str) -> SimResponse:
        request_id = f"req_{next(self._requests):06d}"
        error = {"code": code, "message": message, "request_id": request_id}
        return SimResponse.json({"error": error}, status=status)

    # auth --------------------------------------------------------------------------------

    def _token(self, request: SimRequest) -> SimResponse:
        form = request.form()
        if request.method != "POST" or form.get("grant_type") != "client_credentials":
            return SimResponse.json({"error": "unsupported_grant_type"}, status=400)
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return SimResponse.json(
                {"error": "invalid_client", "error_description": "unknown client or secret"},
                status=401,
            )
        token = f"acme_at_{self._rng.getrandbits(128):032x}"
        self.tokens.append(token)
        return SimResponse.json({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _authenticate(self, request: SimRequest) -> None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or token not in self.tokens or token in self.revoked:
            raise _Refused(401, "invalid_token", "missing, expired or revoked access token")

    # routes ------------------------------------------------------------------------------

    def _route(self, request: SimRequest) -> SimResponse:
        parts = request.path.strip("/").split("/")
        if parts[0] != "v1" or len(parts) < 2 or parts[1] not in PREFIX or len(parts) > 4:
            raise _Refused(404, "not_found", f"no route {request.path}")
        kind, method = parts[1], request.method
        if len(parts) == 2:
            if method == "GET":
                return self._list(request, kind)
            if method == "POST" and kind != "devices":
                return self._create(request, kind)
        elif len(parts) == 3:
            record = self._find(kind, parts[2])
            if method == "GET":
                return SimResponse.json({"data": record})
            if method == "PATCH":
                return self._patch(request, kind, record)
            if method == "DELETE" and kind != "devices":
                return self._delete(kind, record)
        elif kind == "devices" and parts[3] == "actions" and method == "POST":
            return self._action(request, self._find(kind, parts[2]))
        raise _Refused(405, "method_not_allowed", f"{method} is not allowed on {request.path}")

    def _list(self, request: SimRequest, kind: str) -> SimResponse:
        try:
            limit = min(int(request.arg("limit") or 100), MAX_LIMIT)
            offset = int(base64.urlsafe_b64decode(request.arg("cursor") or "MA==").decode())
        except ValueError:
            raise _Refused(400, "invalid", "limit and cursor must be what the API gave") from None
        if limit < 1 or offset < 0:
            raise _Refused(400, "invalid", "limit must be positive")
        wanted = {key: request.arg(key) for key in FILTERS.get(kind, ())}
        matches = [
            record
            for record in self.records[kind].values()
            if all(
                value is None or str(record.get(key) or "").casefold() == value.casefold()
                for key, value in wanted.items()
            )
        ]
        page = [dict(record) for record in matches[offset : offset + limit]]
        if len(page) > 1 and request.faults.take(FaultKind.DUPLICATE):
            page[-1] = page[0]  # the fault: a page repeats a record
        link = None
        if offset + limit < len(matches):
            query = {k: v for k, v in wanted.items() if v is not None}
            query |= {"limit": str(limit), "cursor": _cursor(offset + limit)}
            host = request.headers.get("Host", "127.0.0.1")
            link = f"http://{host}/v1/{kind}?{urllib.parse.urlencode(query)}"
        return SimResponse.json({"data": page, "next": link, "count": len(matches)})

    def _find(self, kind: str, record_id: str) -> Record:
        record = self.records[kind].get(record_id)
        if record is None:
            raise _Refused(404, "not_found", f"no {kind[:-1]} {record_id}")
        return record

    def _fields(self, request: SimRequest, kind: str, *, create: bool) -> Record:
        body = request.json()
        if not isinstance(body, dict):
            raise _Refused(422, "invalid", "the body must be a JSON object")
        unknown = sorted(set(body) - set(FIELDS[kind]))
        if unknown:
            raise _Refused(422, "invalid", f"unknown field {unknown[0]}")
        name = FIELDS[kind][0]
        if (create or name in body) and not str(body.get(name) or "").strip():
            raise _Refused(422, "invalid", f"{name} is required")
        for key, value in body.items():
            if value is not None and not isinstance(value, str):
                raise _Refused(422, "invalid", f"{key} must be a string or null")
            if key in REFERENCES and value is not None:
                self._find(REFERENCES[key], value)
        return body

    def _create(self, request: SimRequest, kind: str) -> SimResponse:
        fields = self._fields(request, kind, create=True)
        new_id = self._new_id(kind)
        record: Record = {"id": new_id, **dict.fromkeys(FIELDS[kind]), **fields}
        self.records[kind][new_id] = record
        return SimResponse.json({"data": record}, status=201)

    def _patch(self, request: SimRequest, kind: str, record: Record) -> SimResponse:
        record.update(self._fields(request, kind, create=False))  # null clears: merge patch
        return SimResponse.json({"data": record})

    def _delete(self, kind: str, record: Record) -> SimResponse:
        key = "groupId" if kind == "groups" else "userId"
        members = "users" if kind == "groups" else "devices"
        if any(other.get(key) == record["id"] for other in self.records[members].values()):
            raise _Refused(409, "conflict", f"{kind[:-1]} {record['id']} still has {members}")
        del self.records[kind][record["id"]]
        return SimResponse(status=204, content_type="")

    def _action(self, request: SimRequest, device: Record) -> SimResponse:
        body = request.json()
        action = body.get("action") if isinstance(body, dict) else None
        if action not in ACTIONS:
            raise _Refused(422, "invalid", f"action must be one of {', '.join(sorted(ACTIONS))}")
        self.actions.append((device["id"], action))
        answer = {"id": f"act_{len(self.actions):06d}", "action": action, "status": "queued"}
        return SimResponse.json({"data": answer | {"deviceId": device["id"]}}, status=202)

    # seed data ---------------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        while True:
            new = f"{PREFIX[kind]}_{self._rng.getrandbits(48):012x}"
            if new not in self.records[kind] and not new.endswith("000000"):
                return new

    def _seed(self, fleet: FleetGenerator, devices: int) -> None:
        groups = []
        for city in CITIES[:4]:
            group_id = self._new_id("groups")
            self.records["groups"][group_id] = {
                "id": group_id,
                "displayName": city,
                "description": None,
            }
            groups.append(group_id)
        users = []
        for index in range(max(1, devices * 3 // 4)):
            person = fleet.person(index)
            user: Record = {
                "id": self._new_id("users"),
                "displayName": person.name,
                "mail": person.email,
                "mobilePhone": person.phone,
                "groupId": groups[index % len(groups)],
                "department": person.department,
            }
            self.records["users"][user["id"]] = user
            users.append((user["id"], person))
        for index in range(devices):
            owner = users[index] if index < len(users) else None
            handset = fleet.handset(index, owner[1] if owner else None)
            device: Record = {
                "id": self._new_id("devices"),
                "deviceName": handset.name,
                "serialNumber": handset.serial_number,
                "model": handset.model,
                "osType": handset.platform,
                "osVersion": handset.os_version,
                "userId": owner[0] if owner else None,
                "lastCheckIn": handset.last_seen.isoformat().replace("+00:00", "Z"),
                "batteryPercent": handset.battery_level,
            }
            self.records["devices"][device["id"]] = device


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()
