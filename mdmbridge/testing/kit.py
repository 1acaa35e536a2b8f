"""The kit's machinery, without pytest: a running simulator, clients on it, and tables.

:class:`Kit` starts an adapter's simulator through ``Adapter.start_simulator`` and connects
to it through ``mdmbridge.connect``, the public API only: the kit never calls an adapter
method, so it holds whatever the adapter does underneath. The tables say, per entity and
per capability, which client call exercises it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import mdmbridge
from mdmbridge import Capability as C
from mdmbridge.adapter import Adapter
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES, Entity
from mdmbridge.fields import Mode, is_enum
from mdmbridge.simulation import RunningSimulator, SimServer
from mdmbridge.testing.profile import ConformanceProfile

# Quick retries and short timeouts: the behaviour is the same, the waits are shorter.
FAST: dict[str, Any] = {
    "retries": 2,
    "connect_timeout_s": 2.0,
    "read_timeout_s": 5.0,
    "request_deadline_s": 30.0,
}
TENANT = "conformance"
# A name that breaks naive URL, form and JSON encoding, and naive ASCII assumptions.
TRICKY = 'Åsa Öberg & Co = "100%" + a+b ?x=1#frag'
# Ids that would change the URL if an adapter pasted them into a path unchecked.
URL_CHANGING_IDS = ("../1", "1/2", "1?x=1", "1#x", "%2e%2e")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# Entities read by id (every one but locations, which are listed per device).
GETTABLE = tuple(name for name in ENTITIES if name != "locations")
LISTS = ("groups", "users", "devices")  # the listings every inventory needs
# A filter ending in _id names a record of this entity.
REFERENCES = {"group_id": "groups", "user_id": "users", "tag_id": "tags", "device_id": "devices"}

# Sample values for text fields the kit fills in for any vendor (ids come from listings,
# enums are their first known member, integers 1).
CREATE_SAMPLES: dict[str, str] = {
    "name": TRICKY,
    "number": "4711",
    "notes": "Anteckning: åäö & ?=#",
    "email": "asa.oberg+kit@example.se",
    "phone": "+46 70 123 45 67",
    "account": "asa.kit",
    "account_group": "example.se",
    "company": "Ångström AB",
    "office": "Göteborg",
    "department": "IT & Drift",
    "position": "Tekniker",
    "description": "Kassa & Lager",
    "lost_mode_message": "Hittad? Ring oss",
    "lost_mode_phone_number": "+46 31 123 45",
    "lost_mode_footnote": "Tack!",
    "package_id": "se.example.kit",
    "version_text": "1.0",
    "store_id": "se.example.kit",
    "image_url": "https://example.se/kit.png",
}
UPDATE_SAMPLES: dict[str, str] = {
    name: value if name in {"email", "phone", "number", "image_url"} else f"{value} II"
    for name, value in CREATE_SAMPLES.items()
} | {"email": "ny.adress@example.se", "phone": "+46 8 765 43 21", "number": "4712"}

Ids = Mapping[str, str]
Probe = Callable[[Client, Ids], Any]

_APP: dict[str, Any] = {
    "name": "Kassa",
    "company": "Ångström AB",
    "package_id": "se.example.kassa",
    "version_text": "1.0",
    "platform": "android",
    "size": 1,
    "store": "play",
    "store_id": "se.example.kassa",
    "image_url": "https://example.se/kassa.png",
}

# One representative call per capability: an adapter without it must refuse it locally.
PROBES: dict[C, Probe] = {
    C.GROUPS_READ: lambda m, ids: m.groups.list(),
    C.GROUPS_WRITE: lambda m, ids: m.groups.create(name="Kassa"),
    C.GROUPS_DELETE: lambda m, ids: m.groups.delete(ids["groups"]),
    C.GROUPS_NESTED: lambda m, ids: m.groups.create(name="Barn", parent_id=ids["groups"]),
    C.USERS_READ: lambda m, ids: m.users.list(),
    C.USERS_WRITE: lambda m, ids: m.users.create(name="Åsa"),
    C.USERS_DELETE: lambda m, ids: m.users.delete(ids["users"]),
    C.DEVICES_READ: lambda m, ids: m.devices.list(),
    C.DEVICES_ASSIGN_USER: lambda m, ids: m.devices.assign_user(ids["devices"], ids["users"]),
    C.DEVICES_RENAME: lambda m, ids: m.devices.rename(ids["devices"], "Nytt namn"),
    C.DEVICE_LOCATIONS: lambda m, ids: m.locations.list(device_id=ids["devices"]),
    C.TAGS_READ: lambda m, ids: m.tags.list(),
    C.TAGS_WRITE: lambda m, ids: m.tags.create(name="Kassa"),
    C.TAGS_DELETE: lambda m, ids: m.tags.delete(ids["tags"]),
    C.DEVICE_TAGS: lambda m, ids: m.device_tags.list(),
    C.USER_TAGS: lambda m, ids: m.user_tags.list(),
    C.GROUP_TAGS: lambda m, ids: m.group_tags.list(),
    C.APPS_READ: lambda m, ids: m.apps.list(),
    C.APPS_WRITE: lambda m, ids: m.apps.upsert(**_APP),
    C.COMMAND_LOCK: lambda m, ids: m.devices.lock(ids["devices"]),
    C.COMMAND_WIPE: lambda m, ids: m.devices.wipe(ids["devices"]),
    C.COMMAND_CLEAR_PASSCODE: lambda m, ids: m.devices.clear_passcode(ids["devices"]),
    C.COMMAND_SEND_MESSAGE: lambda m, ids: m.devices.send_message(ids["devices"], "Hej"),
    C.COMMAND_INSTALL_APP: lambda m, ids: m.devices.install_app(ids["devices"], ids["apps"]),
    C.COMMAND_REMOVE_APP: lambda m, ids: m.devices.remove_app(ids["devices"], "se.example"),
    C.COMMAND_REFRESH: lambda m, ids: m.devices.refresh(ids["devices"]),
}
COMMANDS = tuple(c for c in C if c.value.startswith("command."))


class Kit:
    """An adapter's simulator, started for one test, and clients connected to it."""

    def __init__(
        self, profile: ConformanceProfile, *, credentials: Mapping[str, str] | None = None
    ) -> None:
        self.profile = profile
        info = mdmbridge.adapters().get(profile.vendor)
        if info is None:
            raise LookupError(
                f"{profile.vendor!r} is not a registered adapter (installed: "
                f"{', '.join(mdmbridge.adapters())}); is its entry point installed?"
            )
        self.adapter_class: type[Adapter] = info.adapter_class
        self.running: RunningSimulator = self.adapter_class.start_simulator(
            devices=profile.devices,
            seed=profile.seed,
            credentials=credentials if credentials is not None else profile.credentials,
        )

    @property
    def vendor(self) -> str:
        return self.profile.vendor

    @property
    def server(self) -> SimServer:
        return self.running.server

    def stop(self) -> None:
        self.running.stop()

    def __enter__(self) -> Kit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # connecting --------------------------------------------------------------------------

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {**self.running.settings, **FAST, **self.profile.settings, **overrides}

    def connect(self, *, tenant: str = TENANT, read_only: bool = False, **overrides: Any) -> Client:
        return mdmbridge.connect(
            self.vendor, tenant=tenant, read_only=read_only, **self.settings(**overrides)
        )

    def small_pages(self) -> dict[str, Any]:
        """Settings for a small page size, or {} for a vendor without one."""
        name = self.profile.page_size_setting
        return {} if name is None else {name: self.profile.small_page_size}

    # what the simulator saw --------------------------------------------------------------

    def reset_counts(self) -> None:
        self.server.reset_counts()

    def count(self, *methods: str) -> int:
        return self.server.count(*methods)

    def writes(self) -> int:
        return self.server.writes()

    def commands_seen(self) -> list[tuple[str, str]] | None:
        seen = self.profile.commands_seen
        return None if seen is None else list(seen(self.server))

    # facts -------------------------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[C]:
        return self.adapter_class.capabilities

    def supports(self, capability: C | None) -> bool:
        return capability is not None and capability in self.capabilities

    def filters(self, entity: str) -> frozenset[str]:
        return frozenset(self.adapter_class.list_filters.get(entity, frozenset()))

    def missing(self, entity: str) -> str:
        try:
            return self.profile.missing_ids[entity]
        except KeyError:
            raise LookupError(
                f"the {self.vendor} conformance profile has no missing_ids[{entity!r}]"
            ) from None

    def secrets(self) -> list[str]:
        """Every secret a message must never hold: the settings' own, the refused ones,
        and what the simulator issued (tokens)."""
        model = self.adapter_class.settings_model
        found = list(model(**self.settings()).secrets())
        found += model(**self.settings(**self.profile.bad_credentials)).secrets()
        if self.profile.issued_secrets is not None:
            found += list(self.profile.issued_secrets(self.server))
        return sorted({s for s in found if s})

    def known_ids(self, client: Client) -> dict[str, str]:
        """An existing id per entity read by id (a missing one where there is none)."""
        ids: dict[str, str] = {}
        for name in GETTABLE:
            first = None
            if self.supports(ENTITIES[name].read):
                first = next(iter(getattr(client, name).list()), None)
            ids[name] = first.id if first is not None else self.profile.missing_ids.get(name, "1")
        return ids


def by_singular(singular: str) -> Entity:
    return next(e for e in ENTITIES.values() if e.singular == singular and e.target is None)


def sample_values(
    kit: Kit, client: Client, entity: Entity, mode: Mode, *, second: bool = False
) -> dict[str, Any]:
    """Values for one create (or update) of ``entity``: every field the adapter declares
    it stores (all required ones if it declares nothing), where the kit can make a value;
    ``second`` picks other values (and other referenced records) than the first time."""
    declared = kit.adapter_class.writable.get(entity.name)
    samples = UPDATE_SAMPLES if second else CREATE_SAMPLES
    values: dict[str, Any] = {}
    for write in entity.fields_for(mode):
        if write in entity.write_only:
            continue  # never read back, so nothing to compare
        if (declared is None and not write.required) or (
            declared is not None and write.name not in getattr(declared, mode)
        ):
            continue
        need = entity.needs.get(write.name)
        if need is not None and not kit.supports(need[0]):
            continue
        if write.ref is not None:
            target = by_singular(write.ref)
            if kit.supports(target.read):
                ids = [r.id for r in itertools.islice(getattr(client, target.name).list(), 2)]
                if ids:
                    values[write.name] = ids[min(len(ids) - 1, int(second))]
        elif is_enum(write.type):
            values[write.name] = next(m for m in write.type if m.name != "UNKNOWN")
        elif write.type is int:
            values[write.name] = max(1, write.write.min or 0)
        elif write.type is bool:
            values[write.name] = not second
        elif write.name in samples:
            values[write.name] = samples[write.name]
        elif write.required:
            values[write.name] = f"Kit {write.name}{' II' if second else ''}"
    extra = kit.profile.update_values if second else kit.profile.create_values
    return values | dict(extra.get(entity.name, {}))


@contextlib.contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every log line (DEBUG and up) of mdmbridge, urllib3 and requests, formatted."""
    lines: list[str] = []

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = _Handler(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(n) for n in ("mdmbridge", "urllib3", "requests")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(handler)
    try:
        yield lines
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
