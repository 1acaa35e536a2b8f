"""DuoSTATION payloads <-> core models, as field tables.

Responses use .NET PascalCase keys (``Id``, ``SerialNumber``); they are read
case-insensitively, so ``id`` or ``ID`` work too. Requests use the camelCase keys of the
vendor's document, exactly as spelled there. Every field-name guess is a line here.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from mdmbridge.mapping import (
    F,
    FieldTable,
    ident,
    integer,
    keeps_text,
    parent_ref,
    platform,
    pure,
    text,
    timestamp,
)
from mdmbridge.models import AppStore, Platform

# The vendor's integer enums for apps (and, where it sends numbers, device platforms).
PLATFORM_CODES: dict[Platform, int] = {
    Platform.IOS: 0,
    Platform.ANDROID: 1,
    Platform.MACOS: 2,
    Platform.TVOS: 3,
}
STORE_CODES: dict[AppStore, int] = {AppStore.APP_STORE: 0, AppStore.PLAY: 1, AppStore.IN_HOUSE: 2}
_PLATFORM_BY_CODE = {code: member for member, code in PLATFORM_CODES.items()}
_STORE_BY_CODE = {code: member for member, code in STORE_CODES.items()}


@pure
def duo_platform(value: Any) -> Platform:
    """Platforms come as the app enum's integers (or their ASCII digits) or as names;
    unknown codes and names are UNKNOWN. A number no enum could hold (infinite, NaN, a
    fraction, beyond 64 bits) is refused, as in any integer field."""
    if isinstance(value, bool):
        return Platform.UNKNOWN
    if isinstance(value, str):
        digits = value.strip()
        if not (digits.isascii() and digits.isdigit()):
            return platform(value)
    elif not isinstance(value, (int, float, Decimal)):
        return platform(value)
    code = integer(value)
    return Platform.UNKNOWN if code is None else _PLATFORM_BY_CODE.get(code, Platform.UNKNOWN)


@pure
def duo_store(value: Any) -> AppStore:
    """The store enum's integer; unknown codes are UNKNOWN, absurd numbers are refused."""
    code = integer(value)
    return AppStore.UNKNOWN if code is None else _STORE_BY_CODE.get(code, AppStore.UNKNOWN)


# A GUID already in the form ``str(uuid.UUID(...))`` gives: device_guid_ref keeps it as is.
_CANONICAL_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@keeps_text(_CANONICAL_GUID.fullmatch)
def device_guid_ref(value: Any) -> str | None:
    """[decision] A device GUID in its canonical lowercase form, however the server spelt
    it (``{...}``, upper case): one device is one id, so a listing that names it twice in
    two spellings is caught as a duplicate, and ids match across calls. Anything that is
    not a GUID is kept as sent (the vendor's id, even if odd)."""
    result = ident(value)
    if result is None or not result.isascii() or "_" in result:
        return result  # uuid.UUID would read non-ASCII digits and underscores as hex
    try:
        return str(uuid.UUID(result))
    except ValueError:
        return result


def backslash_path(value: Any) -> str | None:
    """The vendor's group path ("Customers\\Company Inc") in core form ("Customers/Company Inc")."""
    path = text(value)
    return (
        None
        if path is None
        else "/".join(part.strip() for part in path.replace("\\", "/").split("/"))
    )


def has_value(value: Any) -> bool:
    return bool(text(value))


# [decision] "lostModeFootNode" in every JSON example, "lostModeFootNote" in the prose:
# read either, send the examples' spelling.
GROUP = FieldTable(
    "group",
    {
        "id": F("Id", convert=ident),
        "name": F("Name"),
        "parent_id": F("ParentId", "ParentGroupId", convert=parent_ref),
        "path": F("Path", "FullPath", convert=backslash_path),
        "number": F("Number"),
        "notes": F("Notes"),
        "lost_mode_message": F("LostModeMessage"),
        "lost_mode_phone_number": F("LostModePhoneNumber"),
        "lost_mode_footnote": F("LostModeFootNode", "LostModeFootNote"),
    },
)

USER = FieldTable(
    "user",
    {
        "id": F("Id", convert=ident),
        "name": F("Name"),
        "email": F("Email"),
        "phone": F("PhoneNumber", "Phone"),
        "account": F("AccountName", "Account"),
        "account_group": F("AccountGroup"),
        "group_id": F("GroupId", convert=parent_ref),
        "company": F("Company"),
        "office": F("Office"),
        "department": F("Department"),
        "position": F("Position"),
    },
)

DEVICE = FieldTable(
    "device",
    {
        "id": F("Id", convert=device_guid_ref),
        "name": F("Name", "DeviceName"),
        "serial_number": F("SerialNumber"),
        "model": F("Model", "ModelName"),
        "platform": F("Platform", "Os", "OperatingSystem", convert=duo_platform),
        "os_version": F("OsVersion", "OSVersion"),
        "user_id": F("UserId", convert=parent_ref),
        "group_id": F("GroupId", convert=parent_ref),
        "last_seen": F("LastSeen", "LastContact", "LastCheckIn", convert=timestamp),
        "udid": F("Udid", "UDID"),
        "imei": F("Imei", "IMEI"),
        "phone_number": F("PhoneNumber"),
        "battery_level": F("BatteryLevel", convert=integer),
    },
)

TAG = FieldTable(
    "tag",
    {
        "id": F("Id", convert=ident),
        "name": F("Name"),
        "description": F("Description"),
        "group_id": F("GroupId", convert=parent_ref),
    },
)

DEVICE_TAG = FieldTable(
    "device tag",
    {
        "id": F("Id", convert=ident),
        "tag_id": F("TagId", convert=ident),
        "target_id": F("DeviceId", convert=device_guid_ref),
        "target_label": F("SerialNumber"),  # since 4.8.46
    },
)

USER_TAG = FieldTable(
    "user tag",
    {
        "id": F("Id", convert=ident),
        "tag_id": F("TagId", convert=ident),
        "target_id": F("UserId", convert=ident),
        "target_label": F("UserName", "Name"),  # since 4.8.46
    },
)

GROUP_TAG = FieldTable(
    "group tag",
    {
        "id": F("Id", convert=ident),
        "tag_id": F("TagId", convert=ident),
        "target_id": F("GroupId", convert=ident),  # "0" is "All", kept as is
        "target_label": F("GroupName"),
    },
)

APP = FieldTable(
    "app",
    {
        "id": F("Id", convert=ident),
        "name": F("Name"),
        "description": F("Description"),
        "company": F("Company"),
        "package_id": F("PackageId"),
        "version_text": F("VersionText"),
        "version_number": F("VersionNumber", convert=integer),
        "platform": F("Platform", convert=duo_platform),
        "size": F("Size", convert=integer),
        "store": F("Store", convert=duo_store),
        "store_id": F("StoreId"),
        "image_url": F("ImageUrl"),
        "has_image_data": F("ImageData", convert=has_value),
    },
)

# Core name -> request key, exactly as the vendor's document spells them.
GROUP_CREATE_KEYS = {
    "name": "name",
    "parent_id": "parentId",
    "number": "number",
    "notes": "notes",
    "lost_mode_message": "lostModeMessage",
    "lost_mode_phone_number": "lostModePhoneNumber",
    "lost_mode_footnote": "lostModeFootNode",
}
GROUP_UPDATE_KEYS = {k: v for k, v in GROUP_CREATE_KEYS.items() if k != "parent_id"}
LOST_MODE_FIELDS = ("lost_mode_message", "lost_mode_phone_number", "lost_mode_footnote")

USER_CREATE_KEYS = {
    "name": "name",
    "email": "email",
    "phone": "phoneNumber",
    "account_group": "accountGroup",
    "account": "accountName",
    "group_id": "groupId",
    "company": "company",
    "office": "office",
    "department": "department",
    "position": "position",
}
USER_UPDATE_KEYS = {
    k: v for k, v in USER_CREATE_KEYS.items() if k not in {"account", "account_group"}
}

TAG_KEYS = {"name": "name", "description": "description", "group_id": "groupId"}

APP_KEYS = {
    "name": "name",
    "description": "description",
    "company": "company",
    "package_id": "packageId",
    "version_text": "versionText",
    "version_number": "versionNumber",
    "platform": "platform",
    "size": "size",
    "store": "store",
    "store_id": "storeId",
    "image_data": "imageData",
    "image_url": "imageUrl",
}

# Query parameter names of the list filters (core filter name -> vendor parameter).
GROUP_FILTERS = {"number": "number", "path": "path"}
USER_FILTERS = {
    "email": "email",
    "phone": "phoneNumber",
    "account": "account",
    "group_id": "groupId",
    "tag_id": "tagId",
}
DEVICE_FILTERS = {
    "serial_number": "serialNumber",
    "group_id": "groupId",
    "user_id": "userId",
    "account": "accountName",
    "tag_id": "tagId",
}
DEVICE_TAG_FILTERS = {"device_id": "deviceId", "serial_number": "serialNumber"}
USER_TAG_FILTERS = {"user_id": "userId", "email": "email"}


def to_wire(values: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """Core-named values -> request body, for the keys this call accepts."""
    return {keys[name]: value for name, value in values.items() if name in keys}
