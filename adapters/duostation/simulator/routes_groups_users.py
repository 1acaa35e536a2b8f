"""DuoSTATION's groups and users: ``/api/groups[/{id}]`` and ``/api/users[/{id}]``.

A group's ``Path`` is derived (see :meth:`DuoStationState._path_names`), so a group found by
``?path=`` must match exactly one; a user's group decides where the user's devices sit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mdmbridge.simulation.server import SimRequest, SimResponse

from .answers import Refused, bad, empty, listing, table_listing
from .body import Body, blank, int_id, query_int, query_text, read_body, same
from .state import DuoStationState, Record, find

_SEPARATORS = re.compile(r"[/\\]")


class GroupUserRoutes(DuoStationState):
    """The handlers of ``groups`` and ``users``; :class:`~.app.DuoStationSimulator` routes
    to them."""

    # ------------------------------------------------------------------ groups

    def _list_groups(self, request: SimRequest) -> SimResponse:
        number = query_text(request, "number")
        path = request.arg("path")
        candidates = [
            g for g in self.groups.values() if number is None or same(g["Number"], number)
        ]
        cache: dict[int, list[str]] = {}
        if path is not None and path.strip():
            wanted = [s.strip().casefold() for s in _SEPARATORS.split(path) if s.strip()]
            if not wanted:
                raise bad(f"The path '{path}' does not name a group.")
            matches = [
                g
                for g in candidates
                if [n.strip().casefold() for n in self._path_names(g["Id"], cache)] == wanted
            ]
            if not matches:
                raise Refused(404, f"No group matches the path '{path}'.")
            if len(matches) > 1:
                ids = ", ".join(str(g["Id"]) for g in matches)
                raise Refused(
                    409,
                    f"The path '{path}' matches {len(matches)} groups (ids {ids}); "
                    "use the group id instead.",
                )
            return SimResponse.json(self._group_out(matches[0], cache))
        return listing(request, [self._group_out(g, cache) for g in candidates])

    def _get_group(self, request: SimRequest, raw_id: str) -> SimResponse:
        group = find(self.groups, int_id(raw_id, "group"), "Group")
        return SimResponse.json(self._group_out(group, {}))

    @staticmethod
    def _lost_mode_input(body: Body) -> dict[str, str | None]:
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
        filled = [not blank(group[f]) for f in fields]
        if any(filled) and not all(filled):
            missing = ", ".join(
                f[0].lower() + f[1:] for f, ok in zip(fields, filled, strict=True) if not ok
            )
            raise bad(
                "All parameters for lost mode (lostModeMessage, lostModePhoneNumber, "
                f"lostModeFootNode) must have a value or no value; missing: {missing}."
            )

    def _create_group(self, request: SimRequest) -> SimResponse:
        body = read_body(request)
        name = body.text("name", required=True)
        parent_id = body.integer("parentId") or 0
        number, notes = body.text("number"), body.text("notes")
        lost = self._lost_mode_input(body)
        if parent_id and parent_id not in self.groups:
            raise Refused(404, f"Group {parent_id} (parentId) was not found.")
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
        group_id = int_id(raw_id, "group")
        group = find(self.groups, group_id, "Group")
        body = read_body(request)
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
        return empty()

    def _delete_group(self, request: SimRequest, raw_id: str) -> SimResponse:
        group_id = int_id(raw_id, "group")
        find(self.groups, group_id, "Group")
        links = (
            ("subgroups", (g for g in self.groups.values() if g["ParentId"] == group_id)),
            ("linked users", (u for u in self.users.records() if u["GroupId"] == group_id)),
            ("linked devices", (d for d in self.devices.records() if d["GroupId"] == group_id)),
            ("linked tags", (t for t in self.tags.values() if t["GroupId"] == group_id)),
            (
                "linked group tags",
                (t for t in self.group_tags.values() if t["GroupId"] == group_id),
            ),
        )
        for what, found in links:
            if any(True for _ in found):
                raise Refused(409, f"Group {group_id} has {what} and cannot be deleted.")
        del self.groups[group_id]
        return empty()

    # ------------------------------------------------------------------ users

    def _list_users(self, request: SimRequest) -> SimResponse:
        email = query_text(request, "email")
        phone = query_text(request, "phoneNumber")
        account = query_text(request, "account")
        group_id = query_int(request, "groupId")
        tag_id = query_int(request, "tagId")
        if all(value is None for value in (email, phone, account, group_id, tag_id)):
            return table_listing(request, self.users)
        candidates: Iterable[int] = ()
        if email is not None:
            candidates = sorted(self._users_by_email.get(email.casefold(), ()))
        tagged: set[int] | None = None
        if tag_id is not None:
            tagged = {t["UserId"] for t in self.user_tags.records() if t["TagId"] == tag_id}
        rows: Iterable[Record | None] = (
            self.users.records()
            if email is None
            else (self.users.peek(user_id) for user_id in candidates)
        )
        out: list[Record] = []
        for user in rows:
            if user is None:
                continue
            user_id = user["Id"]
            if email is not None and not same(user["Email"], email):
                continue
            if phone is not None and not same(user["PhoneNumber"], phone):
                continue
            if account is not None and not same(user["AccountName"], account):
                continue
            if group_id is not None and user["GroupId"] != group_id:
                continue
            if tagged is not None and user_id not in tagged:
                continue
            out.append(dict(user))
        return listing(request, out)

    def _get_user(self, request: SimRequest, raw_id: str) -> SimResponse:
        user = find(self.users, int_id(raw_id, "user"), "User")
        return SimResponse.json(dict(user))

    def _create_user(self, request: SimRequest) -> SimResponse:
        body = read_body(request)
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
        user_id = int_id(raw_id, "user")
        user = find(self.users, user_id, "User")
        body = read_body(request)
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
        return empty()

    def _delete_user(self, request: SimRequest, raw_id: str) -> SimResponse:
        user_id = int_id(raw_id, "user")
        user = find(self.users, user_id, "User")
        if self._devices_by_user.get(user_id):
            raise Refused(409, f"User {user_id} has linked devices and cannot be deleted.")
        for link_id in [t["Id"] for t in self.user_tags.records() if t["UserId"] == user_id]:
            del self.user_tags[link_id]
        self._index_email(user_id, user["Email"], None)
        del self.users[user_id]
        return empty()
