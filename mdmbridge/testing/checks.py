"""What the conformance checks share: how a value, a record and an error are judged, and
the small calls they hand around. No pytest fixtures here, and no tests."""

from __future__ import annotations

import enum
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mdmbridge
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES, writable_entities
from mdmbridge.models import Record
from mdmbridge.testing.kit import LISTS, Kit

WRITABLE = tuple(e.name for e in writable_entities())
LINKS = tuple(e.name for e in ENTITIES.values() if e.target is not None)
# Where a filter's values can be found, besides the entity's own records.
VALUE_SOURCES = {"account": "users", "email": "users", "serial_number": "devices"}


def same(got: Any, wanted: Any) -> bool:
    """Equal, where text compares without case (vendors match filters case-insensitively)."""
    if isinstance(got, enum.Enum):
        got = got.value
    if isinstance(wanted, enum.Enum):
        wanted = wanted.value
    if isinstance(got, str) and isinstance(wanted, str):
        return got.strip().casefold() == wanted.strip().casefold()
    return bool(got == wanted)


def assert_fields(record: Record, values: Mapping[str, Any], what: str) -> None:
    for name, wanted in values.items():
        got = getattr(record, name)
        assert same(got, wanted) and (got is None) == (wanted is None), (
            f"{what}: {name} is {got!r}, expected {wanted!r}"
        )


def assert_clean(error: BaseException, secrets: Sequence[str]) -> None:
    """One line, no secret in str/repr/traceback, no requests exception chained on."""
    text = f"{error}\n{error!r}\n{''.join(traceback.format_exception(error))}"
    assert "\n" not in str(error), f"error message is not one line: {error}"
    for secret in secrets:
        assert secret not in text, f"a secret is in {type(error).__name__}: {error!r}"
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def _memberships(kit: Kit, name: str) -> bool:
    return name == "users" and kit.adapter_class.users_in_many_groups


def _without_memberships(kit: Kit, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    if not _memberships(kit, name):
        return dict(values)
    return {k: v for k, v in values.items() if k != "group_id"}


def _assert_member(
    kit: Kit, mdm: Client, name: str, record_id: str, values: Mapping[str, Any]
) -> None:
    group = values.get("group_id")
    if _memberships(kit, name) and group is not None:
        members = {u.id for u in mdm.users.list(group_id=group)}
        assert record_id in members, f"user {record_id} is not listed in group {group}"


def _bound(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: function(*args, **kwargs)


def _update_name(namespace: Any, record_id: str) -> Any:
    return namespace.update(record_id, name="Nytt")


def _absent(namespace: Any, label: str) -> bool:
    return all(getattr(r, "name", None) != label for r in namespace.list())


def _unchanged(mdm: Client, device: Record) -> bool:
    return bool(mdm.devices.get(device.id).name == getattr(device, "name", None))


def _list_first(kit: Kit, client: Client) -> None:
    name = next(n for n in LISTS if kit.supports(ENTITIES[n].read))
    list(getattr(client, name).list())


def _get_known(kit: Kit, client: Client, ids: Mapping[str, str]) -> None:
    name = next(n for n in LISTS if kit.supports(ENTITIES[n].read))
    getattr(client, name).get(ids[name])


def _error_texts(function: Callable[..., Any], *args: Any) -> list[str]:
    """str, repr and traceback of the MDMError the call raises (none: nothing to check)."""
    try:
        function(*args)
    except mdmbridge.MDMError as error:
        assert "\n" not in str(error), f"error message is not one line: {error}"
        return [str(error), repr(error), "".join(traceback.format_exception(error))]
    return []
