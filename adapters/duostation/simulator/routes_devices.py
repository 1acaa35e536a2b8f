"""DuoSTATION's devices and their commands: ``/api/devices[/{guid}[/{command}]]``.

Devices are never created or deleted through the API, only listed, read, linked to a user
(``PUT``) and sent commands; every accepted command is recorded in ``commands``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from mdmbridge.simulation.server import SimRequest, SimResponse

from .answers import Refused, empty, listing, table_listing
from .body import guid_id, query_int, query_text, read_body, same
from .state import DuoStationState, Record, find

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


class DeviceRoutes(DuoStationState):
    """The handlers of ``devices`` and ``devices/{guid}/{command}``."""

    def _list_devices(self, request: SimRequest) -> SimResponse:
        serial = query_text(request, "serialNumber")
        group_id = query_int(request, "groupId")
        user_id = query_int(request, "userId")
        account = query_text(request, "accountName")
        tag_id = query_int(request, "tagId")
        tagged: set[str] | None = None
        if tag_id is not None:
            tagged = {t["DeviceId"] for t in self.device_tags.records() if t["TagId"] == tag_id}
        if all(value is None for value in (serial, group_id, user_id, account, tagged)):
            return table_listing(request, self.devices)
        candidates: Iterable[str] | None = None
        order = self._device_order
        if serial is not None:
            candidates = sorted(self._devices_by_serial.get(serial.casefold(), ()), key=order)
        elif user_id is not None:
            candidates = sorted(self._devices_by_user.get(user_id, ()), key=order)
        elif tagged is not None:
            candidates = sorted(tagged, key=order)
        rows: Iterable[Record | None] = (
            self.devices.records()
            if candidates is None
            else (self.devices.peek(device_id) for device_id in candidates)
        )
        out: list[Record] = []
        for device in rows:
            if device is None:
                continue
            if serial is not None and not same(device["SerialNumber"], serial):
                continue
            if group_id is not None and device["GroupId"] != group_id:
                continue
            if user_id is not None and device["UserId"] != user_id:
                continue
            if account is not None and not same(device["AccountName"], account):
                continue
            if tagged is not None and device["Id"] not in tagged:
                continue
            out.append(dict(device))
        return listing(request, out)

    def _get_device(self, request: SimRequest, raw_id: str) -> SimResponse:
        device = self.devices.peek(guid_id(raw_id))
        if device is None:
            raise Refused(404, f"Device {guid_id(raw_id)} was not found.")
        return SimResponse.json(dict(device))

    def _update_device(self, request: SimRequest, raw_id: str) -> SimResponse:
        device_id = guid_id(raw_id)
        device = find(self.devices, device_id, "Device")
        body = read_body(request)
        user_id = body.integer("userId", required=True)
        user = find(self.users, user_id, "User")
        self._link_device(device_id, device["UserId"], cast(int, user_id))
        device["UserId"] = user_id
        device["AccountName"] = user["AccountName"]
        if user["GroupId"] is not None:
            device["GroupId"] = user["GroupId"]
        return empty()

    def _command(self, request: SimRequest, raw_id: str, command: str) -> SimResponse:
        device_id = guid_id(raw_id)
        find(self.devices, device_id, "Device")
        recorded: dict[str, Any] = {}
        if command == "installapp":
            body = read_body(request)
            app_id = body.integer("appId", required=True)
            body.boolean("vpp")
            find(self.apps, app_id, "App")
            recorded = body.raw
        elif command == "removeapp":
            body = read_body(request)
            body.text("identifier", required=True)
            recorded = body.raw
        elif command == "sendmessage":
            body = read_body(request)
            body.text("message", required=True)
            recorded = body.raw
        self.commands.append((device_id, command, recorded))
        return empty()
