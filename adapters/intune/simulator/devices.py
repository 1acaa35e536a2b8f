"""Intune through Graph: ``/deviceManagement/managedDevices`` (list, get, update, delete,
the device actions) and ``/deviceAppManagement/mobileApps`` (list, get).

Intune's errors differ from the directory's: ``ResourceNotFound`` / ``BadRequest`` with the
message wrapped in a JSON text. Its PATCH answers 200 with the updated device, as the v1.0
page says (``device_patch_status=204`` switches to the directory's 204).
"""

from __future__ import annotations

from typing import Any

from mdmbridge.simulation.server import SimRequest, SimResponse

from .core import DeviceAction, Listing, SimCore, canonical_guid, now_iso
from .odata import GraphError, intune_message, parse_select, project
from .schema import (
    APP,
    DEVICE,
    DEVICE_ACTIONS,
    DEVICE_LIST_HIDDEN,
    DEVICE_PROPERTIES,
    DEVICE_WRITABLE,
    OBLITERATION,
    OWNER_TYPES,
)

Record = dict[str, Any]

_INTUNE_FE = "https://fef.msub05.manage.microsoft.com/DeviceFE/StatelessDeviceFEService"
_APPS_FE = "https://fef.msub05.manage.microsoft.com/AppLifecycle_2405/StatelessAppMetadataFEService"


class DeviceRoutes(SimCore):
    # ------------------------------------------------------------------ managed devices

    def _devices(self, request: SimRequest, rest: list[str]) -> SimResponse:
        if not rest:
            if request.method == "GET":
                return self.list_page(request, self._device_listing())
            raise self.method_not_allowed(request)
        device_id = canonical_guid(rest[0])
        if device_id is None:
            raise self._intune_error(400, "BadRequest", f"managedDevices('{rest[0]}')")
        device = self.devices.get(device_id)
        if device is None:
            raise self._intune_error(404, "ResourceNotFound", f"managedDevices('{device_id}')")
        if len(rest) == 2:
            action = DEVICE_ACTIONS.get(rest[1].lower())
            if action is None:
                raise self.segment_error(rest[1])
            if request.method != "POST":
                raise self.method_not_allowed(request)
            self._run_action(request, device, *action)
            return self.no_content()
        if len(rest) > 2:
            raise self.segment_error(rest[2])
        if request.method == "GET":
            self.check_options(request, DEVICE, allow=frozenset({"select"}))
            select = parse_select(self.option(request, "select"), DEVICE)
            body = {
                "@odata.context": self.context(
                    request, "deviceManagement/managedDevices/$entity", select
                )
            }
            body.update(self._device_view(device, select, single=True))
            return self.json_answer(body)
        if request.method == "PATCH":
            self._update_device(device, self.read_body(request, DEVICE))
            if self.device_patch_status == 204:
                return self.no_content()
            body = {
                "@odata.context": self.context(request, "deviceManagement/managedDevices/$entity")
            }
            body.update(self._device_view(device, None, single=True))
            return self.json_answer(body)
        if request.method == "DELETE":
            self.devices.delete(device_id)
            return self.no_content()
        raise self.method_not_allowed(request)

    def _device_listing(self, *, user_id: str | None = None) -> Listing:
        return Listing(
            key="devices" if user_id is None else f"devices:{user_id}",
            resource=DEVICE,
            context="deviceManagement/managedDevices"
            if user_id is None
            else "users/managedDevices",
            iterate=self.devices.from_position,
            serialize=lambda record, select: self._device_view(record, select, single=False),
            page_default=self.device_page_size,
            page_max=self.device_page_size,
            extra=None if user_id is None else (lambda record: record.get("userId") == user_id),
        )

    def _user_devices(self, request: SimRequest, user_id: str) -> SimResponse:
        return self.list_page(request, self._device_listing(user_id=user_id))

    @staticmethod
    def _device_view(record: Record, select: tuple[str, ...] | None, *, single: bool) -> Record:
        """What Graph shows of a device. The non-default properties (``udid``, ``iccid``,
        ``notes``, …) are null/0 unless this is a single GET whose ``$select`` names them."""
        hidden = dict(DEVICE_LIST_HIDDEN)
        if single and select is not None:
            for name in select:
                hidden.pop(name, None)
        names = select or tuple(name for name in record if not name.startswith("@"))
        return {
            "@odata.type": "#microsoft.graph.managedDevice",
            **project(record, names, hidden=hidden),
        }

    def _update_device(self, device: Record, body: dict[str, Any]) -> None:
        changes: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@odata"):
                continue
            if name not in DEVICE_PROPERTIES:
                raise DEVICE.bad_request(
                    f"The property '{name}' does not exist on type "
                    "'microsoft.graph.managedDevice'. "
                    "Make sure to only use property names that are defined by the type."
                )
            if name not in DEVICE_WRITABLE:
                raise self._intune_error(
                    400,
                    "BadRequest",
                    f"managedDevices('{device['id']}')",
                    text=f"Property '{name}' is read-only",
                )
            if name == "managedDeviceOwnerType" and value not in OWNER_TYPES:
                raise DEVICE.bad_request(
                    f"The value '{value}' is not valid for property 'managedDeviceOwnerType'."
                )
            if (
                name != "managedDeviceOwnerType"
                and value is not None
                and not isinstance(value, str)
            ):
                raise DEVICE.bad_request(
                    f"Cannot convert the literal '{value}' to the expected type 'Edm.String'."
                )
            changes[name] = value
        device.update(changes)

    def _run_action(
        self, request: SimRequest, device: Record, name: str, parameters: dict[str, type]
    ) -> None:
        body = self.read_body(request, DEVICE)
        for key, value in body.items():
            expected = parameters.get(key)
            if expected is None:
                raise DEVICE.bad_request(
                    f"The parameter '{key}' in the request payload is not a valid parameter "
                    f"for the operation '{name}'."
                )
            if value is not None and not isinstance(value, expected):
                raise DEVICE.bad_request(
                    f"Cannot convert the literal '{value}' to the expected type for '{key}'."
                )
            if key == "obliterationBehavior" and value not in OBLITERATION:
                raise DEVICE.bad_request(f"Requested value '{value}' was not found.")
        stamp = now_iso(fraction=True)
        self.actions.append(DeviceAction(str(device["id"]), name, dict(body), stamp))
        # [sim decision] a sync is done at once (the device checked in); everything else
        # stays pending, as it would until the device next checks in.
        state = "done" if name == "syncDevice" else "pending"
        results = [r for r in device["deviceActionResults"] if r.get("actionName") != name]
        results.append(
            {
                "actionName": name,
                "actionState": state,
                "startDateTime": stamp,
                "lastUpdatedDateTime": stamp,
            }
        )
        device["deviceActionResults"] = results
        if name == "syncDevice":
            device["lastSyncDateTime"] = now_iso()

    def _intune_error(
        self, status: int, code: str, target: str, *, text: str | None = None
    ) -> GraphError:
        words = text or ("An error has occurred" if status >= 404 else "Bad request")
        url = f"{_INTUNE_FE}/deviceManagement/{target}?api-version=2024-05-06"
        return GraphError(status, code, intune_message(words, self._request_id, url))

    # ------------------------------------------------------------------ mobile apps

    def _apps(self, request: SimRequest, rest: list[str]) -> SimResponse:
        if not rest:
            if request.method == "GET":
                return self.list_page(request, self._app_listing())
            # [sim decision] app creation is outside the simulated subset (see the contract)
            raise self.method_not_allowed(request)
        app_id = canonical_guid(rest[0])
        app = None if app_id is None else self.apps.get(app_id)
        if app is None:
            url = f"{_APPS_FE}/deviceAppManagement/mobileApps('{rest[0]}')?api-version=2024-05-06"
            raise GraphError(
                404,
                "ResourceNotFound",
                intune_message("An error has occurred", self._request_id, url),
            )
        if len(rest) > 1:
            raise self.segment_error(rest[1])
        if request.method != "GET":
            raise self.method_not_allowed(request)
        self.check_options(request, APP, allow=frozenset({"select"}))
        select = parse_select(self.option(request, "select"), APP)
        body = {
            "@odata.context": self.context(
                request, "deviceAppManagement/mobileApps/$entity", select
            )
        }
        body.update(_app_view(app, select))
        return self.json_answer(body)

    def _app_listing(self) -> Listing:
        return Listing(
            key="apps",
            resource=APP,
            context="deviceAppManagement/mobileApps",
            iterate=self.apps.from_position,
            serialize=_app_view,
            page_default=self.device_page_size,
            page_max=self.device_page_size,
        )


def _app_view(record: Record, select: tuple[str, ...] | None) -> Record:
    if select is None:
        return dict(record)
    return {"@odata.type": record["@odata.type"], **project(record, select)}
