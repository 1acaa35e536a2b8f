"""ezmdm payloads <-> core models, as field tables.

[decision] The vendor page's field lists were lost; these names are the contract's
(VENDOR_APIS.md, "Gaps: field names"). They are read case-insensitively and unknown keys
stay in ``raw``, so a wrong guess costs one line here, not data.
"""

from __future__ import annotations

from typing import Any

from mdmbridge.mapping import F, FieldTable, ident, integer, number, platform, timestamp

GROUP = FieldTable(
    "group",
    {
        "id": F("id", convert=ident),
        "name": F("name"),
    },
)

USER = FieldTable(
    "user",
    {
        "id": F("id", convert=ident),
        "group_id": F("groupId", convert=ident),
        "name": F("name"),
        "email": F("email"),
        "phone": F("phone", "phoneNumber"),
    },
)

DEVICE = FieldTable(
    "device",
    {
        "id": F("id", convert=ident),
        "user_id": F("userId", convert=ident),
        "name": F("name"),
        "serial_number": F("serialNumber"),
        "udid": F("udid"),
        "imei": F("imei"),
        "model": F("model"),
        "platform": F("os", "platform", convert=platform),
        "os_version": F("osVersion"),
        "phone_number": F("phoneNumber"),
        "battery_level": F("batteryLevel", convert=integer),
        "last_seen": F("lastCheckIn", "lastSeen", convert=timestamp),
    },
)

LOCATION = FieldTable(
    "device location",
    {
        "id": F("id", convert=ident),
        "device_id": F("deviceId", convert=ident),
        "latitude": F("latitude", "lat", convert=number),
        "longitude": F("longitude", "lng", "lon", convert=number),
        "accuracy": F("accuracy", convert=number),
        "timestamp": F("timestamp", convert=timestamp),
    },
)

# Core name -> form field, for what the API can write.
GROUP_WRITE_KEYS = {"name": "name"}
USER_WRITE_KEYS = {"name": "name", "group_id": "groupId", "email": "email", "phone": "phone"}


def to_form(values: dict[str, Any], keys: dict[str, str]) -> dict[str, str]:
    """Core-named values -> form fields; None clears a field (sent as an empty value)."""
    return {
        keys[name]: "" if value is None else str(value)
        for name, value in values.items()
        if name in keys
    }
