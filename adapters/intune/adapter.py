"""The Intune adapter: managed devices, mobile apps, and Entra users and security groups,
through Microsoft Graph v1.0 with an app registration's client credentials."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mdmbridge.adapter import Adapter, Values, Writable
from mdmbridge.capabilities import Capability
from mdmbridge.errors import MalformedResponse, ValidationError
from mdmbridge.mapping import FieldTable, build
from mdmbridge.models import (
    App,
    Command,
    CommandKind,
    CommandReceipt,
    Device,
    Group,
    Record,
    User,
)
from mdmbridge.paging import CursorPage, follow
from mdmbridge.transport import Auth
from mdmbridge.transport.oauth import OAuth2ClientCredentials
from mdmbridge.writes import GroupChanges, GroupCreate, UserChanges, UserCreate

from . import mapping as m
from . import wire
from .wire import VENDOR, IntuneSettings, guid

if TYPE_CHECKING:
    from mdmbridge.simulation import RunningSimulator

R = TypeVar("R", bound=Record)

DEVICES = "/deviceManagement/managedDevices"
APPS = "/deviceAppManagement/mobileApps"
# core command -> the v1.0 action and its body ([decision] wipe: ``{}``, a full wipe)
ACTIONS: dict[CommandKind, tuple[str, dict[str, Any] | None]] = {
    CommandKind.LOCK: ("remoteLock", None),
    CommandKind.WIPE: ("wipe", {}),
    CommandKind.CLEAR_PASSCODE: ("resetPasscode", None),
    CommandKind.REFRESH: ("syncDevice", None),
}
MATCH_ONLY_USERS = (
    "Intune does not own users: create it in Entra ID (or your directory sync), then plan again"
)


class IntuneAdapter(Adapter):
    vendor = VENDOR
    description = "Microsoft Intune through Microsoft Graph v1.0 (OAuth2 client credentials)"
    settings_model = IntuneSettings
    capabilities = frozenset(
        {
            Capability.GROUPS_READ,
            Capability.GROUPS_WRITE,
            Capability.GROUPS_DELETE,
            Capability.USERS_READ,
            Capability.USERS_WRITE,
            Capability.USERS_DELETE,
            Capability.DEVICES_READ,
            Capability.APPS_READ,
            Capability.COMMAND_LOCK,
            Capability.COMMAND_WIPE,
            Capability.COMMAND_CLEAR_PASSCODE,
            Capability.COMMAND_REFRESH,
        }
    )
    # Applied by Graph; the registry's other filters are applied by the client as records
    # stream past (mdmbridge/local_filters.py): a group's path ([decision] names split on
    # "/", like every flat vendor's, which displayName eq cannot do), a device's group (its
    # user's memberships) or account, tags (none).
    list_filters = {
        "groups": frozenset(),
        "users": frozenset({"email", "account", "phone", "group_id"}),
        "devices": frozenset({"serial_number", "user_id"}),
        "apps": frozenset(),
    }
    writable = {
        "groups": Writable(frozenset(m.GROUP_KEYS), frozenset(m.GROUP_KEYS)),
        "users": Writable(
            frozenset(m.USER_KEYS) | {"group_id"}, frozenset(m.USER_UPDATE_KEYS) | {"group_id"}
        ),
    }
    users_in_many_groups = True
    migration_match_only = {"users": MATCH_ONLY_USERS}
    response_rules = wire.RULES

    settings: IntuneSettings

    def __init__(self, settings: IntuneSettings, *, tenant: str, read_only: bool = False) -> None:
        super().__init__(settings, tenant=tenant, read_only=read_only)
        # [decision] Commands go one at a time: 200 writes per 20 s per app (contract).
        self._commands = threading.Lock()

    def connection_url(self) -> str:
        return self.settings.graph_url

    def connection_auth(self) -> Auth:
        return OAuth2ClientCredentials(
            token_url=self.settings.token_url,
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret.get_secret_value(),
            scope=self.settings.scope,
        )

    @classmethod
    def start_simulator(
        cls,
        *,
        devices: int = 0,
        seed: int = 1,
        port: int = 0,
        credentials: Mapping[str, str] | None = None,
    ) -> RunningSimulator:
        from mdmbridge.simulation import RunningSimulator, pick_credentials

        from .simulator import (
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            DEFAULT_DOMAIN,
            DEFAULT_TENANT_ID,
            start_simulator,
        )

        defaults = {
            "tenant_id": DEFAULT_TENANT_ID,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        }
        creds = pick_credentials(VENDOR, credentials, defaults)
        server = start_simulator(
            devices=devices,
            seed=seed,
            port=port,
            tenant_id=creds["tenant_id"],
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
        )
        settings = {
            "authority_url": server.base_url,
            "graph_url": f"{server.base_url}/v1.0",
            **creds,
            "user_domain": DEFAULT_DOMAIN,
        }
        return RunningSimulator(server, settings)

    # plumbing ------------------------------------------------------------------------------

    def _context(self) -> dict[str, Any]:
        return {"vendor": VENDOR, "tenant": self.tenant}

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        eventual: bool = False,
    ) -> Any:
        """One Graph call with a fresh ``client-request-id`` ([decision] one per call; its
        retries share it), and ``ConsistencyLevel: eventual`` for advanced queries."""
        headers = {"client-request-id": str(uuid.uuid4())}
        if eventual:
            headers["ConsistencyLevel"] = "eventual"
        return self.http.request(method, path, json_body=body, headers=headers).data

    def _build(
        self, model: type[R], table: FieldTable, payload: Any, extra: Mapping[str, Any] | None
    ) -> R:
        return build(
            model,
            table,
            payload,
            tenant=self.tenant,
            vendor=VENDOR,
            extra=extra,
            redact=self.http.redact,
        )

    def _list(
        self,
        model: type[R],
        table: FieldTable,
        path: str,
        options: Mapping[str, str | int | None],
        *,
        what: str,
        eventual: bool = False,
        extra: Callable[[Any], Mapping[str, Any]] | None = None,
    ) -> Iterator[R]:
        """Every item of a Graph collection, following ``@odata.nextLink`` verbatim (re-sending
        ``ConsistencyLevel`` on every page), checked by ``paging.follow``: no id twice, no
        link twice, and the items add up to ``@odata.count`` when it came."""
        first = path + wire.query(options)
        context = self._context()

        def fetch(cursor: str | None) -> CursorPage[R]:
            data = self._send("GET", cursor or first, eventual=eventual)
            if not isinstance(data, dict) or not isinstance(data.get("value"), list):
                got = "an empty body" if data is None else type(data).__name__
                raise MalformedResponse(f"{what}: a page without a value list ({got})", **context)
            items = [
                self._build(model, table, item, None if extra is None else extra(item))
                for item in data["value"]
            ]
            link = wire.next_link(data, self.settings.graph_url, context)
            return CursorPage(items, link, wire.count_of(data))

        return follow(fetch, what=f"{VENDOR}:{self.tenant} {what}")

    def _one(
        self,
        model: type[R],
        table: FieldTable,
        path: str,
        fields: tuple[str, ...],
        extra: Mapping[str, Any] | None = None,
    ) -> R:
        data = self._send("GET", path + wire.query({"$select": wire.select(fields)}))
        return self._build(model, table, m.entity(data), extra)

    def _created_id(self, data: Any, what: str) -> str:
        new = data.get("id") if isinstance(data, dict) else None
        if not isinstance(new, str):
            raise MalformedResponse(f"creating a {what}: the answer held no id", **self._context())
        return guid(new, f"the new {what}'s id")

    # groups (security groups, flat) ---------------------------------------------------------

    def list_groups(self, filters: Values) -> Iterator[Group]:
        options: dict[str, str | int] = {
            "$select": wire.select(m.GROUP_SELECT),
            "$top": wire.DIRECTORY_TOP,
        }
        return self._list(Group, m.GROUP, "/groups", options, what="groups list")

    def get_group(self, group_id: str) -> Group:
        path = f"/groups/{guid(group_id, 'group id')}"
        return self._one(Group, m.GROUP, path, m.GROUP_SELECT)

    def create_group(self, values: GroupCreate) -> Group:
        name = values["name"]
        body: dict[str, Any] = {
            "displayName": name,
            "description": values.get("notes"),
            "mailEnabled": False,
            "securityEnabled": True,
            "mailNickname": wire.group_nickname(name),
            "groupTypes": [],
        }
        if body["description"] is None:
            del body["description"]
        new = self._created_id(self._send("POST", "/groups", body=body), "group")
        return self.get_group(new)

    def update_group(self, group_id: str, changes: GroupChanges) -> Group:
        path = f"/groups/{guid(group_id, 'group id')}"
        self._send("PATCH", path, body=m.to_graph(dict(changes), m.GROUP_KEYS))
        return self.get_group(group_id)

    def delete_group(self, group_id: str) -> None:
        self._send("DELETE", f"/groups/{guid(group_id, 'group id')}")

    def _add_member(self, group_id: str, user_id: str) -> None:
        """``POST /groups/{id}/members/$ref``; [decision] a membership that exists is done."""
        body = {"@odata.id": f"{self.settings.graph_url}/directoryObjects/{user_id}"}
        try:
            self._send("POST", f"/groups/{guid(group_id, 'group_id')}/members/$ref", body=body)
        except ValidationError as error:
            if not wire.already_member(error):
                raise

    # users ---------------------------------------------------------------------------------

    def list_users(self, filters: Values) -> Iterator[User]:
        select: dict[str, str | int | None] = {
            "$select": wire.select(m.USER_SELECT),
            "$top": wire.DIRECTORY_TOP,
        }
        group_id = filters.get("group_id")
        if group_id is not None:
            # The group's member users (the cast keeps only users), each with group_id =
            # the group: true, where "the" group of a user in many would not be.
            gid = guid(str(group_id), "group_id")
            members = self._list(
                User,
                m.USER,
                f"/groups/{gid}/members/microsoft.graph.user",
                select,
                what="group members list",
                extra=lambda item: {"group_id": gid},
            )
            wanted = {k: str(v).strip().casefold() for k, v in filters.items() if k != "group_id"}
            # [decision] other filters apply to the complete member list here (a $filter
            # on members is an advanced query in Graph): Graph's eq is case-insensitive.
            return (u for u in members if all(m.folded(u, k) == v for k, v in wanted.items()))
        clauses = []
        if "email" in filters:
            clauses.append(wire.eq("mail", str(filters["email"]).strip()))
        if "account" in filters:
            clauses.append(wire.eq("userPrincipalName", str(filters["account"]).strip()))
        options: dict[str, str | int | None] = dict(select)
        eventual = "phone" in filters
        if eventual:  # mobilePhone is an advanced query: the header and $count=true
            clauses.append(wire.eq("mobilePhone", str(filters["phone"]).strip()))
            options["$count"] = "true"
        if clauses:
            options["$filter"] = " and ".join(clauses)
        return self._list(User, m.USER, "/users", options, what="users list", eventual=eventual)

    def get_user(self, user_id: str) -> User:
        return self._one(User, m.USER, f"/users/{guid(user_id, 'user id')}", m.USER_SELECT)

    def create_user(self, values: UserCreate) -> User:
        """[decision] A disabled account (``accountEnabled: false``) with a random temporary
        password that nobody sees, not even the caller: an admin enables it and resets its
        password in Entra. The sign-in name is ``account``, else derived from the e-mail
        under the setting ``user_domain``."""
        group_id = values.get("group_id")
        gid = None if group_id is None else guid(group_id, "group_id")
        upn = wire.sign_in_name(values.get("account"), values.get("email"), self.settings)
        password = wire.temporary_password()
        self.http.redact.add(password)  # from the moment it exists
        body = m.new_user(dict(values), upn, password)
        new = self._created_id(self._send("POST", "/users", body=body), "user")
        if gid is not None:
            self._add_member(gid, new)
        extra = None if gid is None else {"group_id": gid}
        return self._one(User, m.USER, f"/users/{new}", m.USER_SELECT, extra)

    def update_user(self, user_id: str, changes: UserChanges) -> User:
        """PATCH with only the fields given (a merge: the others keep their values); a
        ``group_id`` adds that membership and removes none ([decision] see the contract)."""
        uid = guid(user_id, "user id")
        given = dict(changes)
        group_id = given.pop("group_id", None)
        gid = None if group_id is None else guid(str(group_id), "group_id")
        if given.get("email") is not None:
            wire.check_mail(str(given["email"]))
        body = m.to_graph(given, m.USER_UPDATE_KEYS)
        if body:
            self._send("PATCH", f"/users/{uid}", body=body)
        if gid is not None:
            self._add_member(gid, uid)
        extra = None if gid is None else {"group_id": gid}
        return self._one(User, m.USER, f"/users/{uid}", m.USER_SELECT, extra)

    def delete_user(self, user_id: str) -> None:
        self._send("DELETE", f"/users/{guid(user_id, 'user id')}")

    # devices -------------------------------------------------------------------------------

    def list_devices(self, filters: Values) -> Iterator[Device]:
        clauses = []
        if "serial_number" in filters:
            clauses.append(wire.eq("serialNumber", str(filters["serial_number"]).strip()))
        if "user_id" in filters:
            clauses.append(wire.eq("userId", guid(str(filters["user_id"]), "user_id")))
        options: dict[str, str | int | None] = {
            "$select": wire.select(m.DEVICE_SELECT),
            "$count": "true",  # Intune is not a directory: no ConsistencyLevel needed
            "$filter": " and ".join(clauses) or None,
        }
        return self._list(Device, m.DEVICE, DEVICES, options, what="managed devices list")

    def get_device(self, device_id: str) -> Device:
        path = f"{DEVICES}/{guid(device_id, 'device id')}"
        return self._one(Device, m.DEVICE, path, m.DEVICE_SELECT)

    def send_command(self, device_id: str, command: Command) -> CommandReceipt:
        action = ACTIONS.get(command.kind)
        if action is None:
            raise self._unsupported(f"the {command.kind.value} command")
        name, body = action
        path = f"{DEVICES}/{guid(device_id, 'device id')}/{name}"
        with self._commands:  # never retried once sent (the transport's rule for a POST)
            self._send("POST", path, body=body)
        return CommandReceipt(
            tenant=self.tenant,
            vendor=VENDOR,
            device_id=device_id,
            command=command,
            accepted_at=datetime.now(UTC),
        )

    # apps (read-only in v1.0) --------------------------------------------------------------

    def list_apps(self, filters: Values) -> Iterator[App]:
        options = {"$count": "true"}
        return self._list(App, m.APP, APPS, options, what="mobile apps list", extra=m.app_extra)

    def get_app(self, app_id: str) -> App:
        data = m.entity(self._send("GET", f"{APPS}/{guid(app_id, 'app id')}"))
        return self._build(App, m.APP, data, m.app_extra(data))
