"""The ezmdm API's routes: ``/api/v1/<API_KEY>/<item>[/<id>]`` by verb. ``GET`` lists (paged
with ``limit``/``page``, reporting ``total``) or reads one item, and one id after a list
item means either "that item" or "the children of that parent"; ``PUT`` adds, ``POST``
updates, both form-encoded only.

Every API-level error is raised as :class:`ApiError`, which the simulator answers as HTTP
200 with ``{"success": false, "error": ...}``. Paging goes through :meth:`_list` and
:meth:`_positive_arg`, called on the instance so tests can replace them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from mdmbridge.simulation.faults import FaultKind
from mdmbridge.simulation.server import SimRequest, SimResponse

from .seed import LazyFleet
from .state import DEVICE, GROUP, ITEMS, LOCATION, USER, Record

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

_DIGITS = re.compile(r"[0-9]+")


def _encode(records: list[Record]) -> bytes:
    return json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ApiError(Exception):
    """An error the vendor reports in the envelope (HTTP 200, ``success: false``)."""


def optional(value: str | None) -> str | None:
    """[sim decision] an empty optional text value is stored (and served) as null."""
    return value or None


class EzmdmRoutes(LazyFleet):
    """The handlers behind :meth:`~.app.EzmdmSimulator.handle`, from the API key on."""

    def _route(self, request: SimRequest, parts: list[str]) -> SimResponse:
        if parts[0] != self.api_key:  # [sim decision] the key itself is case-sensitive
            raise ApiError("Invalid API Key")
        if len(parts) < 2 or not parts[1]:
            raise ApiError("An item is required")
        item = parts[1].lower()
        if item not in ITEMS:
            raise ApiError(f"Unknown item: {parts[1]}")
        if len(parts) > 3 or (len(parts) == 3 and not parts[2]):
            raise ApiError("Item not found")
        item_id = parts[2] if len(parts) == 3 else None
        if request.method == "GET":
            return self._get(request, item, item_id)
        if request.method == "PUT":
            return self._put(request, item, item_id)
        if request.method == "POST":
            return self._post(request, item, item_id)
        raise ApiError("Method not allowed")

    def _get(self, request: SimRequest, item: str, item_id: str | None) -> SimResponse:
        if item_id is None:
            if item == LOCATION:
                raise ApiError("An identifier is required")
            return self._list(request, self._order[item])
        kind = self._kind_of(item_id)
        if kind == item:
            return SimResponse.json({"success": True, "data": self._peek(item_id)})
        if item == USER and kind == GROUP:
            return self._list(request, self._users_by_group.get(item_id, []))
        if item == DEVICE and kind == USER:
            return self._list(request, self._devices_by_user.get(item_id, []))
        if item == LOCATION and kind == DEVICE:
            return self._list(request, self._locations_by_device.get(item_id, []))
        raise ApiError("Item not found")

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
        if chunk and self._wants_duplicate(request, len(chunk), len(ids), page, limit):
            data = [self._peek(item_id) for item_id in chunk]
            data[-1] = self._peek(ids[0]) if page > 1 else data[0]
            encoded = _encode(data)
        else:
            encoded = self._encoded(chunk)
        return SimResponse(
            body=b'{"success":true,"data":%s,"page":%d,"total":%d}' % (encoded, page, total)
        )

    def _encoded(self, chunk: Sequence[str]) -> bytes:
        """A page's records as JSON text, kept (within a byte budget) until a record may
        have changed: the simulator shares the cores with the client it serves."""
        key = (self._version, tuple(chunk))
        encoded = self._pages.get(key)
        if encoded is None:
            encoded = _encode([self._peek(item_id) for item_id in chunk])
            self._pages.put(key, encoded)
        return encoded

    @staticmethod
    def _wants_duplicate(
        request: SimRequest, size: int, listed: int, page: int, limit: int
    ) -> bool:
        """The ``duplicate`` fault: a page repeats a record while its size and ``total`` stay
        right, so only a client that checks ids can notice.

        On page 2 or later the page's last record becomes page 1's first; on a listing that
        is one page only, the last record becomes a copy of the first. Page 1 of a longer
        listing, and a page with fewer than two records of a one-page listing, are left
        alone (the fault does not fire on them).
        """
        if page == 1 and (listed > limit or size < 2):
            return False
        return request.faults.take(FaultKind.DUPLICATE) is not None

    @staticmethod
    def _positive_arg(request: SimRequest, name: str, default: int) -> int:
        raw = request.arg(name)
        if raw is None:
            return default
        # [sim decision] only plain ASCII digits; empty, signs, spaces and decimals are invalid.
        if not _DIGITS.fullmatch(raw) or len(raw) > 18 or int(raw) < 1:
            raise ApiError(f"Invalid value for {name}")
        return int(raw)

    def _put(self, request: SimRequest, item: str, item_id: str | None) -> SimResponse:
        # [sim decision] PUT with an id is not an add, so it is refused like any bad verb.
        if item not in ADDABLE or item_id is not None:
            raise ApiError("Method not allowed")
        fields = self._form(request, ADDABLE[item])
        name = fields.get("name")
        if name is None or not name.strip():  # [sim decision] a blank name counts as missing
            raise ApiError("Missing required field: name")
        if item == GROUP:
            new_id = self._add_group(name)
        else:
            group_id = self._reference(fields.get("groupId"), GROUP, "groupId")
            new_id = self._add_user(
                name,
                group_id,
                optional(fields.get("email")),
                optional(fields.get("phone")),
            )
        return SimResponse.json({"success": True, "data": new_id})

    def _post(self, request: SimRequest, item: str, item_id: str | None) -> SimResponse:
        if item not in UPDATABLE or item_id is None:
            raise ApiError("Method not allowed")
        fields = self._form(request, UPDATABLE[item])
        if self._kind_of(item_id) != item:
            raise ApiError("Item not found")
        record = self._obj(item_id)
        # Validate everything first, so a refused update changes nothing.
        changes: dict[str, str | None] = {}
        if "name" in fields:
            if not fields["name"].strip():
                raise ApiError("Invalid value for name")
            changes["name"] = fields["name"]
        if item == USER:
            if "groupId" in fields:
                changes["groupId"] = self._reference(fields["groupId"], GROUP, "groupId")
            for key in ("email", "phone"):
                if key in fields:
                    changes[key] = optional(fields[key])
        push = False
        if item == DEVICE:
            if "userId" in fields:
                changes["userId"] = self._reference(fields["userId"], USER, "userId")
            if "push" in fields:
                # [sim decision] push=1 pushes, push=0 is a no-op, anything else is refused.
                if fields["push"] not in {"0", "1"}:
                    raise ApiError("Invalid value for push")
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
            raise ApiError(f"Unsupported content type: {content_type or '(none)'}")
        fields = request.form()
        for key in fields:
            if key not in allowed:  # [sim decision] field names are matched exactly
                raise ApiError(f"Unknown field: {key}")
        return fields

    def _reference(self, value: str | None, kind: str, field: str) -> str | None:
        """A ``groupId``/``userId`` value: empty means none, otherwise it must exist."""
        if not value:
            return None
        if self._kind_of(value) != kind:
            raise ApiError(f"Invalid value for {field}")
        return value
