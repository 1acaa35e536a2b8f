"""The filters a vendor cannot apply, applied by the client as records stream past.

Every filter the registry declares (:mod:`mdmbridge.filters`) works on every adapter. An
adapter names in ``list_filters`` those its vendor applies on the server; the client sends
those and applies the rest here: the listing streams through a generator that yields only
the records every filter holds for, so memory stays flat (a filter that needs another
listing, such as ``tag_id``, keeps only the set of ids that listing names).

How each filter matches, the same whichever side applies it (as DuoSTATION, which applies
every filter server-side, compares):

* ids (``*_id``): exactly, after the client's normalisation (a stripped string);
* text (a serial number, an e-mail address, a phone number, an account, a group number):
  the whole value, case-insensitively, surrounding spaces ignored; no wildcards;
* a group ``path``: its names from the top, split on ``/`` or ``\\``, empty names skipped,
  each compared case-insensitively and trimmed; a group with no path (ezmdm's are flat) is
  matched by its name when it has no parent;
* devices by ``group_id``: the device's group; a device that carries none (ezmdm's) is in
  its user's group; by ``account``: its user's account name; by ``tag_id``: the device's
  tag links (a vendor without tags has no tagged devices: the listing is empty, as
  DuoSTATION answers a tag id it does not know);
* users by ``tag_id``: their tag links, likewise;
* tag links by ``serial_number`` or ``email``: links to the devices (users) that filter
  lists.

A blank text value is refused before any request (``ValidationError``), wherever the
filter is applied, as an empty id is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mdmbridge.capabilities import Capability
from mdmbridge.entities import ENTITIES, Entity
from mdmbridge.errors import ValidationError

if TYPE_CHECKING:
    from mdmbridge.client import Client

R = TypeVar("R")
Test = Callable[[Any], bool]
Side = Literal["server", "local"]
_SEPARATORS = re.compile(r"[/\\]")


@dataclass(frozen=True)
class Rule:
    """How the client applies one filter: ``how`` says it in words (``mdmbridge
    adapters``, the docs); ``build(client, value)`` returns the record test, reading any
    listing it needs through ``client`` (called when the listing is first iterated)."""

    how: str
    build: Callable[[Client, Any], Test]


# --------------------------------------------------------------------------- matchers


def text_key(value: Any) -> str:
    return str(value).strip().casefold()


def path_names(path: str) -> list[str]:
    return [name.strip().casefold() for name in _SEPARATORS.split(path) if name.strip()]


def _id_rule(attribute: str) -> Rule:
    def build(client: Client, value: Any) -> Test:
        wanted = str(value)
        return lambda record: getattr(record, attribute) == wanted

    return Rule("exact", build)


def _text_rule(attribute: str) -> Rule:
    def build(client: Client, value: Any) -> Test:
        wanted = text_key(value)

        def test(record: Any) -> bool:
            have = getattr(record, attribute)
            return have is not None and text_key(have) == wanted

        return test

    return Rule("whole value, case-insensitive", build)


def _path_rule() -> Rule:
    def build(client: Client, value: Any) -> Test:
        wanted = path_names(str(value))

        def test(group: Any) -> bool:
            path = group.path
            if path is None:
                path = group.name if group.parent_id is None else None
            return path is not None and path_names(path) == wanted

        return test

    return Rule("names from the top (/ or \\), case-insensitive", build)


def _ids_in(attribute: str, listed: Callable[[Client, Any], set[str]], how: str) -> Rule:
    """Records whose ``attribute`` is among the ids another listing gives."""

    def build(client: Client, value: Any) -> Test:
        ids = listed(client, value)
        return lambda record: getattr(record, attribute) in ids

    return Rule(how, build)


def _tagged(entity: str, capability: Capability) -> Callable[[Client, Any], set[str]]:
    def listed(client: Client, tag_id: Any) -> set[str]:
        if not client.supports(capability):
            return set()  # no tags on this vendor: nothing carries one
        links = getattr(client, entity).list()
        return {link.target_id for link in links if link.tag_id == str(tag_id)}

    return listed


def _users_by(name: str) -> Callable[[Client, Any], set[str]]:
    def listed(client: Client, value: Any) -> set[str]:
        return {user.id for user in client.users.list(**{name: value})}

    return listed


def _devices_by_serial(client: Client, serial: Any) -> set[str]:
    return {device.id for device in client.devices.list(serial_number=serial)}


def _device_group() -> Rule:
    """A device's own group; a device without one (ezmdm) is in its user's group, whose
    members are listed once, only if such a device comes by."""

    def build(client: Client, value: Any) -> Test:
        wanted = str(value)
        members: set[str] | None = None

        def test(device: Any) -> bool:
            nonlocal members
            if device.group_id is not None:
                return bool(device.group_id == wanted)
            if device.user_id is None:
                return False
            if members is None:
                members = {user.id for user in client.users.list(group_id=wanted)}
            return device.user_id in members

        return test

    return Rule("exact: the device's group, else its user's", build)


RULES: dict[str, dict[str, Rule]] = {
    "devices": {
        "serial_number": _text_rule("serial_number"),
        "group_id": _device_group(),
        "user_id": _id_rule("user_id"),
        "account": _ids_in("user_id", _users_by("account"), "its user's account"),
        "tag_id": _ids_in(
            "id", _tagged("device_tags", Capability.DEVICE_TAGS), "exact, by its tag links"
        ),
    },
    "users": {
        "email": _text_rule("email"),
        "phone": _text_rule("phone"),
        "account": _text_rule("account"),
        "group_id": _id_rule("group_id"),
        "tag_id": _ids_in(
            "id", _tagged("user_tags", Capability.USER_TAGS), "exact, by its tag links"
        ),
    },
    "groups": {
        "number": _text_rule("number"),
        "path": _path_rule(),
    },
    "device_tags": {
        "device_id": _id_rule("target_id"),
        "serial_number": _ids_in("target_id", _devices_by_serial, "the device's serial"),
    },
    "user_tags": {
        "user_id": _id_rule("target_id"),
        "email": _ids_in("target_id", _users_by("email"), "the user's e-mail"),
    },
}


def rule(entity: Entity | str, name: str) -> Rule:
    name_of = entity if isinstance(entity, str) else entity.name
    return RULES[name_of][name]


def checked_value(entity: Entity, name: str, value: Any) -> Any:
    """A filter's value as every side receives it: text not blank, a path naming a group.
    (Ids are normalised by the client.)"""
    if isinstance(value, str) and not value.strip():
        raise ValidationError(f"{entity.name} filter {name} is empty")
    if entity.name == "groups" and name == "path" and not path_names(str(value)):
        raise ValidationError("group path is empty")
    return value


# --------------------------------------------------------------------------- applying


def apply(
    client: Client, entity: Entity, records: Iterator[R], filters: Mapping[str, Any]
) -> Iterator[R]:
    """``records`` narrowed to those every filter in ``filters`` holds for, lazily: no
    request (not even a listing a filter needs) before the first item is asked for."""
    tests_needed = dict(filters)

    def narrowed() -> Iterator[R]:
        try:
            tests = [
                rule(entity, name).build(client, value) for name, value in tests_needed.items()
            ]
            for record in records:
                if all(test(record) for test in tests):
                    yield record
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()  # stop a paged listing's pending pages at once

    return narrowed()


def sides(adapter_filters: Mapping[str, frozenset[str]]) -> dict[str, dict[str, Side]]:
    """entity -> filter -> where it is applied, for an adapter's ``list_filters``."""
    return {
        entity.name: {
            ff.name: ("server" if ff.name in adapter_filters.get(entity.name, ()) else "local")
            for ff in entity.filter_fields
        }
        for entity in ENTITIES.values()
        if entity.filter_fields
    }


__all__ = ["RULES", "Rule", "apply", "checked_value", "path_names", "rule", "sides", "text_key"]
