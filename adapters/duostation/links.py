"""Where each kind of tag link lives in DuoSTATION's API: shared by the listing (the
adapter) and by link and unlink (``writes.py``)."""

from __future__ import annotations

from mdmbridge.mapping import FieldTable
from mdmbridge.models import TagTarget

from . import mapping as m

LINKS: dict[TagTarget, tuple[str, FieldTable, str]] = {
    # target -> (resource, field table, body key of the target id)
    TagTarget.DEVICE: ("devicetags", m.DEVICE_TAG, "deviceId"),
    TagTarget.USER: ("usertags", m.USER_TAG, "userId"),
    TagTarget.GROUP: ("grouptags", m.GROUP_TAG, "groupId"),
}
