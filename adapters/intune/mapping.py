"""Graph payloads <-> core models, as field tables (``docs/intune-contract.md``).

Everything not mapped stays in ``raw`` verbatim. [decision] ``""`` and whitespace-only
text read as absent (Intune sends ``""`` for a missing IMEI), and Intune's placeholder dates
(year 1: never happened; year 9999: open-ended) read as ``None``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mdmbridge.mapping import F, FieldTable, ident, timestamp
from mdmbridge.models import AppStore, Platform, User

_ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def graph_time(value: Any) -> datetime | None:
    moment = timestamp(value)
    if moment is None or moment.year in (1, 9999):
        return None
    return moment


def user_ref(value: Any) -> str | None:
    """A managed device's ``userId``: ``""`` or the all-zero GUID mean "no primary user"."""
    found = ident(value)
    if found is None or not found.strip() or found.strip() == _ZERO_GUID:
        return None
    return found.strip().lower()


_PLATFORMS = {
    "windows": Platform.WINDOWS,
    "ios": Platform.IOS,
    "ipados": Platform.IPADOS,
    "android": Platform.ANDROID,
    "androidenterprise": Platform.ANDROID,
    "androidforwork": Platform.ANDROID,
    "macos": Platform.MACOS,
    "mac os x": Platform.MACOS,
    "macmdm": Platform.MACOS,
}


def device_platform(value: Any) -> Platform:
    """``operatingSystem``, case-insensitively; anything else is UNKNOWN."""
    if not isinstance(value, str):
        return Platform.UNKNOWN
    return _PLATFORMS.get(value.strip().lower(), Platform.UNKNOWN)


DEVICE = FieldTable(
    "managed device",
    {
        "id": F("id", convert=ident),
        "name": F("deviceName"),
        "serial_number": F("serialNumber"),
        "model": F("model"),
        "platform": F("operatingSystem", convert=device_platform),
        "os_version": F("osVersion"),
        "user_id": F("userId", convert=user_ref),
        "last_seen": F("lastSyncDateTime", convert=graph_time),
        "udid": F("udid"),
        "imei": F("imei"),
        "phone_number": F("phoneNumber"),
    },
)
# [decision] The mapped properties plus those the contract keeps in raw; ``udid`` is
# null in lists whatever is asked ("Real value only returned in single device GET").
DEVICE_SELECT = (
    "id", "deviceName", "serialNumber", "model", "manufacturer", "operatingSystem",
    "osVersion", "userId", "lastSyncDateTime", "udid", "imei", "phoneNumber",
    "emailAddress", "userPrincipalName", "userDisplayName", "azureADDeviceId",
    "managedDeviceOwnerType", "complianceState", "enrolledDateTime", "managementAgent",
    "deviceEnrollmentType", "isEncrypted", "isSupervised", "jailBroken", "wiFiMacAddress",
    "meid", "subscriberCarrier", "totalStorageSpaceInBytes", "freeStorageSpaceInBytes",
    "managedDeviceName", "deviceActionResults",
)  # fmt: skip

USER = FieldTable(
    "user",
    {
        "id": F("id", convert=ident),
        "name": F("displayName"),
        "email": F("mail"),
        "phone": F("mobilePhone"),
        "account": F("userPrincipalName"),
        "company": F("companyName"),
        "office": F("officeLocation"),
        "department": F("department"),
        "position": F("jobTitle"),
    },
)
USER_SELECT = (
    "id", "displayName", "givenName", "surname", "mail", "mailNickname", "userPrincipalName",
    "mobilePhone", "businessPhones", "jobTitle", "department", "companyName",
    "officeLocation", "accountEnabled",
)  # fmt: skip

GROUP = FieldTable(
    "group",
    {
        "id": F("id", convert=ident),
        "name": F("displayName"),
        "path": F("displayName"),  # flat: the path is the name (like ezmdm)
        "notes": F("description"),
    },
)
GROUP_SELECT = (
    "id", "displayName", "description", "groupTypes", "securityEnabled", "mailEnabled",
    "mailNickname", "membershipRule", "createdDateTime",
)  # fmt: skip

APP = FieldTable(
    "mobile app",
    {
        "id": F("id", convert=ident),
        "name": F("displayName"),
        "description": F("description"),
        "company": F("publisher"),
    },
)

# Core name -> Graph property, for what v1.0 can write.
USER_KEYS = {
    "name": "displayName",
    "email": "mail",
    "phone": "mobilePhone",
    "account": "userPrincipalName",
    "company": "companyName",
    "office": "officeLocation",
    "department": "department",
    "position": "jobTitle",
}
USER_UPDATE_KEYS = {k: v for k, v in USER_KEYS.items() if k != "account"}
GROUP_KEYS = {"name": "displayName", "notes": "description"}


def to_graph(values: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """Core-named values -> Graph properties (None clears, as PATCH means it)."""
    return {keys[name]: value for name, value in values.items() if name in keys}


def new_user(values: dict[str, Any], upn: str, password: str) -> dict[str, Any]:
    """``POST /users``: the values given, the sign-in name and its nickname, disabled, and
    a temporary password to change at first sign-in."""
    body = to_graph({k: v for k, v in values.items() if k != "account"}, USER_KEYS)
    return body | {
        "userPrincipalName": upn,
        "mailNickname": upn.split("@")[0],
        "accountEnabled": False,
        "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": True},
    }


def entity(data: Any) -> Any:
    """A single entity's payload without ``@odata.context`` (the answer's metadata, not the
    record's): ``raw`` then reads the same as the record's entry in a listing."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k != "@odata.context"}
    return data


def folded(user: User, name: str) -> str:
    """A user's field as Graph's ``eq`` compares it: trimmed, case-insensitive."""
    value = getattr(user, name, None)
    return (value or "").strip().casefold()


# ---------------------------------------------------------------------------- apps


def _odata_type(payload: dict[str, Any]) -> str:
    kind = payload.get("@odata.type")
    return kind.rsplit(".", 1)[-1] if isinstance(kind, str) else ""


def app_platform(kind: str) -> Platform:
    lowered = kind.lower()
    if lowered.startswith("ios"):
        return Platform.IOS
    if lowered.startswith("android"):
        return Platform.ANDROID
    if lowered.startswith("macos"):
        return Platform.MACOS
    if lowered.startswith("win") or lowered == "microsoftstoreforbusinessapp":
        return Platform.WINDOWS
    return Platform.UNKNOWN


_STORES = {
    "iosstoreapp": AppStore.APP_STORE,
    "iosvppapp": AppStore.APP_STORE,
    "macosvppapp": AppStore.APP_STORE,
    "androidstoreapp": AppStore.PLAY,
    "androidmanagedstoreapp": AppStore.PLAY,
}


def app_store(kind: str) -> AppStore:
    lowered = kind.lower()
    if lowered in _STORES:
        return _STORES[lowered]
    if lowered.endswith("lobapp"):
        return AppStore.IN_HOUSE
    return AppStore.UNKNOWN


def _first_text(payload: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def app_extra(payload: Any) -> dict[str, Any]:
    """The fields whose Graph property depends on the app's derived type (``@odata.type``):
    the package id (``bundleId``, ``packageId``, ``appUrl``, else the Graph id), platform,
    store, version and whether it has an icon. Wrong types are the mapping's to refuse."""
    if not isinstance(payload, dict):
        return {}
    kind = _odata_type(payload)
    return {
        "package_id": _first_text(payload, ("bundleId", "packageId", "appUrl", "id")),
        "platform": app_platform(kind),
        "store": app_store(kind),
        "store_id": _first_text(payload, ("appStoreUrl",)),
        "version_text": _first_text(payload, ("versionNumber", "displayVersion")),
        "has_image_data": payload.get("largeIcon") is not None,
    }
