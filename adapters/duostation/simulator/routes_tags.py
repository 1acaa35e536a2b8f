"""DuoSTATION's tags and tag links: ``/api/tags``, ``/api/devicetags``, ``/api/usertags`` and
``/api/grouptags`` (each ``[/{id}]``).

Links are records of their own with their own ids; a pair may be linked once (409 after),
and a tag with links cannot be deleted.
"""

from __future__ import annotations

from typing import cast

from mdmbridge.simulation.server import SimRequest, SimResponse

from .answers import Refused, bad, empty, listing, table_listing
from .body import guid_id, int_id, parse_guid, query_int, query_text, read_body, same
from .state import DuoStationState, Record, find


class TagRoutes(DuoStationState):
    """The handlers of ``tags`` and of the three link resources."""

    # ------------------------------------------------------------------ tags

    def _list_tags(self, request: SimRequest) -> SimResponse:
        return listing(request, [dict(t) for t in self.tags.values()])

    def _get_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        return SimResponse.json(dict(find(self.tags, int_id(raw_id, "tag"), "Tag")))

    def _create_tag(self, request: SimRequest) -> SimResponse:
        body = read_body(request)
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
        tag_id = int_id(raw_id, "tag")
        tag = find(self.tags, tag_id, "Tag")
        body = read_body(request)
        updated = dict(tag)
        if body.has("name"):
            updated["Name"] = body.text("name", required=True)
        if body.has("description"):
            updated["Description"] = body.text("description")
        if body.has("groupId"):
            updated["GroupId"] = self._group_ref(body.integer("groupId"))
        self.tags[tag_id] = updated
        return empty()

    def _delete_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        tag_id = int_id(raw_id, "tag")
        find(self.tags, tag_id, "Tag")
        for what, links in (
            ("devices", self.device_tags.records()),
            ("users", self.user_tags.records()),
            ("groups", iter(self.group_tags.values())),
        ):
            if any(link["TagId"] == tag_id for link in links):
                raise Refused(409, f"Tag {tag_id} is linked to {what} and cannot be deleted.")
        del self.tags[tag_id]
        return empty()

    # ------------------------------------------------------------------ tag links

    def _list_device_tags(self, request: SimRequest) -> SimResponse:
        raw_device = query_text(request, "deviceId")
        device_id = guid_id(raw_device) if raw_device is not None else None
        serial = query_text(request, "serialNumber")
        if device_id is None and serial is None:
            return table_listing(request, self.device_tags)
        out = [
            dict(t)
            for t in self.device_tags.records()
            if (device_id is None or t["DeviceId"] == device_id)
            and (serial is None or same(t["SerialNumber"], serial))
        ]
        return listing(request, out)

    def _get_device_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link = find(self.device_tags, int_id(raw_id, "device tag"), "Device tag")
        return SimResponse.json(dict(link))

    def _create_device_tag(self, request: SimRequest) -> SimResponse:
        body = read_body(request)
        raw_device = body.text("deviceId", required=True)
        device_id = parse_guid(cast(str, raw_device))
        if device_id is None:
            raise bad(f"The field 'deviceId' must be a GUID, not '{raw_device}'.")
        tag_id = body.integer("tagId", required=True, allow_text=True)
        device = find(self.devices, device_id, "Device")
        find(self.tags, tag_id, "Tag")
        if any(
            t["DeviceId"] == device_id and t["TagId"] == tag_id for t in self.device_tags.records()
        ):
            raise Refused(409, f"Tag {tag_id} is already linked to device {device_id}.")
        link_id = self._next_id("devicetags")
        self.device_tags[link_id] = {
            "Id": link_id,
            "DeviceId": device_id,
            "TagId": tag_id,
            "SerialNumber": device["SerialNumber"],
        }
        return self._created(link_id)

    def _delete_device_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link_id = int_id(raw_id, "device tag")
        find(self.device_tags, link_id, "Device tag")
        del self.device_tags[link_id]
        return empty()

    def _user_tag_out(self, link: Record) -> Record:
        user = self.users.peek(link["UserId"])
        return {**link, "UserName": user["Name"] if user is not None else None}

    def _list_user_tags(self, request: SimRequest) -> SimResponse:
        user_id = query_int(request, "userId")
        email = query_text(request, "email")
        emailed: set[int] | None = None
        if email is not None:
            emailed = set(self._users_by_email.get(email.casefold(), ()))
        out = [
            self._user_tag_out(t)
            for t in self.user_tags.records()
            if (user_id is None or t["UserId"] == user_id)
            and (emailed is None or t["UserId"] in emailed)
        ]
        return listing(request, out)

    def _get_user_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link = find(self.user_tags, int_id(raw_id, "user tag"), "User tag")
        return SimResponse.json(self._user_tag_out(link))

    def _create_user_tag(self, request: SimRequest) -> SimResponse:
        body = read_body(request)
        user_id = body.integer("userId", required=True, allow_text=True)
        tag_id = body.integer("tagId", required=True, allow_text=True)
        find(self.users, user_id, "User")
        find(self.tags, tag_id, "Tag")
        if any(t["UserId"] == user_id and t["TagId"] == tag_id for t in self.user_tags.records()):
            raise Refused(409, f"Tag {tag_id} is already linked to user {user_id}.")
        link_id = self._next_id("usertags")
        self.user_tags[link_id] = {"Id": link_id, "UserId": user_id, "TagId": tag_id}
        return self._created(link_id)

    def _delete_user_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link_id = int_id(raw_id, "user tag")
        find(self.user_tags, link_id, "User tag")
        del self.user_tags[link_id]
        return empty()

    def _list_group_tags(self, request: SimRequest) -> SimResponse:
        return listing(request, [dict(t) for t in self.group_tags.values()])

    def _get_group_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link = find(self.group_tags, int_id(raw_id, "group tag"), "Group tag")
        return SimResponse.json(dict(link))

    def _create_group_tag(self, request: SimRequest) -> SimResponse:
        body = read_body(request)
        group_id = body.integer("groupId", required=True, allow_text=True)
        tag_id = body.integer("tagId", required=True, allow_text=True)
        if group_id != 0:  # 0 is "All"
            find(self.groups, group_id, "Group")
        find(self.tags, tag_id, "Tag")
        if any(t["GroupId"] == group_id and t["TagId"] == tag_id for t in self.group_tags.values()):
            raise Refused(409, f"Tag {tag_id} is already linked to group {group_id}.")
        link_id = self._next_id("grouptags")
        self.group_tags[link_id] = {"Id": link_id, "GroupId": group_id, "TagId": tag_id}
        return self._created(link_id)

    def _delete_group_tag(self, request: SimRequest, raw_id: str) -> SimResponse:
        link_id = int_id(raw_id, "group tag")
        find(self.group_tags, link_id, "Group tag")
        del self.group_tags[link_id]
        return empty()
