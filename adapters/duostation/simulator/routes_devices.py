"""DuoSTATION's devices and their commands: ``/api/devices[/{guid}[/{command}]]``.

Devices are never created or deleted through the API, only listed, read, linked to a user
(``PUT``) and sent commands; every accepted command is recorded in ``commands``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from mdmbridge.simulation.server import SimRequest, SimResponse

from .answers import empty, listing
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
            if serial is not None and not same(device["SerialNumber"], serial):
                continue
            if group_id is not None and device["GroupId"] != group_id:
                continue
            if user_id is not None and device["UserId"] != user_id:
                continue
            if account is not None and not same(device["AccountName"], account):
                continue
            if tagged is not None and device_id not in tagged:
                continue
            out.append(dict(device))
        return listing(request, out)

    def _get_device(self, request: SimRequest, raw_id: str) -> SimResponse:
        device = find(self.devices, guid_id(raw_id), "Device")
        return SimResponse.json(dict(device))

    def _update_device(self, request: SimRequest, raw_id: str) -> SimResponse:
        device_id = guid_id(raw_id)
        device = find(self.devices, device_id, "Device")
        body = read_body(request)
        user_id = body.integer("userId", required=True)
        user = find(self.users, user_id, "User")
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
