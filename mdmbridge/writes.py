"""GENERATED from the registry by ``python -m mdmbridge.generate``: do not edit.

``...Args``: the keywords of the client's write calls, checked by a caller's mypy.
The others: what an adapter's create/update method receives, already validated
(ids as strings, enums as members; on create None is left out, on update only the
fields given are present and None means "clear").

The annotations are evaluated (no ``from __future__ import annotations``), so that
``Required`` is seen at run time too (``__required_keys__``, pydantic).
"""

from typing import Required

from typing_extensions import TypedDict

from mdmbridge.fields import Id, Unset
from mdmbridge.models import AppStore, Platform


class UserCreateArgs(TypedDict, total=False):
    """Keywords of ``client.users.create()``; None is not sent."""

    name: Required[str]
    email: str | None
    phone: str | None
    account: str | None
    account_group: str | None
    group_id: Id | None
    company: str | None
    office: str | None
    department: str | None
    position: str | None


class UserCreate(TypedDict, total=False):
    """What ``Adapter.create_user`` receives."""

    name: Required[str]
    email: str
    phone: str
    account: str
    account_group: str
    group_id: str
    company: str
    office: str
    department: str
    position: str


class UserUpdateArgs(TypedDict, total=False):
    """Keywords of ``client.users.update(id, ...)``: not given is not sent, None clears."""

    name: str | Unset
    email: str | Unset | None
    phone: str | Unset | None
    group_id: Id | Unset
    company: str | Unset | None
    office: str | Unset | None
    department: str | Unset | None
    position: str | Unset | None


class UserChanges(TypedDict, total=False):
    """What ``Adapter.update_user`` receives: the fields given."""

    name: str
    email: str | None
    phone: str | None
    group_id: str
    company: str | None
    office: str | None
    department: str | None
    position: str | None


class GroupCreateArgs(TypedDict, total=False):
    """Keywords of ``client.groups.create()``; None is not sent."""

    name: Required[str]
    parent_id: Id | None
    number: str | None
    notes: str | None
    lost_mode_message: str | None
    lost_mode_phone_number: str | None
    lost_mode_footnote: str | None


class GroupCreate(TypedDict, total=False):
    """What ``Adapter.create_group`` receives."""

    name: Required[str]
    parent_id: str
    number: str
    notes: str
    lost_mode_message: str
    lost_mode_phone_number: str
    lost_mode_footnote: str


class GroupUpdateArgs(TypedDict, total=False):
    """Keywords of ``client.groups.update(id, ...)``: not given is not sent, None clears."""

    name: str | Unset
    number: str | Unset | None
    notes: str | Unset | None
    lost_mode_message: str | Unset | None
    lost_mode_phone_number: str | Unset | None
    lost_mode_footnote: str | Unset | None


class GroupChanges(TypedDict, total=False):
    """What ``Adapter.update_group`` receives: the fields given."""

    name: str
    number: str | None
    notes: str | None
    lost_mode_message: str | None
    lost_mode_phone_number: str | None
    lost_mode_footnote: str | None


class TagCreateArgs(TypedDict, total=False):
    """Keywords of ``client.tags.create()``; None is not sent."""

    name: Required[str]
    description: str | None
    group_id: Id | None


class TagCreate(TypedDict, total=False):
    """What ``Adapter.create_tag`` receives."""

    name: Required[str]
    description: str
    group_id: str


class TagUpdateArgs(TypedDict, total=False):
    """Keywords of ``client.tags.update(id, ...)``: not given is not sent, None clears."""

    name: str | Unset
    description: str | Unset | None
    group_id: Id | Unset | None


class TagChanges(TypedDict, total=False):
    """What ``Adapter.update_tag`` receives: the fields given."""

    name: str
    description: str | None
    group_id: str | None


class AppUpsertArgs(TypedDict, total=False):
    """Keywords of ``client.apps.upsert()``; None is not sent."""

    name: Required[str]
    description: str | None
    company: Required[str]
    package_id: Required[str]
    version_text: Required[str]
    version_number: int | None
    platform: Required[Platform | str]
    size: Required[int]
    store: Required[AppStore | str]
    store_id: Required[str]
    image_url: str | None
    image_data: str | None


class AppUpsert(TypedDict, total=False):
    """What ``Adapter.upsert_app`` receives."""

    name: Required[str]
    description: str
    company: Required[str]
    package_id: Required[str]
    version_text: Required[str]
    version_number: int
    platform: Required[Platform]
    size: Required[int]
    store: Required[AppStore]
    store_id: Required[str]
    image_url: str
    image_data: str
