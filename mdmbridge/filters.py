"""The list filters of every entity, each declared once, as a ``TypedDict`` key.

``client.users.list(**filters: Unpack[UserFilters])``: a caller's mypy checks the filter
names and types, the CLI builds one ``list`` option per key (its help is the
:class:`~mdmbridge.fields.Filter`), and an adapter names the keys it applies on the server
in its ``list_filters``. Adding a filter is one line here plus the adapters' mapping lines.
Filters combine (all must match); None means "no filter"; ``*_id`` values are normalised
to stripped strings before an adapter sees them.
"""

from __future__ import annotations

from typing import Annotated

from typing_extensions import TypedDict

from mdmbridge.fields import Filter, Id


class GroupFilters(TypedDict, total=False):
    number: Annotated[str | None, Filter("only the group with this number")]
    path: Annotated[str | None, Filter('only the group at this path of names ("A/B" or "A\\B")')]


class UserFilters(TypedDict, total=False):
    email: Annotated[str | None, Filter("only users with this e-mail address")]
    phone: Annotated[str | None, Filter("only users with this phone number")]
    account: Annotated[str | None, Filter("only users with this account name")]
    group_id: Annotated[Id | None, Filter("only users in this group (id)")]
    tag_id: Annotated[Id | None, Filter("only users with this tag (id)")]


class DeviceFilters(TypedDict, total=False):
    serial_number: Annotated[str | None, Filter("only the device with this serial number")]
    group_id: Annotated[Id | None, Filter("only devices in this group (id)")]
    user_id: Annotated[Id | None, Filter("only devices of this user (id)")]
    account: Annotated[str | None, Filter("only devices with this account name")]
    tag_id: Annotated[Id | None, Filter("only devices with this tag (id)")]


class DeviceTagFilters(TypedDict, total=False):
    device_id: Annotated[Id | None, Filter("of this device")]
    serial_number: Annotated[str | None, Filter("by serial")]


class UserTagFilters(TypedDict, total=False):
    user_id: Annotated[Id | None, Filter("of this user")]
    email: Annotated[str | None, Filter("by the user's e-mail")]


# Listed whole today; a filter added to one of them is a line in its class.


class TagFilters(TypedDict, total=False):
    pass


class GroupTagFilters(TypedDict, total=False):
    pass


class AppFilters(TypedDict, total=False):
    pass


class NoFilters(TypedDict, total=False):
    """Locations: listed per device (``locations.list(device_id=...)``), never filtered."""
