"""The vendor-neutral model: what every adapter returns, whatever its vendor sends.

Core models are strict (unknown fields are refused, types are checked) and frozen, so a
record means the same thing everywhere it travels. Nothing a vendor sends is lost: the
payload, verbatim, is kept in ``raw``. Enums fall back to ``UNKNOWN`` so a value a vendor
adds next year degrades to "unknown" instead of breaking an export of 20,000 devices.

A field annotated with :class:`~mdmbridge.fields.Write` can be written through the client;
that annotation is the only place that says so. The client's keywords, the CLI's options,
the export's columns, what a migration copies and the documentation all follow from it
(see :mod:`mdmbridge.entities`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from mdmbridge.fields import Write


class _FallbackEnum(enum.StrEnum):
    """A str enum whose unknown values become ``UNKNOWN`` instead of an error."""

    @classmethod
    def _missing_(cls, value: object) -> Self:
        if isinstance(value, str):
            for member in cls:
                if member.value == value.lower():
                    return member
        return cls["UNKNOWN"]


class Platform(_FallbackEnum):
    IOS = "ios"
    IPADOS = "ipados"
    ANDROID = "android"
    MACOS = "macos"
    TVOS = "tvos"
    WINDOWS = "windows"
    UNKNOWN = "unknown"


class AppStore(_FallbackEnum):
    APP_STORE = "app_store"
    PLAY = "play"
    IN_HOUSE = "in_house"
    UNKNOWN = "unknown"


class TagTarget(enum.StrEnum):
    DEVICE = "device"
    USER = "user"
    GROUP = "group"


class Record(BaseModel):
    """Fields every record carries: where it came from, its vendor id, and the raw payload."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    entity: ClassVar[str] = "record"

    tenant: str
    vendor: str
    id: str
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class Group(Record):
    entity: ClassVar[str] = "group"

    name: Annotated[str, Write("the group's name", create="required", update_help="new name")]
    parent_id: Annotated[
        str | None,
        Write("the parent group's id (nested groups)", update=False, ref="group"),
    ] = None
    path: str | None = None  # names from the top, joined with "/"
    number: Annotated[str | None, Write("the group's number")] = None
    notes: Annotated[str | None, Write("free-text notes")] = None
    lost_mode_message: Annotated[
        str | None, Write("lost-mode message shown on the group's devices")
    ] = None
    lost_mode_phone_number: Annotated[str | None, Write("lost-mode phone number")] = None
    lost_mode_footnote: Annotated[str | None, Write("lost-mode footnote")] = None


class User(Record):
    entity: ClassVar[str] = "user"

    # Optional when read (vendors have users without one), required when created.
    name: Annotated[
        str | None, Write("the user's name", create="required", update_help="new name")
    ] = None
    email: Annotated[str | None, Write("e-mail address")] = None
    phone: Annotated[str | None, Write("phone number")] = None
    account: Annotated[str | None, Write("account name", update=False)] = None
    account_group: Annotated[
        str | None, Write("account group (directory domain)", update=False)
    ] = None
    group_id: Annotated[
        str | None,
        Write(
            "the user's group (id)",
            update_help="move the user to this group (id)",
            clear=False,
            ref="group",
        ),
    ] = None
    company: Annotated[str | None, Write("company")] = None
    office: Annotated[str | None, Write("office")] = None
    department: Annotated[str | None, Write("department")] = None
    position: Annotated[str | None, Write("position / title")] = None


class Device(Record):
    entity: ClassVar[str] = "device"

    name: str | None = None
    serial_number: str | None = None
    model: str | None = None
    platform: Platform = Platform.UNKNOWN
    os_version: str | None = None
    user_id: str | None = None
    group_id: str | None = None
    last_seen: AwareDatetime | None = None
    udid: str | None = None
    imei: str | None = None
    phone_number: str | None = None
    battery_level: int | None = Field(default=None, ge=0, le=100)


class Location(Record):
    entity: ClassVar[str] = "location"

    device_id: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy: float | None = None
    timestamp: AwareDatetime | None = None


class Tag(Record):
    entity: ClassVar[str] = "tag"

    name: Annotated[str, Write("the tag's name", create="required", update_help="new name")]
    description: Annotated[str | None, Write("description")] = None
    group_id: Annotated[str | None, Write("the group the tag belongs to (id)", ref="group")] = None


class TagLink(Record):
    """A tag linked to a device, a user or a group; ``id`` is the link's own id."""

    entity: ClassVar[str] = "tag_link"

    target: TagTarget
    tag_id: str
    target_id: str
    target_label: str | None = None  # serial number or user name, where the vendor sends it


class App(Record):
    entity: ClassVar[str] = "app"

    # Apps are only ever upserted (entities.py: the "upsert" verb, no update).
    name: Annotated[str, Write("the app's name", create="required")]
    description: Annotated[str | None, Write("description")] = None
    company: Annotated[str | None, Write("publisher", create="required")] = None
    package_id: Annotated[str, Write("bundle / package id", create="required")]
    version_text: Annotated[str | None, Write("version as shown", create="required")] = None
    version_number: Annotated[int | None, Write("version as a number")] = None
    platform: Annotated[Platform, Write("platform", create="required")] = Platform.UNKNOWN
    size: Annotated[int | None, Write("size in bytes", create="required", min=0)] = None
    store: Annotated[AppStore, Write("where it is installed from", create="required")] = (
        AppStore.UNKNOWN
    )
    store_id: Annotated[
        str | None, Write("the store's id (or URL for in-house apps)", create="required")
    ] = None
    image_url: Annotated[str | None, Write("icon URL")] = None
    has_image_data: bool = False  # written as image_data (entities.py: a write-only field)


class CommandKind(enum.StrEnum):
    LOCK = "lock"
    WIPE = "wipe"
    CLEAR_PASSCODE = "clear_passcode"
    SEND_MESSAGE = "send_message"
    INSTALL_APP = "install_app"
    REMOVE_APP = "remove_app"
    REFRESH = "refresh"

    @property
    def destructive(self) -> bool:
        """Commands the CLI confirms before sending: they cannot be undone."""
        return self in {CommandKind.WIPE, CommandKind.CLEAR_PASSCODE}


_COMMAND_PARAMS: dict[CommandKind, frozenset[str]] = {
    CommandKind.SEND_MESSAGE: frozenset({"message"}),
    CommandKind.INSTALL_APP: frozenset({"app_id", "vpp"}),
    CommandKind.REMOVE_APP: frozenset({"identifier"}),
}
_COMMAND_REQUIRED: dict[CommandKind, frozenset[str]] = {
    CommandKind.SEND_MESSAGE: frozenset({"message"}),
    CommandKind.INSTALL_APP: frozenset({"app_id"}),
    CommandKind.REMOVE_APP: frozenset({"identifier"}),
}


class Command(BaseModel):
    """A device command and its parameters, validated on construction.

    Build with the helpers (``Command.wipe()``, ``Command.send_message("Hej")``) or
    ``Command(kind="install_app", app_id="12")``; a parameter that does not belong to the
    kind, or a missing one, is refused here, before any adapter sees it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    kind: CommandKind
    message: str | None = None
    app_id: str | None = None
    vpp: bool | None = None
    identifier: str | None = None

    @model_validator(mode="after")
    def _params_fit_kind(self) -> Command:
        allowed = _COMMAND_PARAMS.get(self.kind, frozenset())
        given = {
            name
            for name in ("message", "app_id", "vpp", "identifier")
            if getattr(self, name) is not None
        }
        extra = given - allowed
        if extra:
            raise ValueError(f"{self.kind.value} takes no {', '.join(sorted(extra))}")
        missing = {
            name
            for name in _COMMAND_REQUIRED.get(self.kind, frozenset())
            if not (getattr(self, name) or "").strip()
        }
        if missing:
            raise ValueError(f"{self.kind.value} needs {', '.join(sorted(missing))}")
        return self

    @classmethod
    def lock(cls) -> Command:
        return cls(kind=CommandKind.LOCK)

    @classmethod
    def wipe(cls) -> Command:
        return cls(kind=CommandKind.WIPE)

    @classmethod
    def clear_passcode(cls) -> Command:
        return cls(kind=CommandKind.CLEAR_PASSCODE)

    @classmethod
    def refresh(cls) -> Command:
        return cls(kind=CommandKind.REFRESH)

    @classmethod
    def send_message(cls, message: str) -> Command:
        return cls(kind=CommandKind.SEND_MESSAGE, message=message)

    @classmethod
    def install_app(cls, app_id: str | int, *, vpp: bool | None = None) -> Command:
        return cls(kind=CommandKind.INSTALL_APP, app_id=str(app_id), vpp=vpp)

    @classmethod
    def remove_app(cls, identifier: str) -> Command:
        return cls(kind=CommandKind.REMOVE_APP, identifier=identifier)


class CommandReceipt(BaseModel):
    """What a vendor acknowledged: the command was accepted for this device (not yet run)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    tenant: str
    vendor: str
    device_id: str
    command: Command
    accepted_at: datetime


ENTITY_MODELS: dict[str, type[Record]] = {
    model.entity: model for model in (Group, User, Device, Location, Tag, TagLink, App)
}
