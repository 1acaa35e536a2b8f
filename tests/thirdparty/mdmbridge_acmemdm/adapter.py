"""Acme MDM for mdmbridge: OAuth2 client credentials, cursor pages, PATCH, JSON errors."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import Field, SecretStr

from mdmbridge import Adapter, AdapterSettings, Capability, Device, Group, User
from mdmbridge.adapter import Values, Writable
from mdmbridge.errors import MalformedResponse, ValidationError
from mdmbridge.mapping import F, FieldTable, build, ident, integer, platform, timestamp
from mdmbridge.models import Command, CommandKind, CommandReceipt, Record
from mdmbridge.paging import CursorPage, follow
from mdmbridge.simulation import RunningSimulator
from mdmbridge.transport import Auth, ResponseRules, VendorError
from mdmbridge.transport.oauth import OAuth2ClientCredentials
from mdmbridge.writes import GroupChanges, GroupCreate, UserChanges, UserCreate

VENDOR = "acmemdm"
R = TypeVar("R", bound=Record)


class AcmeSettings(AdapterSettings):
    base_url: str = "https://api.acme-mdm.example"
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = Field(min_length=8)  # SecretStr: redacted from every text
    page_size: int = Field(default=100, ge=1, le=500)


# Core field -> the vendor's key to read it from, and a converter (text by default).
GROUP = FieldTable(
    "group",
    {"id": F("id", convert=ident), "name": F("displayName"), "notes": F("description")},
)
USER = FieldTable(
    "user",
    {
        "id": F("id", convert=ident),
        "name": F("displayName"),
        "email": F("mail"),
        "phone": F("mobilePhone"),
        "group_id": F("groupId", convert=ident),
        "department": F("department"),
    },
)
DEVICE = FieldTable(
    "device",
    {
        "id": F("id", convert=ident),
        "name": F("deviceName"),
        "serial_number": F("serialNumber"),
        "model": F("model"),
        "platform": F("osType", convert=platform),
        "os_version": F("osVersion"),
        "user_id": F("userId", convert=ident),
        "last_seen": F("lastCheckIn", convert=timestamp),
        "battery_level": F("batteryPercent", convert=integer),
    },
)
# Core name -> the vendor's key, for request bodies and query parameters.
GROUP_KEYS = {"name": "displayName", "notes": "description"}
USER_KEYS = {
    "name": "displayName",
    "email": "mail",
    "phone": "mobilePhone",
    "group_id": "groupId",
    "department": "department",
}
ID_PREFIX = {"groups": "grp", "users": "usr", "devices": "dev"}
FILTERS = {
    "users": {"email": "mail", "group_id": "groupId"},
    "devices": {"serial_number": "serialNumber", "user_id": "userId"},
}


class AcmeRules(ResponseRules):
    """Successes are ``{"data": ...}`` (or 204, no body); errors are
    ``{"error": {"code", "message", "request_id"}}``, and the code knows the error's kind
    better than the status (a 400 ``not_found`` is a NotFound)."""

    CODES = {"invalid_token": 401, "not_found": 404, "conflict": 409, "invalid": 422}

    def failure(self, status: int, data: Any, text: str) -> VendorError | None:
        if status == 204 or (isinstance(data, dict) and "data" in data):
            return None
        return VendorError("expected {data: ...} in a success answer", malformed=True)

    def parse_error(self, status: int, data: Any, text: str) -> VendorError | None:
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            return None  # not the vendor's envelope (a proxy's page): the generic reading
        code, message, request_id = (error.get(k) for k in ("code", "message", "request_id"))
        return VendorError(
            message=message if isinstance(message, str) else str(code),
            status=self.CODES.get(code) if isinstance(code, str) else None,
            request_id=request_id if isinstance(request_id, str) else None,
        )


class AcmeAdapter(Adapter):
    vendor = VENDOR
    description = "Acme MDM API v1 (OAuth2 client credentials, cursor pages, PATCH)"
    settings_model = AcmeSettings
    capabilities = frozenset(
        {
            Capability.GROUPS_READ,
            Capability.GROUPS_WRITE,
            Capability.GROUPS_DELETE,
            Capability.USERS_READ,
            Capability.USERS_WRITE,
            Capability.USERS_DELETE,
            Capability.DEVICES_READ,
            Capability.DEVICES_RENAME,
            Capability.DEVICES_ASSIGN_USER,
            Capability.COMMAND_LOCK,
            Capability.COMMAND_REFRESH,
        }
    )
    list_filters = {kind: frozenset(keys) for kind, keys in FILTERS.items()}
    writable = {
        "groups": Writable(frozenset(GROUP_KEYS), frozenset(GROUP_KEYS)),
        "users": Writable(frozenset(USER_KEYS), frozenset(USER_KEYS)),
    }
    response_rules = AcmeRules()

    settings: AcmeSettings

    def connection_auth(self) -> Auth:
        """A bearer token, fetched on first use, cached, renewed once on a 401."""
        return OAuth2ClientCredentials(
            token_url=self.settings.base_url.rstrip("/") + "/oauth/token",
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret.get_secret_value(),
        )

    # plumbing ----------------------------------------------------------------------------

    def _id(self, kind: str, value: str) -> str:
        """Ids are a kind prefix and 12 hex digits (``grp_0f3a5c7e9b1d``): anything else
        is refused here, so no id can change the URL it goes into."""
        if not re.fullmatch(rf"{ID_PREFIX[kind]}_[0-9a-f]{{12}}", value):
            raise ValidationError(f"not an Acme {kind[:-1]} id: {value!r}", vendor=VENDOR)
        return value

    def _data(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(method, path, json_body=body).data
        if not isinstance(answer, dict):  # the rules let a 204 through, with no body
            raise MalformedResponse(f"{method} {path}: no data", vendor=VENDOR, tenant=self.tenant)
        return answer["data"]

    def _build(self, model: type[R], table: FieldTable, payload: Any) -> R:
        return build(
            model, table, payload, tenant=self.tenant, vendor=VENDOR, redact=self.http.redact
        )

    def _one(self, kind: str, model: type[R], table: FieldTable, record_id: str) -> R:
        return self._build(
            model, table, self._data("GET", f"/v1/{kind}/{self._id(kind, record_id)}")
        )

    def _list(self, kind: str, model: type[R], table: FieldTable, filters: Values) -> Iterator[R]:
        params: dict[str, str | int] = {"limit": self.settings.page_size}
        for name, value in filters.items():
            checked = self._id(name[:-3] + "s", value) if name.endswith("_id") else value
            params[FILTERS[kind][name]] = checked

        def fetch(cursor: str | None) -> CursorPage[R]:
            # Page 1 from the path and filters, then the vendor's next link (an absolute
            # URL: the transport sends it, and the token, only to the tenant's own origin).
            answer = (
                self.http.request(
                    "GET", cursor or f"/v1/{kind}", params=None if cursor else params
                ).data
                or {}
            )
            items, link, count = answer.get("data"), answer.get("next"), answer.get("count")
            if not isinstance(items, list) or not isinstance(link, str | None):
                raise MalformedResponse(
                    f"{kind} list: expected {{data: [...], next}}",
                    vendor=VENDOR,
                    tenant=self.tenant,
                )
            total = count if isinstance(count, int) and not isinstance(count, bool) else None
            return CursorPage([self._build(model, table, item) for item in items], link, total)

        return follow(fetch, what=f"{VENDOR}:{self.tenant} {kind} list")

    def _write(
        self, method: str, path: str, model: type[R], table: FieldTable, body: dict[str, Any]
    ) -> R:
        return self._build(model, table, self._data(method, path, body))

    # groups ------------------------------------------------------------------------------

    def list_groups(self, filters: Values) -> Iterator[Group]:
        return self._list("groups", Group, GROUP, filters)

    def get_group(self, group_id: str) -> Group:
        return self._one("groups", Group, GROUP, group_id)

    def create_group(self, values: GroupCreate) -> Group:
        return self._write("POST", "/v1/groups", Group, GROUP, _body(values, GROUP_KEYS))

    def update_group(self, group_id: str, changes: GroupChanges) -> Group:
        path = f"/v1/groups/{self._id('groups', group_id)}"
        return self._write("PATCH", path, Group, GROUP, _body(changes, GROUP_KEYS))

    def delete_group(self, group_id: str) -> None:
        self.http.request("DELETE", f"/v1/groups/{self._id('groups', group_id)}")

    # users -------------------------------------------------------------------------------

    def list_users(self, filters: Values) -> Iterator[User]:
        return self._list("users", User, USER, filters)

    def get_user(self, user_id: str) -> User:
        return self._one("users", User, USER, user_id)

    def create_user(self, values: UserCreate) -> User:
        if "group_id" in values:
            self._id("groups", values["group_id"])
        return self._write("POST", "/v1/users", User, USER, _body(values, USER_KEYS))

    def update_user(self, user_id: str, changes: UserChanges) -> User:
        path = f"/v1/users/{self._id('users', user_id)}"
        if "group_id" in changes:
            self._id("groups", changes["group_id"])
        return self._write("PATCH", path, User, USER, _body(changes, USER_KEYS))

    def delete_user(self, user_id: str) -> None:
        self.http.request("DELETE", f"/v1/users/{self._id('users', user_id)}")

    # devices -----------------------------------------------------------------------------

    def list_devices(self, filters: Values) -> Iterator[Device]:
        return self._list("devices", Device, DEVICE, filters)

    def get_device(self, device_id: str) -> Device:
        return self._one("devices", Device, DEVICE, device_id)

    def rename_device(self, device_id: str, name: str) -> Device:
        path = f"/v1/devices/{self._id('devices', device_id)}"
        return self._write("PATCH", path, Device, DEVICE, {"deviceName": name})

    def assign_user(self, device_id: str, user_id: str) -> Device:
        path = f"/v1/devices/{self._id('devices', device_id)}"
        return self._write("PATCH", path, Device, DEVICE, {"userId": self._id("users", user_id)})

    def send_command(self, device_id: str, command: Command) -> CommandReceipt:
        action = {CommandKind.LOCK: "lock", CommandKind.REFRESH: "sync"}[command.kind]
        path = f"/v1/devices/{self._id('devices', device_id)}/actions"
        self._data("POST", path, {"action": action})
        return CommandReceipt(
            tenant=self.tenant,
            vendor=VENDOR,
            device_id=device_id,
            command=command,
            accepted_at=datetime.now(UTC),
        )

    # the simulator -----------------------------------------------------------------------

    @classmethod
    def start_simulator(
        cls,
        *,
        devices: int = 0,
        seed: int = 1,
        port: int = 0,
        credentials: Mapping[str, str] | None = None,
    ) -> RunningSimulator:
        from mdmbridge.simulation import SimServer, pick_credentials

        from .simulator import AcmeSimulator

        defaults = {"client_id": "acme-app", "client_secret": "acme-demo-secret"}
        creds = pick_credentials(VENDOR, credentials, defaults)
        server = SimServer(AcmeSimulator(devices=devices, seed=seed, **creds), port=port).start()
        return RunningSimulator(server, {"base_url": server.base_url, **creds})


def _body(values: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, Any]:
    """Core-named values -> the vendor's keys; None stays null (in a PATCH: clear it)."""
    return {keys[name]: value for name, value in values.items()}
