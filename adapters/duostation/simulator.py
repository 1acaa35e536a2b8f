"""A faithful fake DuoSTATION MDM server (REST API 4.8.49) on the shared simulator framework.

It answers the way the vendor's ASP.NET server does as far as the document and the public
evidence tell: compact JSON with PascalCase keys, device ids as bare 36-character GUIDs,
errors as ``{"Message": "..."}``, Basic Authentication on every request, case-insensitive
routes and query-parameter names, and empty 200 bodies for updates, deletes and commands.

Where the vendor document is silent this module takes a decision; every one is listed in the
"Decisions" block below so it can be corrected in one place when the vendor says otherwise.

Run it stand-alone::

    python -m mdmbridge_duostation.simulator --port 8080 --devices 500 \\
        --username api --password secret --latency-ms 20 --fault status:429:retry_after=2:times=3

Decisions (the document is silent):

- Empty query values (``?email=``) are ignored, as ASP.NET model binding turns them into
  null. Unknown query parameters and unknown body keys are ignored.
- ``GET /api/groups?number=&path=``: both may be given; ``number`` narrows the candidates and
  ``path`` then selects exactly one. A ``path`` whose segments are all empty is a 400.
  Empty path segments (``A//B``) are skipped.
- A referenced id inside a body that does not exist (``parentId``, ``groupId``, ``userId``,
  ``tagId``, ``deviceId``, ``appId``) is a 404, like the device PUT the brief specifies.
  ``groupId`` 0 or null on users and tags means "no group".
- String fields must be JSON strings or null; integer fields must be JSON integers (not
  booleans, not floats). Only the link endpoints (devicetags, usertags, grouptags) also take
  numeric strings for their ids, because the vendor document quotes them.
- A required text field must be non-blank. A PUT that sends ``name`` must send a non-blank one.
- Lost mode: a value that is blank (empty or whitespace) counts as "no value".
- Changing a user's group moves the user's devices to the new group; clearing the group
  (null/0) leaves the devices where they are. Relinking a device to a user without a group
  keeps the device's group.
- Deleting a user (allowed only without devices) also removes the user's usertags.
- Linking the same (device|user|group, tag) pair twice is a 409.
- Apps are matched on (packageId compared case-insensitively, platform, store). On update,
  absent optional keys (description, versionNumber) keep their stored value; the image given
  replaces both image fields. ``imageData`` must be valid base64, ``imageUrl`` an http(s) URL;
  an App Store ``storeId`` is ASCII digits only.
- Filters compare strings case-insensitively and exactly (after trimming the query value);
  ``tagId`` filters use the direct links only (devicetags / usertags). An unknown ``tagId``
  or ``groupId`` in a filter gives an empty array, not a 404.
- Every resource has its own id sequence starting at 1; ids are never reused.
- Device GUIDs are accepted in any form ``uuid.UUID`` parses (upper case, braces, no
  dashes) and always answered in the lowercase 36-character form.
- Check order: authentication, route (404), method (405), id syntax (400), existence (404),
  body (400), referenced ids (404), refusals (409).
- Basic credentials are accepted whether ``user:password`` was encoded as UTF-8 (RFC 7617)
  or as latin-1 (what ``requests`` sends) before base64.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import re
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC
from typing import Any, TypeVar, cast

from mdmbridge.simulation.faults import FaultKind, Faults
from mdmbridge.simulation.seed import FleetGenerator, Person
from mdmbridge.simulation.server import (
    BadRequest,
    SimRequest,
    SimResponse,
    SimServer,
    iter_json_array,
)

__all__ = ["ID_SHAPES", "DuoStationSimulator", "main", "start_simulator"]

REALM = "DuoSTATION"
DENIED = "Authorization has been denied for this request."
ID_SHAPES = ("number", "string", "object")
STREAM_THRESHOLD = 2000
ACCOUNT_GROUP = "ad.example.se"
COMMANDS = frozenset(
    {
        "inventorydevice",
        "installapp",
        "removeapp",
        "lockdevice",
        "wipedevice",
        "clearpasscode",
        "sendmessage",
    }
)
PLATFORMS = {0: "iOS", 1: "Android", 2: "macOS", 3: "tvOS"}
STORES = {0: "App Store", 1: "Play", 2: "in-house"}

Record = dict[str, Any]
CollectionHandler = Callable[[SimRequest], SimResponse]
ItemHandler = Callable[[SimRequest, str], SimResponse]
_H = TypeVar("_H", CollectionHandler, ItemHandler)

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[/\\]")

# A 1x1 transparent PNG, for the seeded app that carries imageData.
_TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
    "AAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class _Refused(Exception):
    """An answer other than 200, raised anywhere below ``handle``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _bad(message: str) -> _Refused:
    return _Refused(400, message)


def _parse_int_text(text: str) -> int | None:
    stripped = text.strip()
    return int(stripped) if _INT_TEXT.fullmatch(stripped) else None


def _parse_guid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError):
        return None


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _same(stored: str | None, wanted: str) -> bool:
    """Case-insensitive exact comparison of a stored string with a filter value."""
    return stored is not None and stored.strip().casefold() == wanted.casefold()


def _is_http_url(text: str) -> bool:
    parts = urllib.parse.urlsplit(text.strip())
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


class _Body:
    """A JSON object body whose keys are matched case-insensitively, with typed readers."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.raw: dict[str, Any] = dict(data)
        self._values = {key.lower(): value for key, value in data.items()}

    def has(self, name: str) -> bool:
        return name.lower() in self._values

    def value(self, name: str) -> Any:
        return self._values.get(name.lower())

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.value(name)
        if value is None:
            if required:
                raise _bad(f"The field '{name}' is required.")
            return None
        if not isinstance(value, str):
            raise _bad(f"The field '{name}' must be a string.")
        if required and not value.strip():
            raise _bad(f"The field '{name}' is required and cannot be empty.")
        return value

    def integer(self, name: str, *, required: bool = False, allow_text: bool = False) -> int | None:
        value = self.value(name)
        if value is None:
            if required:
                raise _bad(f"The field '{name}' is required.")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if allow_text and isinstance(value, str):
            parsed = _parse_int_text(value)
            if parsed is not None:
                return parsed
        raise _bad(f"The field '{name}' must be an integer.")

    def boolean(self, name: str) -> bool | None:
        value = self.value(name)
        if value is None or isinstance(value, bool):
            return value
        raise _bad(f"The field '{name}' must be true or false.")


def _read_body(request: SimRequest) -> _Body:
    try:
        data = request.json()
    except BadRequest as exc:
        raise _bad(f"The request body is not valid JSON: {exc}") from exc
    if data is None:
        raise _bad("The request body is empty; a JSON object is expected.")
    if not isinstance(data, dict):
        raise _bad("The request body must be a JSON object.")
    return _Body(data)


class DuoStationSimulator:
    """The DuoSTATION MDM REST API in memory; a ``VendorApp`` for :class:`SimServer`.

    State is public so tests can inspect it: ``groups``, ``users``, ``tags``, ``device_tags``,
    ``user_tags``, ``group_tags`` and ``apps`` are dicts keyed by integer id, ``devices`` is
    keyed by the lowercase GUID; every value is the record in its wire shape (groups without
    the derived ``Path``, user tags without the derived ``UserName``). ``commands`` lists every
    accepted device command as ``(device id, command, body)``. Hold ``lock`` to read state
    consistently while the server runs.
    """

    def __init__(
        self,
        *,
        username: str = "api",
        password: str = "secret",
        devices: int = 0,
        seed: int = 1,
        id_shape: str = "number",
    ) -> None:
        if id_shape not in ID_SHAPES:
            raise ValueError(f"id_shape must be one of {', '.join(ID_SHAPES)}, not {id_shape!r}")
        if devices < 0:
            raise ValueError("devices must be >= 0")
        self.username = username
        self.password = password
        self.id_shape = id_shape
        self.lock = threading.RLock()
        self.groups: dict[int, Record] = {}
        self.users: dict[int, Record] = {}
        self.devices: dict[str, Record] = {}
        self.tags: dict[int, Record] = {}
        self.device_tags: dict[int, Record] = {}
        self.user_tags: dict[int, Record] = {}
        self.group_tags: dict[int, Record] = {}
        self.apps: dict[int, Record] = {}
        self.commands: list[tuple[str, str, dict[str, Any]]] = []
        self._counters: dict[str, int] = {}
        # Indexes, so lookups stay fast on a 100,000-device fleet.
        self._devices_by_user: dict[int, set[str]] = {}
        self._devices_by_serial: dict[str, set[str]] = {}
        self._device_order: dict[str, int] = {}
        self._users_by_email: dict[str, set[int]] = {}
        self._collections: dict[str, dict[str, CollectionHandler]] = {
            "groups": {"GET": self._list_groups, "POST": self._create_group},
            "users": {"GET": self._list_users, "POST": self._create_user},
            "devices": {"GET": self._list_devices},
            "tags": {"GET": self._list_tags, "POST": self._create_tag},
            "devicetags": {"GET": self._list_device_tags, "POST": self._create_device_tag},
            "usertags": {"GET": self._list_user_tags, "POST": self._create_user_tag},
            "grouptags": {"GET": self._list_group_tags, "POST": self._create_group_tag},
            "apps": {"GET": self._list_apps, "POST": self._save_app},
        }
        self._items: dict[str, dict[str, ItemHandler]] = {
            "groups": {
                "GET": self._get_group,
                "PUT": self._update_group,
                "DELETE": self._delete_group,
            },
            "users": {"GET": self._get_user, "PUT": self._update_user, "DELETE": self._delete_user},
            "devices": {"GET": self._get_device, "PUT": self._update_device},
            "tags": {"GET": self._get_tag, "PUT": self._update_tag, "DELETE": self._delete_tag},
            "devicetags": {"GET": self._get_device_tag, "DELETE": self._delete_device_tag},
            "usertags": {"GET": self._get_user_tag, "DELETE": self._delete_user_tag},
            "grouptags": {"GET": self._get_group_tag, "DELETE": self._delete_group_tag},
            "apps": {"GET": self._get_app},
        }
        if devices:
            self._seed(devices, seed)

    # ------------------------------------------------------------------ VendorApp protocol

    def handle(self, request: SimRequest) -> SimResponse:
        try:
            self._authenticate(request)
            with self.lock:
                return self._dispatch(request)
        except _Refused as exc:
            response = self.error_response(exc.status, exc.message)
            response.headers.update(exc.headers)
            return response

    def error_response(self, status: int, message: str) -> SimResponse:
        response = SimResponse.json({"Message": message}, status=status)
        if status == 401:
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        return response

    # ------------------------------------------------------------------ plumbing

    def _authenticate(self, request: SimRequest) -> None:
        header = (request.headers.get("Authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            raise _Refused(401, DENIED)
        try:
            raw = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise _Refused(401, DENIED) from None
        # RFC 7617 says UTF-8 (charset="UTF-8"), but requests and many scripts encode
        # user:password as latin-1; the server accepts either, UTF-8 tried first.
        for encoding in ("utf-8", "latin-1"):
            try:
                decoded = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            user, sep, password = decoded.partition(":")
            if sep and user == self.username and password == self.password:
                return
        raise _Refused(401, DENIED)

    def _dispatch(self, request: SimRequest) -> SimResponse:
        not_found = _Refused(
            404, f"No HTTP resource was found that matches the request URI '{request.raw_path}'."
        )
        trimmed = request.path.rstrip("/")
        if not trimmed.startswith("/"):
            raise not_found
        parts = trimmed[1:].split("/")
        if len(parts) < 2 or parts[0].lower() != "api" or "" in parts:
            raise not_found
        resource, rest = parts[1].lower(), parts[2:]
        if resource not in self._collections:
            raise not_found
        if not rest:
            handlers = self._collections[resource]
            return self._method(handlers, request)(request)
        if len(rest) == 1:
            item_handlers = self._items[resource]
            return self._method(item_handlers, request)(request, rest[0])
        if len(rest) == 2 and resource == "devices" and rest[1].lower() in COMMANDS:
            command = rest[1].lower()

            def run(req: SimRequest, raw_id: str) -> SimResponse:
                return self._command(req, raw_id, command)

            return self._method({"POST": run}, request)(request, rest[0])
        raise not_found

    @staticmethod
    def _method(handlers: Mapping[str, _H], request: SimRequest) -> _H:
        handler = handlers.get(request.method)
        if handler is None:
            raise _Refused(
                405,
                f"The requested resource does not support http method '{request.method}'.",
                {"Allow": ", ".join(sorted(handlers))},
            )
        return handler

    def _next_id(self, kind: str) -> int:
        value = self._counters.get(kind, 0) + 1
        self._counters[kind] = value
        return value

    def _created(self, new_id: int) -> SimResponse:
        if self.id_shape == "string":
            return SimResponse.json(str(new_id))
        if self.id_shape == "object":
            return SimResponse.json({"Id": new_id})
        return SimResponse.json(new_id)

    @staticmethod
    def _empty() -> SimResponse:
        return SimResponse(status=200, body=b"")

    @staticmethod
    def _listing(request: SimRequest, items: list[Record]) -> SimResponse:
        """A JSON array; large ones are streamed (``items`` must already be copies).

        Every list endpoint answers through here, so the ``duplicate`` fault applies to all
        of them: the first record is sent again right after itself (byte-identical).
        ``ignore_page`` never applies: DuoSTATION does not page.
        """
        if items and request.faults.take(FaultKind.DUPLICATE):
            items = [items[0], *items]
        if len(items) > STREAM_THRESHOLD:
            return SimResponse(chunks=iter_json_array(items))
        return SimResponse.json(items)

    @staticmethod
    def _int_id(raw: str, what: str) -> int:
        value = _parse_int_text(raw)
        if value is None:
            raise _bad(f"The value '{raw}' is not a valid {what} id; an integer is expected.")
        return value

    @staticmethod
    def _guid_id(raw: str) -> str:
        value = _parse_guid(raw)
        if value is None:
            raise _bad(f"The value '{raw}' is not a valid device id; a GUID is expected.")
        return value

    @staticmethod
    def _find(table: Mapping[Any, Record], key: Any, what: str) -> Record:
        record = table.get(key)
        if record is None:
            raise _Refused(404, f"{what} {key} was not found.")
        return record

    @staticmethod
    def _q_text(request: SimRequest, name: str) -> str | None:
        value = request.arg(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    @classmethod
    def _q_int(cls, request: SimRequest, name: str) -> int | None:
        value = cls._q_text(request, name)
        if value is None:
            return None
        parsed = _parse_int_text(value)
        if parsed is None:
            raise _bad(f"The value '{value}' is not valid for {name}; an integer is expected.")
        return parsed

    def _group_ref(self, group_id: int | None, field: str = "groupId") -> int | None:
        """A group id from a body: None/0 mean no group; anything else must exist."""
        if not group_id:
            return None
        if group_id not in self.groups:
            raise _Refused(404, f"Group {group_id} ({field}) was not found.")
        return group_id

    # ------------------------------------------------------------------ groups

    def group_path(self, group_id: int) -> str:
        """The group's ``Path``: names from the top, joined with a backslash."""
        with self.lock:
            return "\\".join(self._path_names(group_id, {}))

    def _path_names(self, group_id: int, cache: dict[int, list[str]]) -> list[str]:
        chain: list[int] = []
        current = group_id
        while current and current in self.groups and current not in cache:
            if current in chain:  # a cycle cannot be built through the API; stay safe anyway
                break
            chain.append(current)
            current = self.groups[current]["ParentId"]
        names = list(cache.get(current, []))
        for gid in reversed(chain):
            names = [*names, self.groups[gid]["Name"]]
            cache[gid] = names
        return cache.get(group_id, names)

    def _group_out(self, group: Record, cache: dict[int, list[str]]) -> Record:
        return {
            "Id": group["Id"],
            "Name": group["Name"],
            "ParentId": group["ParentId"],
            "Path": "\\".join(self._path_names(group["Id"], cache)),
            "Number": group["Number"],
            "Notes": group["Notes"],
            "LostModeMessage": group["LostModeMessage"],
            "LostModePhoneNumber": group["LostModePhoneNumber"],
            "LostModeFootNode": group["LostModeFootNode"],
        }

    def _list_groups(self, request: SimRequest) -> SimResponse:
        number = self._q_text(request, "number")
        path = request.arg("path")
        candidates = [
            g for g in self.groups.values() if number is None or _same(g["Number"], number)
        ]
        cache: dict[int, list[str]] = {}
        if path is not None and path.strip():
            wanted = [s.strip().casefold() for s in _SEPARATORS.split(path) if s.strip()]
            if not wanted:
                raise _bad(f"The path '{path}' does not name a group.")
            matches = [
                g
                for g in candidates
                if [n.strip().casefold() for n in self._path_names(g["Id"], cache)] == wanted
            ]
            if not matches:
                raise _Refused(404, f"No group matches the path '{path}'.")
            if len(matches) > 1:
                ids = ", ".join(str(g["Id"]) for g in matches)
                raise _Refused(
                    409,
                    f"The path '{path}' matches {len(matches)} groups (ids {ids}); "
                    "use the group id instead.",
                )
            return SimResponse.json(self._group_out(matches[0], cache))
        return self._listing(request, [self._group_out(g, cache) for g in candidates])

    def _get_group(self, request: SimRequest, raw_id: str) -> SimResponse:
        group = self._find(self.groups, self._int_id(raw_id, "group"), "Group")
        return SimResponse.json(self._group_out(group, {}))

    @staticmethod
    def _lost_mode_input(body: _Body) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        if body.has("lostModeMessage"):
            out["LostModeMessage"] = body.text("lostModeMessage")
        if body.has("lostModePhoneNumber"):
            out["LostModePhoneNumber"] = body.text("lostModePhoneNumber")
        # The document spells it FootNode in the JSON and FootNote in the prose: read either.
        if body.has("lostModeFootNode"):
            out["LostModeFootNode"] = body.text("lostModeFootNode")
        elif body.has("lostModeFootNote"):
            out["LostModeFootNode"] = body.text("lostModeFootNote")
        return out

    @staticmethod
    def _check_lost_mode(group: Record) -> None:
        fields = ("LostModeMessage", "LostModePhoneNumber", "LostModeFootNode")
        filled = [not _blank(group[f]) for f in fields]
        if any(filled) and not all(filled):
            missing = ", ".join(
                f[0].lower() + f[1:] for f, ok in zip(fields, filled, strict=True) if not ok
            )
            raise _bad(
                "All parameters for lost mode (lostModeMessage, lostModePhoneNumber, "
                f"lostModeFootNode) must have a value or no value; missing: {missing}."
            )

    def _create_group(self, request: SimRequest) -> SimResponse:
        body = _read_body(request)
        name = body.text("name", required=True)
        parent_id = body.integer("parentId") or 0
        number, notes = body.text("number"), body.text("notes")
        lost = self._lost_mode_input(body)
        if parent_id and parent_id not in self.groups:
            raise _Refused(404, f"Group {parent_id} (parentId) was not found.")
        group: Record = {
            "Id": 0,
            "Name": name,
            "ParentId": parent_id,
            "Number": number,
            "Notes": notes,
            "LostModeMessage": lost.get("LostModeMessage"),
            "LostModePhoneNumber": lost.get("LostModePhoneNumber"),
            "LostModeFootNode": lost.get("LostModeFootNode"),
        }
        self._check_lost_mode(group)
        group["Id"] = self._next_id("groups")
        self.groups[group["Id"]] = group
        return self._created(group["Id"])

    def _update_group(self, request: SimRequest, raw_id: str) -> SimResponse:
        group_id = self._int_id(raw_id, "group")
        group = self._find(self.groups, group_id, "Group")
        body = _read_body(request)
        updated = dict(group)
        if body.has("name"):
            updated["Name"] = body.text("name", required=True)
        if body.has("number"):
            updated["Number"] = body.text("number")
        if body.has("notes"):
            updated["Notes"] = body.text("notes")
        updated.update(self._lost_mode_input(body))
        self._check_lost_mode(updated)
        self.groups[group_id] = updated
        return self._empty()

    def _delete_group(self, request: SimRequest, raw_id: str) -> SimResponse:
        group_id = self._int_id(raw_id, "group")
        self._find(self.groups, group_id, "Group")
        links = (
            ("subgroups", (g for g in self.groups.values() if g["ParentId"] == group_id)),
            ("linked users", (u for u in self.users.values() if u["GroupId"] == group_id)),
            ("linked devices", (d for d in self.devices.values() if d["GroupId"] == group_id)),
            ("linked tags", (t for t in self.tags.values() if t["GroupId"] == group_id)),
            (
                "linked group tags",
                (t for t in self.group_tags.values() if t["GroupId"] == group_id),
            ),
        )
        for what, found in links:
            if any(True for _ in found):
                raise _Refused(409, f"Group {group_id} has {what} and cannot be deleted.")
        del self.groups[group_id]
        return self._empty()

    # ------------------------------------------------------------------ users

    def _index_email(self, user_id: int, old: str | None, new: str | None) -> None:
        if old is not None:
            bucket = self._users_by_email.get(old.strip().casefold())
            if bucket is not None:
                bucket.discard(user_id)
                if not bucket:
                    del self._users_by_email[old.strip().casefold()]
        if new is not None:
            self._users_by_email.setdefault(new.strip().casefold(), set()).add(user_id)

    def _list_users(self, request: SimRequest) -> SimResponse:
        email = self._q_text(request, "email")
        phone = self._q_text(request, "phoneNumber")
        account = self._q_text(request, "account")
        group_id = self._q_int(request, "groupId")
        tag_id = self._q_int(request, "tagId")
        candidates: Iterable[int]
        if email is not None:
            candidates = sorted(self._users_by_email.get(email.casefold(), ()))
        else:
            candidates = self.users.keys()
        tagged: set[int] | None = None
        if tag_id is not None:
            tagged = {t["UserId"] for t in self.user_tags.values() if t["TagId"] == tag_id}
        out: list[Record] = []
        for user_id in candidates:
            user = self.users[user_id]
            if email is not None and not _same(user["Email"], email):
                continue
            if phone is not None and not _same(user["PhoneNumber"], phone):
                continue
            if account is not None and not _same(user["AccountName"], account):
                continue
            if group_id is not None and user["GroupId"] != group_id:
                continue
            if tagged is not None and user_id not in tagged:
                continue
            out.append(dict(user))
        return self._listing(request, out)

    def _get_user(self, request: SimRequest, raw_id: str) -> SimResponse:
        user = self._find(self.users, self._int_id(raw_id, "user"), "User")
        return SimResponse.json(dict(user))

    def _create_user(self, request: SimRequest) -> SimResponse:
        body = _read_body(request)
        user: Record = {
            "Id": 0,
            "Name": body.text("name", required=True),
            "Email": body.text("email"),
            "PhoneNumber": body.text("phoneNumber"),
            "AccountGroup": body.text("accountGroup"),
            "AccountName": body.text("accountName"),
            "GroupId": None,
            "Company": body.text("company"),
            "Office": body.text("office"),
            "Department": body.text("department"),
            "Position": body.text("position"),
        }
        user["GroupId"] = self._group_ref(body.integer("groupId"))
        user["Id"] = self._next_id("users")
        self.users[user["Id"]] = user
        self._index_email(user["Id"], None, user["Email"])
        return self._created(user["Id"])

    def _update_user(self, request: SimRequest, raw_id: str) -> SimResponse:
        user_id = self._int_id(raw_id, "user")
        user = self._find(self.users, user_id, "User")
        body = _read_body(request)
        updated = dict(user)
        if body.has("name"):
            updated["Name"] = body.text("name", required=True)
        for key, field in (
            ("email", "Email"),
            ("phoneNumber", "PhoneNumber"),
            ("company", "Company"),
            ("office", "Office"),
            ("department", "Department"),
            ("position", "Position"),
        ):
            if body.has(key):
                updated[field] = body.text(key)
        if body.has("groupId"):
            updated["GroupId"] = self._group_ref(body.integer("groupId"))
        self.users[user_id] = updated
        self._index_email(user_id, user["Email"], updated["Email"])
        new_group = updated["GroupId"]
        if new_group is not None and new_group != user["GroupId"]:
            for device_id in self._devices_by_user.get(user_id, ()):
                self.devices[device_id]["GroupId"] = new_group
        return self._empty()

    def _delete_user(self, request: SimRequest, raw_id: str) -> SimResponse:
        user_id = self._int_id(raw_id, "user")
        user = self._find(self.users, user_id, "User")
        if self._devices_by_user.get(user_id):
            raise _Refused(409, f"User {user_id} has linked devices and cannot be deleted.")
        for link_id in [k for k, t in self.user_tags.items() if t["UserId"] == user_id]:
            del self.user_tags[link_id]
        self._index_email(user_id, user["Email"], None)
        del self.users[user_id]
        return self._empty()

    # ------------------------------------------------------------------ devices

    def _add_device(self, device: Record) -> None:
        device_id = device["Id"]
        self.devices[device_id] = device
        self._device_order[device_id] = len(self._device_order)
        self._devices_by_serial.setdefault(device["SerialNumber"].casefold(), set()).add(device_id)
        if device["UserId"] is not None:
            self._devices_by_user.setdefault(device["UserId"], set()).add(device_id)

    def _list_devices(self, request: SimRequest) -> SimResponse:
        serial = self._q_text(request, "serialNumber")
        group_id = self._q_int(request, "groupId")
        user_id = self._q_int(request, "userId")
        account = self._q_text(request, "accountName")
        tag_id = self._q_int(request, "tagId")
        tagged: set[str] | None = None
        if tag_id is not None:
            tagged = {t["DeviceId"] for t in self.device_tags.values() if t["TagId"] == tag_id}
        candidates: Iterable[str]
        order = self._device_order.__getitem__
        if serial is not None:
            candidates = sorted(self._devices_by_serial.get(serial.casefold(), ()), key=order)
        elif user_id is not None:
            candidates = sorted(self._devices_by_user.get(user_id, ()), key=order)
        elif tagged is not None:
            candidates = sorted(tagged, key=order)
        else:
            candidates = self.devices.keys()
        out: list[Record] = []
        for device_id in candidates:
            device = self.devices[device_id]
            if serial is not None and not _same(device["SerialNumber"], serial):
                continue
            if group_id is not None and device["GroupId"] != group_id:
                continue
            if user_id is not None and device["UserId"] != user_id:
                continue
            if account is not None and not _same(device["AccountName"], account):
                continue
            if tagged is not None and device_id not in tagged:
                continue
            out.append(dict(device))
        return self._listing(request, out)

    def _get_device(self, request: SimRequest, raw_id: str) -> SimResponse:
        device = self._find(self.devices, self._guid_id(raw_id), "Device")
        return SimResponse.json(dict(device))

    def _update_device(self, request: SimRequest, raw_id: str) -> SimResponse:
        device_id = self._guid_id(raw_id)
        device = self._find(self.devices, device_id, "Device")
        body = _read_body(request)
        user_id = body.integer("userId", required=True)
        user = self._find(self.users, user_id, "User")
        old_user = device["UserId"]
        if old_user is not None and old_user != user_id:
            bucket = self._devices_by_user.get(old_user)
            if bucket is not None:
                bucket.discard(device_id)
                if not bucket:
                    del self._devices_by_user[old_user]
        self._devices_by_user.setdefault(cast(int, user_id), set()).add(device_id)
        device["UserId"] = user_id
        device["AccountName"] = user["AccountName"]
        if user["GroupId"] is not None:
            device["GroupId"] = user["GroupId"]
        return self._empty()

    def _command(self, request: SimRequest, raw_id: str, command: str) -> SimResponse:
        device_id = self._guid_id(raw_id)
        self._find(self.devices, device_id, "Device")
        recorded: dict[str, Any] = {}
        if command == "installapp":
            body = _read_body(request)
            app_id = body.integer("appId", required=True)
            body.boolean("vpp")
            self._find(self.apps, app_id, "App")
            recorded = body.raw
        elif command == "removeapp":
            body = _read_body(request)
            body.text("identifier", required=True)
            recorded = body.raw
        elif command == "sendmessage":
            body = _read_body(request)
            body.text("message", required=True)
            recorded = body.raw
        self.commands.append((device_id, command, recorded))
        return self._empty()

    # ------------------------------------------------------------------ tags

    def _list_tags(self, request: SimRequest) -> SimResponse:
        return self._listing(request, [dict(t) for t in self.tags.values()])

    def _get_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        return SimResponse.json(dict(self._find(self.tags, self._int_id(raw_id, "tag"), "Tag")))

    def _create_tag(self, request: SimRequest) -> SimResponse:
        body = _read_body(request)
        name = body.text("name", required=True)
        description = body.text("description")
        group_id = self._group_ref(body.integer("groupId"))
        tag_id = self._next_id("tags")
        self.tags[tag_id] = {
            "Id": tag_id,
            "Name": name,
            "Description": description,
            "GroupId": group_id,
        }
        return self._created(tag_id)

    def _update_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        tag_id = self._int_id(raw_id, "tag")
        tag = self._find(self.tags, tag_id, "Tag")
        body = _read_body(request)
        updated = dict(tag)
        if body.has("name"):
            updated["Name"] = body.text("name", required=True)
        if body.has("description"):
            updated["Description"] = body.text("description")
        if body.has("groupId"):
            updated["GroupId"] = self._group_ref(body.integer("groupId"))
        self.tags[tag_id] = updated
        return self._empty()

    def _delete_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        tag_id = self._int_id(raw_id, "tag")
        self._find(self.tags, tag_id, "Tag")
        for what, table in (
            ("devices", self.device_tags),
            ("users", self.user_tags),
            ("groups", self.group_tags),
        ):
            if any(link["TagId"] == tag_id for link in table.values()):
                raise _Refused(409, f"Tag {tag_id} is linked to {what} and cannot be deleted.")
        del self.tags[tag_id]
        return self._empty()

    # ------------------------------------------------------------------ tag links

    def _list_device_tags(self, request: SimRequest) -> SimResponse:
        raw_device = self._q_text(request, "deviceId")
        device_id = self._guid_id(raw_device) if raw_device is not None else None
        serial = self._q_text(request, "serialNumber")
        out = [
            dict(t)
            for t in self.device_tags.values()
            if (device_id is None or t["DeviceId"] == device_id)
            and (serial is None or _same(t["SerialNumber"], serial))
        ]
        return self._listing(request, out)

    def _get_device_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link = self._find(self.device_tags, self._int_id(raw_id, "device tag"), "Device tag")
        return SimResponse.json(dict(link))

    def _create_device_tag(self, request: SimRequest) -> SimResponse:
        body = _read_body(request)
        raw_device = body.text("deviceId", required=True)
        device_id = _parse_guid(cast(str, raw_device))
        if device_id is None:
            raise _bad(f"The field 'deviceId' must be a GUID, not '{raw_device}'.")
        tag_id = body.integer("tagId", required=True, allow_text=True)
        device = self._find(self.devices, device_id, "Device")
        self._find(self.tags, tag_id, "Tag")
        if any(
            t["DeviceId"] == device_id and t["TagId"] == tag_id for t in self.device_tags.values()
        ):
            raise _Refused(409, f"Tag {tag_id} is already linked to device {device_id}.")
        link_id = self._next_id("devicetags")
        self.device_tags[link_id] = {
            "Id": link_id,
            "DeviceId": device_id,
            "TagId": tag_id,
            "SerialNumber": device["SerialNumber"],
        }
        return self._created(link_id)

    def _delete_device_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link_id = self._int_id(raw_id, "device tag")
        self._find(self.device_tags, link_id, "Device tag")
        del self.device_tags[link_id]
        return self._empty()

    def _user_tag_out(self, link: Record) -> Record:
        user = self.users.get(link["UserId"])
        return {**link, "UserName": user["Name"] if user is not None else None}

    def _list_user_tags(self, request: SimRequest) -> SimResponse:
        user_id = self._q_int(request, "userId")
        email = self._q_text(request, "email")
        emailed: set[int] | None = None
        if email is not None:
            emailed = set(self._users_by_email.get(email.casefold(), ()))
        out = [
            self._user_tag_out(t)
            for t in self.user_tags.values()
            if (user_id is None or t["UserId"] == user_id)
            and (emailed is None or t["UserId"] in emailed)
        ]
        return self._listing(request, out)

    def _get_user_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link = self._find(self.user_tags, self._int_id(raw_id, "user tag"), "User tag")
        return SimResponse.json(self._user_tag_out(link))

    def _create_user_tag(self, request: SimRequest) -> SimResponse:
        body = _read_body(request)
        user_id = body.integer("userId", required=True, allow_text=True)
        tag_id = body.integer("tagId", required=True, allow_text=True)
        self._find(self.users, user_id, "User")
        self._find(self.tags, tag_id, "Tag")
        if any(t["UserId"] == user_id and t["TagId"] == tag_id for t in self.user_tags.values()):
            raise _Refused(409, f"Tag {tag_id} is already linked to user {user_id}.")
        link_id = self._next_id("usertags")
        self.user_tags[link_id] = {"Id": link_id, "UserId": user_id, "TagId": tag_id}
        return self._created(link_id)

    def _delete_user_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link_id = self._int_id(raw_id, "user tag")
        self._find(self.user_tags, link_id, "User tag")
        del self.user_tags[link_id]
        return self._empty()

    def _list_group_tags(self, request: SimRequest) -> SimResponse:
        return self._listing(request, [dict(t) for t in self.group_tags.values()])

    def _get_group_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link = self._find(self.group_tags, self._int_id(raw_id, "group tag"), "Group tag")
        return SimResponse.json(dict(link))

    def _create_group_tag(self, request: SimRequest) -> SimResponse:
        body = _read_body(request)
        group_id = body.integer("groupId", required=True, allow_text=True)
        tag_id = body.integer("tagId", required=True, allow_text=True)
        if group_id != 0:  # 0 is "All"
            self._find(self.groups, group_id, "Group")
        self._find(self.tags, tag_id, "Tag")
        if any(t["GroupId"] == group_id and t["TagId"] == tag_id for t in self.group_tags.values()):
            raise _Refused(409, f"Tag {tag_id} is already linked to group {group_id}.")
        link_id = self._next_id("grouptags")
        self.group_tags[link_id] = {"Id": link_id, "GroupId": group_id, "TagId": tag_id}
        return self._created(link_id)

    def _delete_group_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link_id = self._int_id(raw_id, "group tag")
        self._find(self.group_tags, link_id, "Group tag")
        del self.group_tags[link_id]
        return self._empty()

    # ------------------------------------------------------------------ apps

    def _list_apps(self, request: SimRequest) -> SimResponse:
        return self._listing(request, [dict(a) for a in self.apps.values()])

    def _get_app(self, request: SimRequest, raw_id: str) -> SimResponse:
        return SimResponse.json(dict(self._find(self.apps, self._int_id(raw_id, "app"), "App")))

    @staticmethod
    def _app_input(body: _Body) -> Record:
        """Validate an add-or-update body; returns the fields present (PascalCase)."""
        name = body.text("name", required=True)
        company = body.text("company", required=True)
        package_id = cast(str, body.text("packageId", required=True))
        version_text = body.text("versionText", required=True)
        store_id = cast(str, body.text("storeId", required=True))
        platform = cast(int, body.integer("platform", required=True))
        size = cast(int, body.integer("size", required=True))
        store = cast(int, body.integer("store", required=True))
        if platform not in PLATFORMS:
            raise _bad(
                f"The field 'platform' must be 0 (iOS), 1 (Android), 2 (macOS) or 3 (tvOS), "
                f"not {platform}."
            )
        if store not in STORES:
            raise _bad(
                f"The field 'store' must be 0 (App Store), 1 (Play) or 2 (in-house), not {store}."
            )
        if size < 0:
            raise _bad(f"The field 'size' must be a number of bytes >= 0, not {size}.")
        image_data = body.text("imageData")
        image_url = body.text("imageUrl")
        image_data = None if _blank(image_data) else image_data
        image_url = None if _blank(image_url) else image_url
        if image_data is not None and image_url is not None:
            raise _bad("imageData and imageUrl cannot be combined; give only one of them.")
        if image_data is None and image_url is None:
            raise _bad("One of imageData (base64 PNG) or imageUrl is required.")
        if image_data is not None:
            try:
                base64.b64decode(image_data.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise _bad("The field 'imageData' must be base64-encoded PNG data.") from None
        if image_url is not None and not _is_http_url(image_url):
            raise _bad(f"The field 'imageUrl' must be an http(s) URL, not '{image_url}'.")
        if store == 0 and not _DIGITS.fullmatch(store_id.strip()):
            raise _bad(
                f"With store 0 (App Store), storeId must be the App Store id, not '{store_id}'."
            )
        if store == 1 and store_id != package_id:
            raise _bad(
                f"With store 1 (Play), storeId must equal packageId ('{package_id}'), "
                f"not '{store_id}'."
            )
        if store == 2 and platform == 2:
            path = urllib.parse.urlsplit(store_id.strip()).path.lower()
            if not _is_http_url(store_id) or not path.endswith((".pkg", ".zip")):
                raise _bad(
                    "With store 2 (in-house) and platform 2 (macOS), storeId must be an http(s) "
                    f"URL to a .pkg or .zip file, not '{store_id}'."
                )
        fields: Record = {
            "Name": name,
            "Company": company,
            "PackageId": package_id,
            "VersionText": version_text,
            "Platform": platform,
            "Size": size,
            "Store": store,
            "StoreId": store_id,
            "ImageUrl": image_url,
            "ImageData": image_data,
        }
        if body.has("description"):
            fields["Description"] = body.text("description")
        if body.has("versionNumber"):
            fields["VersionNumber"] = body.integer("versionNumber")
        return fields

    def _save_app(self, request: SimRequest) -> SimResponse:
        fields = self._app_input(_read_body(request))
        key = (fields["PackageId"].casefold(), fields["Platform"], fields["Store"])
        for app in self.apps.values():
            if (app["PackageId"].casefold(), app["Platform"], app["Store"]) == key:
                app.update(fields)
                return self._created(app["Id"])
        app_id = self._next_id("apps")
        self.apps[app_id] = {
            "Id": app_id,
            "Name": fields["Name"],
            "Description": fields.get("Description"),
            "Company": fields["Company"],
            "PackageId": fields["PackageId"],
            "VersionText": fields["VersionText"],
            "VersionNumber": fields.get("VersionNumber"),
            "Platform": fields["Platform"],
            "Size": fields["Size"],
            "Store": fields["Store"],
            "StoreId": fields["StoreId"],
            "ImageUrl": fields["ImageUrl"],
            "ImageData": fields["ImageData"],
        }
        return self._created(app_id)

    # ------------------------------------------------------------------ seeding

    def _seed(self, count: int, seed: int) -> None:
        """A realistic, deterministic fleet of ``count`` devices (see the module brief)."""
        gen = FleetGenerator(seed)
        with self.lock:
            by_path: dict[tuple[str, ...], int] = {}
            for path in gen.group_tree():
                group_id = self._next_id("groups")
                top = len(path) == 1
                by_path[path] = group_id
                self.groups[group_id] = {
                    "Id": group_id,
                    "Name": path[-1],
                    "ParentId": by_path[path[:-1]] if len(path) > 1 else 0,
                    "Number": f"{1000 + group_id}",
                    "Notes": f"Regionkontor {path[0]}" if top else None,
                    "LostModeMessage": (
                        f"Den här enheten tillhör kontoret i {path[0]}. Ring oss om du hittar den."
                        if top
                        else None
                    ),
                    "LostModePhoneNumber": "+46317096066" if top else None,
                    "LostModeFootNode": f"IT-support {path[0]}" if top else None,
                }
            leaves = [gid for path, gid in by_path.items() if len(path) == 3]
            leaves_by_city: dict[str, list[int]] = {}
            for path, gid in by_path.items():
                if len(path) == 3:
                    leaves_by_city.setdefault(path[0], []).append(gid)

            people: list[tuple[int, Person]] = []
            for index in range(max(1, int(count * 0.8))):
                person = gen.person(index)
                pool = leaves_by_city.get(person.office) or leaves
                user_id = self._next_id("users")
                self.users[user_id] = {
                    "Id": user_id,
                    "Name": person.name,
                    "Email": person.email,
                    "PhoneNumber": person.phone,
                    "AccountGroup": ACCOUNT_GROUP,
                    "AccountName": person.account,
                    "GroupId": pool[index % len(pool)],
                    "Company": person.company,
                    "Office": person.office,
                    "Department": person.department,
                    "Position": person.position,
                }
                self._index_email(user_id, None, person.email)
                people.append((user_id, person))

            linked = 0
            device_ids: list[str] = []
            for index in range(count):
                owner: Person | None = None
                user: Record | None = None
                if index % 10 != 9:  # about 90% belong to someone
                    user_id, owner = people[linked % len(people)]
                    user = self.users[user_id]
                    linked += 1
                handset = gen.handset(index, owner)
                device_id = gen.guid("device", index)
                self._add_device(
                    {
                        "Id": device_id,
                        "Name": handset.name,
                        "SerialNumber": handset.serial_number,
                        "Model": handset.model,
                        "Platform": handset.platform,
                        "OsVersion": handset.os_version,
                        "UserId": user["Id"] if user else None,
                        "GroupId": user["GroupId"] if user else leaves[(index // 10) % len(leaves)],
                        "AccountName": user["AccountName"] if user else None,
                        "Udid": handset.udid,
                        "Imei": handset.imei,
                        "PhoneNumber": handset.phone_number,
                        "BatteryLevel": handset.battery_level,
                        "LastSeen": handset.last_seen.astimezone(UTC).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                    }
                )
                device_ids.append(device_id)

            self._seed_tags(by_path, device_ids, [uid for uid, _ in people])
            self._seed_apps()

    def _seed_tags(
        self, by_path: dict[tuple[str, ...], int], device_ids: list[str], user_ids: list[int]
    ) -> None:
        logistics_groups = [gid for path, gid in by_path.items() if path[-1] == "Lager & Logistik"]
        specs = (
            ("Kassa", "Kassaenheter i butik", None),
            ("Fältpersonal", "Personal som arbetar ute hos kunder", None),
            ("BYOD", "Privatägda enheter (bring your own device)", None),
            (
                "Lager & Logistik",
                "Handdatorer och skannrar på lagret",
                logistics_groups[0] if logistics_groups else None,
            ),
        )
        tag_ids: dict[str, int] = {}
        for name, description, group_id in specs:
            tag_id = self._next_id("tags")
            tag_ids[name] = tag_id
            self.tags[tag_id] = {
                "Id": tag_id,
                "Name": name,
                "Description": description,
                "GroupId": group_id,
            }
        for index, device_id in enumerate(device_ids):
            for name, hit in (("Kassa", index % 7 == 0), ("BYOD", index % 11 == 1)):
                if hit:
                    link_id = self._next_id("devicetags")
                    self.device_tags[link_id] = {
                        "Id": link_id,
                        "DeviceId": device_id,
                        "TagId": tag_ids[name],
                        "SerialNumber": self.devices[device_id]["SerialNumber"],
                    }
        for index, user_id in enumerate(user_ids):
            if index % 5 == 0:
                link_id = self._next_id("usertags")
                self.user_tags[link_id] = {
                    "Id": link_id,
                    "UserId": user_id,
                    "TagId": tag_ids["Fältpersonal"],
                }
        for group_id in [*logistics_groups, 0]:
            link_id = self._next_id("grouptags")
            tag = tag_ids["Lager & Logistik"] if group_id else tag_ids["BYOD"]
            self.group_tags[link_id] = {"Id": link_id, "GroupId": group_id, "TagId": tag}

    def _seed_apps(self) -> None:
        apps: list[Record] = [
            {
                "Name": "Microsoft Teams",
                "Description": "Chatt, möten och samtal",
                "Company": "Microsoft Corporation",
                "PackageId": "com.microsoft.skype.teams",
                "VersionText": "6.21.1",
                "VersionNumber": None,
                "Platform": 0,
                "Size": 265_420_800,
                "Store": 0,
                "StoreId": "1113153706",
                "ImageUrl": "https://apps.example.se/icons/teams.png",
                "ImageData": None,
            },
            {
                "Name": "Microsoft Teams",
                "Description": "Chatt, möten och samtal",
                "Company": "Microsoft Corporation",
                "PackageId": "com.microsoft.teams",
                "VersionText": "1416/1.0.0.2024143204",
                "VersionNumber": 2024143204,
                "Platform": 1,
                "Size": 171_966_464,
                "Store": 1,
                "StoreId": "com.microsoft.teams",
                "ImageUrl": "https://apps.example.se/icons/teams.png",
                "ImageData": None,
            },
            {
                "Name": "Kassasystem Öresund",
                "Description": "Kassaprogram för butikerna",
                "Company": "Öresund Data",
                "PackageId": "se.oresunddata.kassa",
                "VersionText": "2.4.1",
                "VersionNumber": 241,
                "Platform": 2,
                "Size": 48_234_496,
                "Store": 2,
                "StoreId": "https://apps.example.se/macos/kassa-2.4.1.pkg",
                "ImageUrl": None,
                "ImageData": _TINY_PNG,
            },
        ]
        for fields in apps:
            app_id = self._next_id("apps")
            self.apps[app_id] = {"Id": app_id, **fields}


# ---------------------------------------------------------------------- running it


def start_simulator(
    *,
    devices: int = 0,
    username: str = "api",
    password: str = "secret",
    seed: int = 1,
    host: str = "127.0.0.1",
    port: int = 0,
    id_shape: str = "number",
) -> SimServer:
    """Build a DuoSTATION simulator, serve it on ``host:port`` (0 = any free port), start it.

    The caller stops it (``server.stop()``); ``server.app`` is the :class:`DuoStationSimulator`.
    """
    app = DuoStationSimulator(
        username=username, password=password, devices=devices, seed=seed, id_shape=id_shape
    )
    return SimServer(app, host=host, port=port).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mdmbridge_duostation.simulator",
        description="Run a fake DuoSTATION MDM server (REST API 4.8.49) for demos and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port (0 = any free port)")
    parser.add_argument("--devices", type=int, default=0, help="seed a fleet of N devices")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated fleet")
    parser.add_argument("--username", default="api")
    parser.add_argument("--password", default="secret")
    parser.add_argument(
        "--id-shape",
        choices=ID_SHAPES,
        default="number",
        help='how create calls return the new id: 123, "123" or {"Id":123}',
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency on every request")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a fault rule such as status:429:retry_after=2:times=3 (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.devices < 0:
        parser.error("--devices must be >= 0")
    specs: list[dict[str, object]] = []
    for spec in args.fault:
        try:
            specs.append(Faults.parse_spec(spec))
        except ValueError as exc:
            parser.error(f"--fault {spec!r}: {exc}")
    try:
        sim = start_simulator(
            devices=args.devices,
            username=args.username,
            password=args.password,
            seed=args.seed,
            host=args.host,
            port=args.port,
            id_shape=args.id_shape,
        )
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    for spec in specs:
        sim.faults.add(**cast(dict[str, Any], spec))
    sim.faults.latency_s = max(0.0, args.latency_ms) / 1000.0
    base_url = (
        sim.base_url
        if args.host in {"127.0.0.1", "0.0.0.0", "", "localhost"}
        else f"http://{args.host}:{sim.port}"
    )
    print(f"DuoSTATION simulator with {args.devices} devices listening on {base_url}")
    print(f"  base URL: {base_url}  (API under {base_url}/api)")
    print(f"  username: {args.username}")
    print(f"  password: {args.password}")
    print("Press Ctrl-C to stop.", flush=True)
    sim.serve_until_interrupted()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
