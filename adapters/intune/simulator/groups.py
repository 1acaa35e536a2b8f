"""Entra ID groups through Graph: ``/groups``, ``/groups/{id}``, and their members
(``/groups/{id}/members``, ``members/$ref``, ``members@odata.bind`` on create and update)."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

from mdmbridge.simulation.server import SimRequest, SimResponse

from .core import Listing, SimCore, canonical_guid, now_iso
from .directory_rules import (
    _BIND_PATH,
    MAX_BINDS,
    _already_member,
    _invalid_value,
    _nickname_ok,
    _no_such_property,
    _not_found,
    _select,
)
from .odata import GraphError, project
from .schema import (
    DIRECTORY_OBJECT,
    GROUP,
    GROUP_CREATABLE,
    GROUP_DEFAULT,
    GROUP_REQUIRED,
    GROUP_UPDATABLE,
    USER_DEFAULT,
)
from .state import OrderedIds

Record = dict[str, Any]


class GroupRoutes(SimCore):
    # ------------------------------------------------------------------ groups

    def _groups(self, request: SimRequest, rest: list[str]) -> SimResponse:
        if not rest:
            if request.method == "GET":
                return self.list_page(request, self._group_listing())
            if request.method == "POST":
                return self._create_group(request)
            raise self.method_not_allowed(request)
        if rest[0] == "$count" and len(rest) == 1:
            if request.method != "GET":
                raise self.method_not_allowed(request)
            return self.count_segment(request, self._group_listing())
        group_id = canonical_guid(rest[0])
        if group_id is None:
            raise GROUP.bad_request(f"Invalid object identifier '{rest[0]}'.")
        group = self.groups.get(group_id)
        if group is None:
            raise _not_found(rest[0])
        if len(rest) > 1:
            if rest[1].lower() != "members":
                raise self.segment_error(rest[1])
            return self._members(request, group, rest[2:])
        if request.method == "GET":
            self.check_options(request, GROUP, allow=frozenset({"select"}))
            select = _select(self, request, GROUP)
            body = {"@odata.context": self.context(request, "groups/$entity", select)}
            body.update(project(group, select or GROUP_DEFAULT))
            return self.json_answer(body)
        if request.method == "PATCH":
            self._update_group(request, group, self.read_body(request, GROUP))
            return self.no_content()
        if request.method == "DELETE":
            self.groups.delete(group_id)
            self.forget_object(group_id)
            return self.no_content()
        raise self.method_not_allowed(request)

    def _group_listing(self) -> Listing:
        return Listing(
            key="groups",
            resource=GROUP,
            context="groups",
            iterate=self.groups.from_position,
            serialize=lambda record, select: project(record, select or GROUP_DEFAULT),
            page_default=self.directory_page_size,
            page_max=999,
        )

    def new_group_record(
        self,
        group_id: str,
        *,
        display_name: str,
        description: str | None,
        nickname: str,
        created: str,
        mail_enabled: bool = False,
        security_enabled: bool = True,
        group_types: tuple[str, ...] = (),
    ) -> Record:
        mail = f"{nickname}@{self.domain}" if mail_enabled else None
        sid_parts = uuid.UUID(group_id).int
        sid = "S-1-12-1-" + "-".join(
            str((sid_parts >> shift) & 0xFFFFFFFF) for shift in (96, 64, 32, 0)
        )
        return {
            "id": group_id,
            "deletedDateTime": None,
            "classification": None,
            "createdDateTime": created,
            "creationOptions": [],
            "description": description,
            "displayName": display_name,
            "expirationDateTime": None,
            "groupTypes": list(group_types),
            "isAssignableToRole": None,
            "mail": mail,
            "mailEnabled": mail_enabled,
            "mailNickname": nickname,
            "membershipRule": None,
            "membershipRuleProcessingState": None,
            "onPremisesDomainName": None,
            "onPremisesLastSyncDateTime": None,
            "onPremisesNetBiosName": None,
            "onPremisesSamAccountName": None,
            "onPremisesSecurityIdentifier": None,
            "onPremisesSyncEnabled": None,
            "preferredDataLocation": None,
            "preferredLanguage": None,
            "proxyAddresses": [f"SMTP:{mail}"] if mail else [],
            "renewedDateTime": created,
            "resourceBehaviorOptions": [],
            "resourceProvisioningOptions": [],
            "securityEnabled": security_enabled,
            "securityIdentifier": sid,
            "theme": None,
            "visibility": "Private" if "Unified" in group_types else None,
            "onPremisesProvisioningErrors": [],
        }

    def _create_group(self, request: SimRequest) -> SimResponse:
        body = self.read_body(request, GROUP)
        binds: list[str] = []
        for name, value in body.items():
            if name.startswith("@odata"):
                continue
            if name in {"members@odata.bind", "owners@odata.bind"}:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise _invalid_value(name, "Group")
                if name == "members@odata.bind":
                    binds.extend(value)
                continue
            if name not in GROUP_CREATABLE:
                raise _no_such_property(name, GROUP_CREATABLE | {"id"})
        for name in GROUP_REQUIRED:
            if name not in body or body[name] is None:
                raise _invalid_value(name, "Group")
        name_value, nickname = body["displayName"], body["mailNickname"]
        if not isinstance(name_value, str) or not name_value.strip() or len(name_value) > 256:
            raise _invalid_value("displayName", "Group")
        if not isinstance(nickname, str) or not _nickname_ok(nickname):
            raise _invalid_value("mailNickname", "Group")
        mail_enabled, security_enabled = body["mailEnabled"], body["securityEnabled"]
        if not isinstance(mail_enabled, bool) or not isinstance(security_enabled, bool):
            raise _invalid_value(
                "mailEnabled" if not isinstance(mail_enabled, bool) else "securityEnabled", "Group"
            )
        group_types = body.get("groupTypes") or []
        if not isinstance(group_types, list) or not set(group_types) <= {
            "Unified",
            "DynamicMembership",
        }:
            raise _invalid_value("groupTypes", "Group")
        unified = "Unified" in group_types
        if mail_enabled and not unified:
            raise GROUP.bad_request(
                "The service does not currently support writes of mail-enabled groups. Please "
                "ensure that the mail-enablement property is unset or is set to false."
            )
        if unified and not mail_enabled:
            raise _invalid_value("mailEnabled", "Group")  # [sim decision]
        if unified and any(
            g.get("mailNickname", "").lower() == nickname.lower() and "Unified" in g["groupTypes"]
            for g in self.groups.all()
        ):
            raise GROUP.bad_request(
                "Another object with the same value for property mailNickname already exists."
            )
        if len(binds) > MAX_BINDS:
            raise GROUP.bad_request(
                f"A maximum of {MAX_BINDS} members can be added in one request."
            )
        member_ids = [self._resolve_bind(url) for url in binds]
        group_id = str(uuid.uuid4())
        record = self.new_group_record(
            group_id,
            display_name=name_value,
            description=body.get("description"),
            nickname=nickname,
            created=now_iso(),
            mail_enabled=mail_enabled,
            security_enabled=security_enabled,
            group_types=tuple(group_types),
        )
        for extra in (
            "visibility",
            "preferredLanguage",
            "theme",
            "classification",
            "membershipRule",
        ):
            if extra in body:
                record[extra] = body[extra]
        if "DynamicMembership" in group_types:
            record["membershipRuleProcessingState"] = "On"
        self.groups.add(group_id, record)
        for member_id in member_ids:
            self.add_member(group_id, member_id)
        answer = {"@odata.context": self.context(request, "groups/$entity")}
        answer.update(project(record, GROUP_DEFAULT))
        return self.json_answer(answer, status=201)

    def _update_group(self, request: SimRequest, group: Record, body: dict[str, Any]) -> None:
        binds: list[str] = []
        changes: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@odata"):
                continue
            if name == "members@odata.bind":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise _invalid_value(name, "Group")
                binds.extend(value)
                continue
            if name in {
                "id",
                "createdDateTime",
                "groupTypes",
                "mail",
                "proxyAddresses",
                "securityIdentifier",
            }:
                raise GROUP.bad_request(f"Property '{name}' is read-only and cannot be set.")
            if name not in GROUP_UPDATABLE:
                raise _no_such_property(name, GROUP_UPDATABLE)
            if name == "displayName" and (
                not isinstance(value, str) or not value.strip() or len(value) > 256
            ):
                raise _invalid_value(name, "Group")
            if name == "mailNickname" and (not isinstance(value, str) or not _nickname_ok(value)):
                raise _invalid_value(name, "Group")
            if name in {"securityEnabled", "mailEnabled"} and not isinstance(value, bool):
                raise _invalid_value(name, "Group")
            if name == "mailEnabled" and value != group["mailEnabled"]:
                raise GROUP.bad_request(
                    "The service does not currently support writes of mail-enabled groups. Please "
                    "ensure that the mail-enablement property is unset or is set to false."
                )
            if name == "description" and value is not None and not isinstance(value, str):
                raise _invalid_value(name, "Group")
            changes[name] = value
        if len(binds) > MAX_BINDS:
            raise GROUP.bad_request(
                f"A maximum of {MAX_BINDS} members can be added in one request."
            )
        member_ids = [self._resolve_bind(url) for url in binds]
        existing = self.members.get(str(group["id"]))
        for member_id in member_ids:
            if existing is not None and member_id in existing:
                raise _already_member()
        group.update(changes)
        for member_id in member_ids:
            self.add_member(str(group["id"]), member_id)

    # ------------------------------------------------------------------ members

    def _members(self, request: SimRequest, group: Record, rest: list[str]) -> SimResponse:
        group_id = str(group["id"])
        if not rest or (
            len(rest) == 1 and rest[0].lower() in {"microsoft.graph.user", "microsoft.graph.group"}
        ):
            if request.method != "GET":
                raise self.method_not_allowed(request)
            cast = rest[0].lower().removeprefix("microsoft.graph.") if rest else None
            return self.list_page(request, self._member_listing(group_id, cast))
        if rest == ["$count"]:
            if request.method != "GET":
                raise self.method_not_allowed(request)
            return self.count_segment(request, self._member_listing(group_id, None))
        if rest == ["$ref"]:
            if request.method != "POST":
                raise self.method_not_allowed(request)
            body = self.read_body(request, DIRECTORY_OBJECT)
            url = body.get("@odata.id")
            if not isinstance(url, str) or set(body) - {"@odata.id"}:
                raise GraphError(
                    400, "Request_BadRequest", "Invalid URL format specified in @odata.id."
                )
            member_id = self._resolve_bind(url)
            if member_id == group_id:
                raise GraphError(400, "Request_BadRequest", "A group cannot be a member of itself.")
            if not self.add_member(group_id, member_id):
                raise _already_member()
            return self.no_content()
        if len(rest) == 2 and rest[1] == "$ref":
            if request.method != "DELETE":
                raise self.method_not_allowed(request)
            removed = canonical_guid(rest[0])
            if removed is None or not self.remove_member(group_id, removed):
                raise _not_found(rest[0])
            return self.no_content()
        raise self.segment_error(rest[0])

    def _member_listing(self, group_id: str, cast: str | None) -> Listing:
        ids = self.members.setdefault(group_id, OrderedIds())

        def iterate(start: int) -> Any:
            for position, member_id in ids.from_position(start):
                found = self.directory_object(member_id)
                if found is None:
                    continue
                kind, record = found
                if cast is not None and kind != cast:
                    continue
                yield position, {"__kind": kind, **record}

        def serialize(record: Record, select: tuple[str, ...] | None) -> Record:
            kind = record["__kind"]
            names = select or (USER_DEFAULT if kind == "user" else GROUP_DEFAULT)
            return {"@odata.type": f"#microsoft.graph.{kind}", **project(record, names)}

        context = (
            "directoryObjects" if cast is None else f"{'users' if cast == 'user' else 'groups'}"
        )
        return Listing(
            key=f"members:{group_id}:{cast}",
            resource=DIRECTORY_OBJECT,
            context=context,
            iterate=iterate,
            serialize=serialize,
            page_default=self.directory_page_size,
            page_max=999,
        )

    def _resolve_bind(self, url: str) -> str:
        """The object id in an ``@odata.id`` / ``@odata.bind`` URL; it must exist."""
        path = urllib.parse.urlsplit(url).path
        match = _BIND_PATH.search(path)
        if match is None:
            raise GraphError(
                400, "Request_BadRequest", "Invalid URL format specified in @odata.id."
            )
        object_id = canonical_guid(match.group(1))
        if object_id is None or self.directory_object(object_id) is None:
            raise _not_found(match.group(1))
        return object_id
