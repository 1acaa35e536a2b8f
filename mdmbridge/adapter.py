"""The base every adapter extends, and its settings base.

Every operation raises ``UnsupportedOperation`` until an adapter overrides it, and every
adapter declares ``capabilities`` and ``list_filters`` up front so the client can refuse
locally, before any request. Adapters receive validated, core-named values (``parent_id``,
``phone``), typed by :mod:`mdmbridge.writes`, and return core models; the vendor's names
live only in the adapter. ``list_filters`` and ``writable`` name the registry's filters and
fields (:mod:`mdmbridge.entities`), and are checked against it when the class is defined.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mdmbridge.capabilities import Capability
from mdmbridge.entities import check_declarations
from mdmbridge.errors import UnsupportedOperation
from mdmbridge.models import (
    App,
    Command,
    CommandReceipt,
    Device,
    Group,
    Location,
    Tag,
    TagLink,
    TagTarget,
    User,
)
from mdmbridge.transport import (
    DEFAULT_DEADLINE_S,
    Auth,
    ResponseRules,
    RetryPolicy,
    Timeouts,
    Transport,
)
from mdmbridge.writes import (
    AppUpsert,
    GroupChanges,
    GroupCreate,
    TagChanges,
    TagCreate,
    UserChanges,
    UserCreate,
)

if TYPE_CHECKING:  # the simulator server is loaded only when a simulator starts
    from mdmbridge.client import Client
    from mdmbridge.entities import Entity
    from mdmbridge.simulation.server import RunningSimulator

Values = Mapping[str, Any]


class AdapterSettings(BaseModel):
    """Connection settings shared by all adapters; each adapter adds its own fields.

    Unknown keys are refused (a typo in a tenants file must not be ignored), and inputs
    are hidden from validation errors so a secret never ends up in a message.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    retries: int = Field(default=4, ge=0, le=20)
    max_retry_after_s: float = Field(default=60.0, ge=0)
    max_concurrency: int = Field(default=8, ge=1, le=256)
    # The wall-clock budget of one call, retries included (see mdmbridge.transport.policy).
    request_deadline_s: float = Field(default=DEFAULT_DEADLINE_S, gt=0)

    def timeouts(self) -> Timeouts:
        return Timeouts(
            connect=self.connect_timeout_s,
            read=self.read_timeout_s,
            deadline=self.request_deadline_s,
        )

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retries, max_retry_after=self.max_retry_after_s)

    def secrets(self) -> list[str]:
        """Every secret value in these settings, for redaction."""
        return [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr)]


@dataclass(frozen=True)
class Writable:
    """Which of the registry's fields (by core name) a vendor can store on create and
    change on update. The client refuses the others before any request ("ezmdm users
    cannot hold company"), and migration says which fields move and which are "not
    migrated, because ..."."""

    create: frozenset[str]
    update: frozenset[str]


class Adapter:
    """One vendor. Subclasses set the class attributes and override what they support."""

    vendor: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    settings_model: ClassVar[type[AdapterSettings]] = AdapterSettings
    # entity ("groups", "users", "devices", "device_tags", ...) -> the registry's filters
    # (mdmbridge/filters.py) it applies on the server; the client applies the others
    # itself as the records stream past (mdmbridge/local_filters.py)
    list_filters: ClassVar[Mapping[str, frozenset[str]]] = {}
    # entity ("groups", "users", "tags") -> the registry's fields it can store; an entity
    # left out is passed through unchecked (the vendor's answer decides)
    writable: ClassVar[Mapping[str, Writable]] = {}
    # True when a user may be a member of any number of groups (Microsoft Graph): then
    # ``User.group_id`` is set only by ``users.list(group_id=...)``, and a migration reads
    # the memberships through the groups (mdmbridge/migrate/snapshot.py).
    users_in_many_groups: ClassVar[bool] = False
    # entity ("users") -> why a migration must only match records of it in this vendor,
    # never create them (Entra ID, not Intune, owns the users); the unmatched ones are
    # listed as not migrated, with this reason.
    migration_match_only: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_declarations(getattr(cls, "vendor", cls.__name__), cls.list_filters, cls.writable)

    def __init__(self, settings: AdapterSettings, *, tenant: str, read_only: bool = False) -> None:
        self.settings = settings
        self.tenant = tenant
        self.read_only = read_only

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant={self.tenant!r})"

    # the connection seam: an adapter declares how it authenticates and how its answers
    # read; the base builds the one Transport from that and the common settings.
    response_rules: ClassVar[ResponseRules] = ResponseRules()

    def connection_auth(self) -> Auth:
        """How this vendor's requests prove who they are (default: nothing in headers)."""
        return Auth()

    def connection_url(self) -> str:
        """The tenant's API root; by default the ``base_url`` setting every vendor has."""
        url = getattr(self.settings, "base_url", None)
        if not isinstance(url, str):
            raise UnsupportedOperation(
                f"{self.vendor} has no base_url setting: override connection_url()",
                vendor=self.vendor,
            )
        return url

    @cached_property
    def http(self) -> Transport:
        """The tenant's one transport, built on first use from the declarations above."""
        settings = self.settings
        return Transport(
            base_url=self.connection_url(),
            vendor=self.vendor,
            tenant=self.tenant,
            auth=self.connection_auth(),
            secrets=settings.secrets(),
            timeouts=settings.timeouts(),
            retry=settings.retry_policy(),
            max_concurrency=settings.max_concurrency,
            read_only=self.read_only,
            rules=self.response_rules,
        )

    def close(self) -> None:
        """Release connections; the client calls it on close."""
        if "http" in self.__dict__:
            self.http.close()

    @classmethod
    def start_simulator(
        cls,
        *,
        devices: int = 0,
        seed: int = 1,
        port: int = 0,
        credentials: Mapping[str, str] | None = None,
    ) -> RunningSimulator:
        """Start this vendor's simulator on loopback, seeded with ``devices`` devices;
        ``credentials`` overrides the ones it accepts (keys as in its connect settings).

        Returns the running server and the ``connect()`` settings that reach it, so
        ``mdmbridge simulate`` works for any adapter that ships one (and the demo uses it).
        """
        raise UnsupportedOperation(f"{cls.vendor} has no simulator", vendor=cls.vendor)

    def export_rows(self, client: Client, entity: Entity) -> Iterable[tuple[Any, ...]]:
        """Every record of ``entity`` as an export row (``export.schema.row_maker``'s
        tuple), for the export only. By default the listing's models, made into rows; an
        adapter may build the rows straight from its payloads where that gives the same
        rows (``mdmbridge.typed_rows``), skipping the model for speed. Rows its pager has
        checked unique by id come as ``paging.CheckedRows(rows, "id")``, so the export
        does not check them twice; any other rows are checked by the export."""
        from mdmbridge.export.schema import row_maker

        return map(row_maker(entity.columns), entity.fetch(client))

    def _unsupported(self, what: str) -> UnsupportedOperation:
        return UnsupportedOperation(
            f"{self.vendor} does not support {what}", vendor=self.vendor, tenant=self.tenant
        )

    # groups
    def list_groups(self, filters: Values) -> Iterator[Group]:
        raise self._unsupported("listing groups")

    def get_group(self, group_id: str) -> Group:
        raise self._unsupported("reading a group")

    def create_group(self, values: GroupCreate) -> Group:
        raise self._unsupported("creating groups")

    def update_group(self, group_id: str, changes: GroupChanges) -> Group:
        raise self._unsupported("updating groups")

    def delete_group(self, group_id: str) -> None:
        raise self._unsupported("deleting groups")

    # users
    def list_users(self, filters: Values) -> Iterator[User]:
        raise self._unsupported("listing users")

    def get_user(self, user_id: str) -> User:
        raise self._unsupported("reading a user")

    def create_user(self, values: UserCreate) -> User:
        raise self._unsupported("creating users")

    def update_user(self, user_id: str, changes: UserChanges) -> User:
        raise self._unsupported("updating users")

    def delete_user(self, user_id: str) -> None:
        raise self._unsupported("deleting users")

    # devices
    def list_devices(self, filters: Values) -> Iterator[Device]:
        raise self._unsupported("listing devices")

    def get_device(self, device_id: str) -> Device:
        raise self._unsupported("reading a device")

    def assign_user(self, device_id: str, user_id: str) -> Device:
        raise self._unsupported("assigning devices to users")

    def rename_device(self, device_id: str, name: str) -> Device:
        raise self._unsupported("renaming devices")

    def send_command(self, device_id: str, command: Command) -> CommandReceipt:
        raise self._unsupported(f"the {command.kind.value} command")

    def list_locations(self, device_id: str) -> Iterator[Location]:
        raise self._unsupported("device locations")

    # tags and tag links
    def list_tags(self, filters: Values) -> Iterator[Tag]:
        raise self._unsupported("tags")

    def get_tag(self, tag_id: str) -> Tag:
        raise self._unsupported("tags")

    def create_tag(self, values: TagCreate) -> Tag:
        raise self._unsupported("creating tags")

    def update_tag(self, tag_id: str, changes: TagChanges) -> Tag:
        raise self._unsupported("updating tags")

    def delete_tag(self, tag_id: str) -> None:
        raise self._unsupported("deleting tags")

    def list_tag_links(self, target: TagTarget, filters: Values) -> Iterator[TagLink]:
        raise self._unsupported(f"{target.value} tags")

    def get_tag_link(self, target: TagTarget, link_id: str) -> TagLink:
        raise self._unsupported(f"{target.value} tags")

    def link_tag(self, target: TagTarget, target_id: str, tag_id: str) -> TagLink:
        raise self._unsupported(f"{target.value} tags")

    def unlink_tag(self, target: TagTarget, link_id: str) -> None:
        raise self._unsupported(f"{target.value} tags")

    # apps
    def list_apps(self, filters: Values) -> Iterator[App]:
        raise self._unsupported("apps")

    def get_app(self, app_id: str) -> App:
        raise self._unsupported("apps")

    def upsert_app(self, values: AppUpsert) -> App:
        raise self._unsupported("adding apps")
