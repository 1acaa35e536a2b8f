"""Entra ID users through Graph: ``/users``, ``/users/{id or userPrincipalName}``.

Create answers 201 with the new user; update answers 204 and merges only the properties
sent; delete answers 204 and drops the user's memberships."""

from __future__ import annotations

import uuid
from typing import Any

from mdmbridge.simulation.server import SimRequest, SimResponse

from .core import Listing, SimCore, now_iso
from .directory_rules import (
    _UPN_LOCAL,
    _invalid_value,
    _nickname_ok,
    _no_such_property,
    _not_found,
    _password_hash,
    _select,
)
from .odata import project
from .schema import USER, USER_DEFAULT, USER_REQUIRED, USER_TEXT, USER_WRITABLE

Record = dict[str, Any]


class UserRoutes(SimCore):
    # ------------------------------------------------------------------ users

    def _users(self, request: SimRequest, rest: list[str]) -> SimResponse:
        if not rest:
            if request.method == "GET":
                return self.list_page(request, self._user_listing())
            if request.method == "POST":
                return self._create_user(request)
            raise self.method_not_allowed(request)
        if rest[0] == "$count" and len(rest) == 1:
            if request.method != "GET":
                raise self.method_not_allowed(request)
            return self.count_segment(request, self._user_listing())
        user = self.user_by_key(rest[0])
        if user is None:
            raise _not_found(rest[0])
        if len(rest) == 2 and rest[1].lower() == "manageddevices" and request.method == "GET":
            return self._user_devices(request, str(user["id"]))
        if len(rest) > 1:
            raise self.segment_error(rest[1])
        if request.method == "GET":
            self.check_options(request, USER, allow=frozenset({"select"}))
            select = _select(self, request, USER)
            body = {"@odata.context": self.context(request, "users/$entity", select)}
            body.update(project(user, select or USER_DEFAULT))
            return self.json_answer(body)
        if request.method == "PATCH":
            self._update_user(user, self.read_body(request, USER))
            return self.no_content()
        if request.method == "DELETE":
            self._delete_user(user)
            return self.no_content()
        raise self.method_not_allowed(request)

    def _user_listing(self) -> Listing:
        return Listing(
            key="users",
            resource=USER,
            context="users",
            iterate=self.users.from_position,
            serialize=lambda record, select: project(record, select or USER_DEFAULT),
            page_default=self.directory_page_size,
            page_max=999,
        )

    def _create_user(self, request: SimRequest) -> SimResponse:
        body = self.read_body(request, USER)
        for name in body:
            if name not in USER_WRITABLE and not name.startswith("@odata"):
                raise _no_such_property(name, USER_WRITABLE | {"id", "createdDateTime"})
        for name in USER_REQUIRED:
            if body.get(name) in (None, ""):
                raise _invalid_value(name, "User")
        changes = self._checked_user_changes(body, current=None)
        user_id = str(uuid.uuid4())
        record: Record = {
            "id": user_id,
            "businessPhones": [],
            "displayName": None,
            "givenName": None,
            "surname": None,
            "mail": None,
            "mailNickname": None,
            "userPrincipalName": None,
            "mobilePhone": None,
            "jobTitle": None,
            "department": None,
            "companyName": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "accountEnabled": True,
            "usageLocation": None,
            "employeeId": None,
            "createdDateTime": now_iso(),
            "passwordProfile": None,
        }
        self._apply_user_changes(record, changes)
        self.users.add(user_id, record)
        self.upn_index()[str(record["userPrincipalName"]).lower()] = user_id
        answer = {"@odata.context": self.context(request, "users/$entity")}
        answer.update(project(record, USER_DEFAULT))
        response = self.json_answer(answer, status=201)
        response.headers["Location"] = (
            f"https://graph.microsoft.com/v2/{self.tokens.tenant_id}/directoryObjects/{user_id}"
            "/Microsoft.DirectoryServices.User"
        )
        return response

    def _update_user(self, user: Record, body: dict[str, Any]) -> None:
        for name in body:
            if name.startswith("@odata"):
                continue
            if name in {"id", "createdDateTime"}:
                raise USER.bad_request(f"Property '{name}' is read-only and cannot be set.")
            if name not in USER_WRITABLE:
                raise _no_such_property(name, USER_WRITABLE)
        changes = self._checked_user_changes(body, current=user)
        old_upn = str(user["userPrincipalName"]).lower()
        self._apply_user_changes(user, changes)
        new_upn = str(user["userPrincipalName"]).lower()
        if new_upn != old_upn:
            index = self.upn_index()
            index.pop(old_upn, None)
            index[new_upn] = str(user["id"])

    def _checked_user_changes(
        self, body: dict[str, Any], *, current: Record | None
    ) -> dict[str, Any]:
        """Validate everything first, so a refused PATCH changes nothing."""
        changes: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@odata"):
                continue
            if name in USER_TEXT:
                if value is not None and not isinstance(value, str):
                    raise _invalid_value(name, "User")
                if name == "displayName" and (
                    value is None or not value.strip() or len(value) > 256
                ):
                    raise _invalid_value(name, "User")
                if name == "userPrincipalName":
                    self._check_upn(
                        value, current_id=None if current is None else str(current["id"])
                    )
                if (
                    name == "mail"
                    and value is not None
                    and (not value.isascii() or value.count("@") != 1)
                ):
                    raise _invalid_value(name, "User")
                if name == "mailNickname" and (value is None or not _nickname_ok(value, dots=True)):
                    raise _invalid_value(name, "User")
                changes[name] = value if name == "displayName" else (value or None)
            elif name == "accountEnabled":
                if not isinstance(value, bool):
                    raise _invalid_value(name, "User")
                changes[name] = value
            elif name == "businessPhones":
                if (
                    not isinstance(value, list)
                    or len(value) > 1
                    or not all(isinstance(v, str) for v in value)
                ):
                    raise _invalid_value(name, "User")
                changes[name] = list(value)
            elif name == "passwordProfile":
                changes[name] = _password_hash(value)
        return changes

    def _apply_user_changes(self, record: Record, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name == "passwordProfile":
                self.passwords[str(record["id"])] = value
                continue
            record[name] = value

    def _check_upn(self, upn: Any, *, current_id: str | None) -> None:
        if not isinstance(upn, str) or upn.count("@") != 1:
            raise _invalid_value("userPrincipalName", "User")
        local, domain = upn.split("@")
        if (
            not _UPN_LOCAL.fullmatch(local)
            or local.startswith(".")
            or local.endswith(".")
            or ".." in local
            or len(local) > 64
        ):
            raise _invalid_value("userPrincipalName", "User")
        if domain.lower() not in self.tokens.domains:
            raise USER.bad_request(
                "The domain portion of the userPrincipalName property is invalid. You must use one "
                "of the verified domain names in your organization."
            )
        existing = self.upn_index().get(upn.lower())
        if existing is not None and existing != current_id:
            raise USER.bad_request(
                "Another object with the same value for property userPrincipalName already exists."
            )

    def _delete_user(self, user: Record) -> None:
        user_id = str(user["id"])
        self.users.delete(user_id)
        self.upn_index().pop(str(user["userPrincipalName"]).lower(), None)
        self.passwords.pop(user_id, None)
        self.forget_object(user_id)
        # [sim decision] a managed device keeps its userId: Intune clears the primary user on
        # its own schedule, not when the Entra account goes.
