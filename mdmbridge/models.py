"""The vendor-neutral model: what every adapter returns, whatever its vendor sends.

Core models are strict (unknown fields are refused, types are checked) and frozen, so a
record means the same thing everywhere it travels. Nothing a vendor sends is lost: the
payload, verbatim, is kept in ``raw``. Enums fall back to ``UNKNOWN`` so a value a vendor
adds next year degrades to "unknown" instead of breaking an export of 20,000 devices.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


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

    model_config = ConfigDict(extra="forbid", frozen=True)
    entity: ClassVar[str] = "record"

    tenant: str
    vendor: str
    id: str
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class Group(Record):
    entity: ClassVar[str] = "group"

    name: str
    parent_id: str | None = None
    path: str | None = None  # names from the top, joined with "/"
    number: str | None = None
    notes: str | None = None
    lost_mode_message: str | None = None
    lost_mode_phone_number: str | None = None
    lost_mode_footnote: str | None = None


class User(Record):
    entity: ClassVar[str] = "user"

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    account: str | None = None
    account_group: str | None = None
    group_id: str | None = None
    company: str | None = None
    office: str | None = None
    department: str | None = None
    position: str | None = None


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

    name: str
    description: str | None = None
    group_id: str | None = None


class TagLink(Record):
    """A tag linked to a device, a user or a group; ``id`` is the link's own id."""

    entity: ClassVar[str] = "tag_link"

    target: TagTarget
    tag_id: str
    target_id: str
    target_label: str | None = None  # serial number or user name, where the vendor sends it


class App(Record):
    entity: ClassVar[str] = "app"

    name: str
    description: str | None = None
    company: str | None = None
    package_id: str
    version_text: str | None = None
    version_number: int | None = None
    platform: Platform = Platform.UNKNOWN
    size: int | None = None
    store: AppStore = AppStore.UNKNOWN
    store_id: str | None = None
    image_url: str | None = None
    has_image_data: bool = False


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

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    vendor: str
    device_id: str
    command: Command
    accepted_at: datetime


ENTITY_MODELS: dict[str, type[Record]] = {
    model.entity: model for model in (Group, User, Device, Location, Tag, TagLink, App)
}
