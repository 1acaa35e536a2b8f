"""The conformance suite: subclass :class:`ConformanceSuite` in a test module, name the
vendor (or give a profile), and pytest runs every check against the adapter's simulator::

    from mdmbridge.testing import ConformanceSuite

    class TestMyVendor(ConformanceSuite):
        vendor = "myvendor"  # its profile: mdmbridge_myvendor.conformance.PROFILE

Each test starts the simulator afresh and drives it through ``mdmbridge.connect`` only.
The checks come from the adapter's declarations read against the entity registry
(:mod:`mdmbridge.entities`): what it declares is exercised, what it lacks is skipped,
except the refusals: a capability it lacks must be refused locally, with no request sent.
"""

from __future__ import annotations

import enum
import math
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest

import mdmbridge
from mdmbridge import Capability as C
from mdmbridge import local_filters
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES, Entity, writable_entities
from mdmbridge.models import Record
from mdmbridge.testing.kit import (
    COMMANDS,
    FAST,
    GETTABLE,
    LISTS,
    PROBES,
    REFERENCES,
    TRICKY,
    URL_CHANGING_IDS,
    WRITE_METHODS,
    Kit,
    captured_logs,
    sample_values,
)
from mdmbridge.testing.profile import ConformanceProfile, load_profile

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


class ConformanceSuite:
    """Every check the kit makes. Set ``vendor`` (the profile is then loaded from the
    adapter's package) or ``profile``."""

    vendor: ClassVar[str | None] = None
    profile: ClassVar[ConformanceProfile | None] = None

    # fixtures ----------------------------------------------------------------------------

    @pytest.fixture
    def conformance_profile(self) -> ConformanceProfile:
        if self.profile is not None:
            return self.profile
        if self.vendor is None:
            raise TypeError(f"{type(self).__name__} sets neither vendor nor profile")
        return load_profile(self.vendor)

    @pytest.fixture
    def kit(self, conformance_profile: ConformanceProfile) -> Iterator[Kit]:
        with Kit(conformance_profile) as kit:
            yield kit

    @pytest.fixture
    def mdm(self, kit: Kit) -> Iterator[Client]:
        with kit.connect() as client:
            yield client

    # declarations ------------------------------------------------------------------------

    def test_declarations_are_complete(self, kit: Kit) -> None:
        """What it declares hangs together (the registry checked the names already)."""
        cls = kit.adapter_class
        assert cls.vendor == kit.vendor
        assert cls.description, "description: one line for `mdmbridge adapters`"
        assert cls.capabilities <= set(C)
        assert mdmbridge.adapters()[kit.vendor].adapter_class is cls
        cls.settings_model(**kit.running.settings)  # the simulator's settings connect as is
        for name in cls.list_filters:
            assert kit.supports(ENTITIES[name].read), f"list_filters: {name} is not read"
        for name in cls.writable:
            assert kit.supports(ENTITIES[name].write), f"writable: {name} is not written"

    def test_connect_is_offline_and_lists_are_lazy(self, kit: Kit) -> None:
        client = kit.connect()
        assert kit.count() == 0, "connect() sent a request"
        for name in ENTITIES:
            entity = ENTITIES[name]
            if kit.supports(entity.read) and entity.lister is None:
                listing = getattr(client, name).list()
                assert kit.count() == 0, f"{name}.list() sent a request before iteration"
                getattr(listing, "close", lambda: None)()
        client.close()

    # reading -----------------------------------------------------------------------------

    @pytest.mark.parametrize("name", list(ENTITIES))
    def test_listing_is_complete_unique_and_tagged(self, kit: Kit, mdm: Client, name: str) -> None:
        entity = ENTITIES[name]
        if not kit.supports(entity.read):
            pytest.skip(f"{kit.vendor} does not list {name}")
        records = list(entity.fetch(mdm))
        ids = [r.id for r in records]
        assert len(ids) == len(set(ids)), f"{name}: an id listed twice"
        for record in records:
            assert isinstance(record, entity.model)
            assert (record.tenant, record.vendor) == (mdm.tenant, kit.vendor)
            assert isinstance(record.id, str) and record.id.strip() == record.id != ""
            assert isinstance(record.raw, dict) and record.raw, "raw: the vendor's payload"
        if name == "devices":
            assert len(records) == kit.profile.devices, "the seeded fleet, every device"
        if name in LISTS:
            assert records, f"the simulator seeds no {name}"

    @pytest.mark.parametrize("name", GETTABLE)
    def test_get_agrees_with_the_listing(self, kit: Kit, mdm: Client, name: str) -> None:
        if not kit.supports(ENTITIES[name].read):
            pytest.skip(f"{kit.vendor} does not read {name}")
        namespace = getattr(mdm, name)
        listed = list(namespace.list())[:3]
        if not listed:
            pytest.skip(f"the simulator seeds no {name}")
        for record in listed:
            got = namespace.get(record.id)
            assert type(got) is type(record) and got.id == record.id
            for field in type(record).model_fields:
                a, b = getattr(record, field), getattr(got, field)
                if field != "raw" and a is not None and b is not None:
                    assert a == b, f"{name} {record.id}: {field} listed {a!r}, read {b!r}"

    @pytest.mark.parametrize("name", GETTABLE)
    def test_missing_ids_are_not_found(self, kit: Kit, mdm: Client, name: str) -> None:
        entity = ENTITIES[name]
        if not kit.supports(entity.read):
            pytest.skip(f"{kit.vendor} does not read {name}")
        if name not in kit.profile.missing_ids and name not in LISTS:
            pytest.skip(f"the profile gives no missing {entity.singular} id")
        namespace, missing = getattr(mdm, name), kit.missing(name)
        with pytest.raises(mdmbridge.NotFound) as caught:
            namespace.get(missing)
        assert caught.value.vendor == kit.vendor
        if kit.supports(entity.write) and entity.update:
            with pytest.raises(mdmbridge.NotFound):
                namespace.update(missing, name="Finns inte")
        if kit.supports(entity.delete):
            with pytest.raises(mdmbridge.NotFound):
                (namespace.unlink if entity.target else namespace.delete)(missing)

    @pytest.mark.parametrize("name", list(ENTITIES))
    def test_server_filters_match_as_the_client_would(
        self, kit: Kit, mdm: Client, name: str
    ) -> None:
        """Each filter the vendor applies gives exactly what the client's own rule gives
        over the whole listing (``mdmbridge.local_filters``): a filter means the same
        whichever side applies it."""
        entity = ENTITIES[name]
        declared = sorted(kit.filters(name))
        if not declared:
            pytest.skip(f"{kit.vendor} applies no {name} filter on the server")
        everything = list(getattr(mdm, name).list())
        for filter_name in declared:
            if _memberships(kit, name) and filter_name == "group_id":
                self._check_memberships(kit, mdm, everything)
                continue
            value = self._filter_value(kit, mdm, entity, filter_name, everything)
            where = f"{name}.list({filter_name}={value!r})"
            got = [r.id for r in getattr(mdm, name).list(**{filter_name: value})]
            expected = {
                r.id
                for r in local_filters.apply(mdm, entity, iter(everything), {filter_name: value})
            }
            assert len(got) == len(set(got)), f"{where}: an id listed twice"
            assert set(got) == expected, (
                f"{where}: the server gave {sorted(set(got) - expected)} too many, "
                f"{sorted(expected - set(got))} too few"
            )
            referenced = REFERENCES.get(filter_name)
            if referenced is not None and referenced in kit.profile.missing_ids:
                try:
                    unknown = list(
                        getattr(mdm, name).list(**{filter_name: kit.missing(referenced)})
                    )
                except mdmbridge.NotFound:
                    unknown = []
                assert unknown == [], f"{name}.list({filter_name}=<unknown id>) matched records"

    def _check_memberships(self, kit: Kit, mdm: Client, everything: list[Record]) -> None:
        """Users in any number of groups (``Adapter.users_in_many_groups``): a listing by
        group is the membership itself, so each user it gives carries that group."""
        all_ids = {r.id for r in everything}
        members = 0
        for group in list(mdm.groups.list())[:5]:
            got = list(mdm.users.list(group_id=group.id))
            ids = [u.id for u in got]
            assert len(ids) == len(set(ids)), f"users.list(group_id={group.id!r}): listed twice"
            assert set(ids) <= all_ids, f"users.list(group_id={group.id!r}): unknown users"
            assert all(u.group_id == group.id for u in got), "a member without its group_id"
            members += len(ids)
        assert members, "no seeded group has members to filter by"

    def _filter_value(
        self, kit: Kit, mdm: Client, entity: Entity, name: str, everything: list[Record]
    ) -> Any:
        """A value of the filter that some record holds, so the check narrows something."""
        candidates: list[Any] = [getattr(r, name, None) for r in everything[:5]]
        source = REFERENCES.get(name) or VALUE_SOURCES.get(name)
        if source == "tags" and entity.name in ("devices", "users"):
            link = f"{entity.name[:-1]}_tags"
            if kit.supports(ENTITIES[link].read):
                candidates += [lk.tag_id for lk in getattr(mdm, link).list()][:5]
        elif source is not None and kit.supports(ENTITIES[source].read):
            attribute = "id" if name in REFERENCES else name
            candidates += [getattr(r, attribute, None) for r in getattr(mdm, source).list()][:5]
        candidates = [c.value if isinstance(c, enum.Enum) else c for c in candidates]
        candidates = [c for c in candidates if c not in (None, "")]
        for value in candidates:
            if next(local_filters.apply(mdm, entity, iter(everything), {name: value}), None):
                return value
        pytest.fail(f"no seeded {entity.name} to filter by {name}: the simulator seeds too little")

    # paging ------------------------------------------------------------------------------

    @pytest.mark.parametrize("name", LISTS)
    def test_small_pages_list_everything_once(self, kit: Kit, name: str) -> None:
        if not kit.profile.page_size_setting:
            pytest.skip(f"{kit.vendor} has no page size")
        if not kit.supports(ENTITIES[name].read):
            pytest.skip(f"{kit.vendor} does not list {name}")
        whole = [r.id for r in getattr(kit.connect(), name).list()]
        kit.reset_counts()
        paged = [r.id for r in getattr(kit.connect(**kit.small_pages()), name).list()]
        assert len(paged) == len(set(paged)), f"{name}: an id listed twice"
        assert sorted(paged) == sorted(whole), f"{name}: small pages lost or added records"
        pages = math.ceil(len(whole) / kit.profile.small_page_size)
        assert kit.count("GET") >= pages, f"{name}: {len(whole)} items came in < {pages} pages"

    def test_a_listing_that_repeats_a_record_is_refused(self, kit: Kit) -> None:
        if "duplicate" not in kit.profile.shaping_faults:
            pytest.skip(f"the {kit.vendor} simulator has no duplicate fault")
        kit.server.faults.add("duplicate", times=None)
        with pytest.raises(mdmbridge.IncompleteListing):
            list(kit.connect(**kit.small_pages()).devices.list())

    # writing -----------------------------------------------------------------------------

    @pytest.mark.parametrize("name", WRITABLE)
    def test_create_get_update_delete_round_trip(self, kit: Kit, mdm: Client, name: str) -> None:
        entity = ENTITIES[name]
        if not kit.supports(entity.write):
            pytest.skip(f"{kit.vendor} does not write {name}")
        namespace = getattr(mdm, name)
        values = sample_values(kit, mdm, entity, "create")
        created = getattr(namespace, entity.verb)(**values)
        assert created.id and (created.vendor, created.tenant) == (kit.vendor, mdm.tenant)
        # Users in many groups carry a group_id only when listed by group: check the
        # membership there, and the other fields on the record.
        shown = _without_memberships(kit, name, values)
        assert_fields(created, shown, f"{name}.{entity.verb}")
        assert_fields(namespace.get(created.id), shown, f"{name}.get after {entity.verb}")
        _assert_member(kit, mdm, name, created.id, values)
        assert sum(1 for r in namespace.list() if r.id == created.id) == 1
        if entity.verb == "upsert":
            again = namespace.upsert(**values)
            assert again.id == created.id, "an upsert of the same record made another"
            assert sum(1 for r in namespace.list() if r.id == created.id) == 1

        if entity.update:
            changes = sample_values(kit, mdm, entity, "update", second=True)
            kept = {k: v for k, v in values.items() if k not in changes and k != "parent_id"}
            updated = namespace.update(created.id, **changes)
            assert updated.id == created.id
            shown = _without_memberships(kit, name, changes | kept)
            assert_fields(updated, shown, f"{name}.update")
            assert_fields(namespace.get(created.id), shown, f"{name}.get after update")
            _assert_member(kit, mdm, name, created.id, changes)
            clearable = [
                w.name for w in entity.fields_for("update") if w.clearable and w.name in values
            ]
            if clearable:
                namespace.update(created.id, **{clearable[0]: None})
                cleared = getattr(namespace.get(created.id), clearable[0])
                assert cleared is None, f"{name}: {clearable[0]}=None did not clear it"

        if kit.supports(entity.delete):
            namespace.delete(created.id)
            with pytest.raises(mdmbridge.NotFound):
                namespace.get(created.id)
            assert all(r.id != created.id for r in namespace.list())

    @pytest.mark.parametrize("name", LINKS)
    def test_tag_link_round_trip(self, kit: Kit, mdm: Client, name: str) -> None:
        entity = ENTITIES[name]
        if not kit.supports(entity.write) or not kit.supports(C.TAGS_READ):
            pytest.skip(f"{kit.vendor} does not link tags to {name[:-5]}s")
        assert entity.target is not None
        namespace = getattr(mdm, name)
        targets = getattr(mdm, f"{entity.target.value}s").list()
        tag = next(iter(mdm.tags.list()), None)
        if tag is None:
            pytest.skip("the simulator seeds no tag")
        linked = {lk.target_id for lk in namespace.list() if lk.tag_id == tag.id}
        target = next(t for t in targets if t.id not in linked)
        link = namespace.link(**{f"{entity.target.value}_id": target.id, "tag_id": tag.id})
        assert (link.tag_id, link.target_id, link.target) == (tag.id, target.id, entity.target)
        assert namespace.get(link.id).target_id == target.id
        assert sum(1 for lk in namespace.list() if lk.id == link.id) == 1
        namespace.unlink(link.id)
        assert all(lk.id != link.id for lk in namespace.list())

    def test_update_without_fields_is_refused_locally(self, kit: Kit, mdm: Client) -> None:
        names = [n for n in WRITABLE if ENTITIES[n].update and kit.supports(ENTITIES[n].write)]
        if not names:
            pytest.skip(f"{kit.vendor} updates nothing")
        ids = kit.known_ids(mdm)
        kit.reset_counts()
        for name in names:
            with pytest.raises(mdmbridge.ValidationError, match="nothing to update"):
                getattr(mdm, name).update(ids[name])
        assert kit.count() == 0

    def test_device_assignment_and_rename(self, kit: Kit, mdm: Client) -> None:
        assign, rename = kit.supports(C.DEVICES_ASSIGN_USER), kit.supports(C.DEVICES_RENAME)
        if not (assign or rename):
            pytest.skip(f"{kit.vendor} changes no device")
        device = next(iter(mdm.devices.list()))
        if assign:
            user = next(u for u in mdm.users.list() if u.id != device.user_id)
            moved = mdm.devices.assign_user(device.id, user.id)
            assert moved.id == device.id and moved.user_id == user.id
            assert mdm.devices.get(device.id).user_id == user.id
            assert device.id in {d.id for d in mdm.devices.list(user_id=user.id)}
        if rename:
            renamed = mdm.devices.rename(device.id, TRICKY)
            assert renamed.name == TRICKY and mdm.devices.get(device.id).name == TRICKY

    def test_each_command_reaches_the_device_once(self, kit: Kit, mdm: Client) -> None:
        declared = [c for c in COMMANDS if kit.supports(c)]
        if not declared:
            pytest.skip(f"{kit.vendor} sends no device command")
        ids = kit.known_ids(mdm)
        for capability in declared:
            before = kit.commands_seen()
            receipt = PROBES[capability](mdm, ids)
            assert isinstance(receipt, mdmbridge.CommandReceipt), capability
            assert same(receipt.device_id, ids["devices"])
            assert receipt.command.kind.value == capability.value.removeprefix("command.")
            after = kit.commands_seen()
            if before is not None and after is not None:
                sent = len(after) - len(before)
                assert sent == 1, f"{capability.value}: the simulator received it {sent} times"
                assert same(after[-1][0], ids["devices"])

    # refusals ----------------------------------------------------------------------------

    @pytest.mark.parametrize("capability", list(C), ids=lambda c: c.value)
    def test_missing_capability_is_refused_locally(self, kit: Kit, capability: C) -> None:
        if kit.supports(capability):
            pytest.skip(f"{kit.vendor} declares {capability.value}")
        ids = {name: kit.profile.missing_ids.get(name, "1") for name in GETTABLE}
        client = kit.connect()
        kit.reset_counts()
        with pytest.raises(mdmbridge.UnsupportedOperation, match=kit.vendor):
            PROBES[capability](client, ids)
        assert kit.count() == 0, f"{capability.value}: a request was sent before refusing"

    def test_bad_ids_are_refused_locally(self, kit: Kit, mdm: Client) -> None:
        ids = kit.known_ids(mdm)
        kit.reset_counts()
        calls: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = []
        for name in GETTABLE:
            entity = ENTITIES[name]
            if not kit.supports(entity.read):
                continue
            namespace = getattr(mdm, name)
            for bad in (*URL_CHANGING_IDS, *kit.profile.bad_ids.get(name, ())):
                calls.append((f"{name}.get", namespace.get, (bad,)))
                if kit.supports(entity.write) and entity.update:
                    calls.append((f"{name}.update", _update_name, (namespace, bad)))
                if kit.supports(entity.delete):
                    calls.append(
                        (
                            f"{name}.delete",
                            namespace.unlink if entity.target else namespace.delete,
                            (bad,),
                        )
                    )
                if name == "devices":
                    for capability in (C.DEVICES_RENAME, C.DEVICES_ASSIGN_USER, *COMMANDS):
                        if kit.supports(capability):
                            probe = PROBES[capability]
                            calls.append((capability.value, probe, (mdm, {**ids, name: bad})))
                if name == "users" and kit.supports(C.DEVICES_ASSIGN_USER):
                    calls.append(("assign_user", mdm.devices.assign_user, (ids["devices"], bad)))
            for blank in ("", "   "):
                calls.append((f"{name}.get", namespace.get, (blank,)))
        if not calls:
            pytest.skip(f"{kit.vendor} reads nothing by id")
        for what, function, args in calls:
            with pytest.raises(mdmbridge.ValidationError):
                function(*args)
            assert kit.count() == 0, f"{what}{args[-1:]!r}: sent although the id cannot be valid"

    # faults ------------------------------------------------------------------------------

    def _a_read(self, kit: Kit, mdm: Client) -> Callable[[], Any]:
        """A read of one existing record: the same requests each time."""
        for name in ("devices", "users", "groups"):
            if kit.supports(ENTITIES[name].read):
                first = next(iter(getattr(mdm, name).list()), None)
                if first is not None:
                    return _bound(getattr(mdm, name).get, first.id)
        pytest.skip(f"{kit.vendor} reads no record by id")

    def _gets_per_read(self, kit: Kit, read: Callable[[], Any]) -> int:
        kit.reset_counts()
        read()
        gets = kit.count("GET")
        kit.reset_counts()
        return gets

    def test_429_then_success_honours_retry_after(self, kit: Kit, mdm: Client) -> None:
        read = self._a_read(kit, mdm)
        gets = self._gets_per_read(kit, read)
        kit.server.faults.add("status", status=429, retry_after=1, methods=["GET"], times=1)
        started = time.monotonic()
        read()
        assert time.monotonic() - started >= 0.9, "Retry-After: 1 was not waited for"
        assert kit.count("GET") == gets + 1

    def test_5xx_on_a_read_is_retried(self, kit: Kit, mdm: Client) -> None:
        read = self._a_read(kit, mdm)
        gets = self._gets_per_read(kit, read)
        kit.server.faults.add("status", status=500, methods=["GET"], times=1)
        kit.server.faults.add("status", status=503, retry_after=0, methods=["GET"], times=1)
        read()
        assert kit.count("GET") == gets + 2

    def test_5xx_storm_on_a_read_ends_in_vendor_server_error(self, kit: Kit, mdm: Client) -> None:
        read = self._a_read(kit, mdm)
        gets = self._gets_per_read(kit, read)
        kit.server.faults.add("status", status=503, retry_after=0, methods=["GET"], times=None)
        with pytest.raises(mdmbridge.VendorServerError) as caught:
            read()
        assert caught.value.status == 503 and caught.value.vendor == kit.vendor
        assert kit.count("GET") == gets + FAST["retries"], "retried as often as `retries` says"
        assert_clean(caught.value, kit.secrets())

    @pytest.mark.parametrize("fault", ["drop", "truncate"])
    def test_a_read_cut_off_is_fetched_again(self, kit: Kit, mdm: Client, fault: str) -> None:
        read = self._a_read(kit, mdm)
        gets = self._gets_per_read(kit, read)
        kit.server.faults.add(fault, methods=["GET"], times=1)
        read()
        assert kit.count("GET") == gets + 1

    def _a_write(self, kit: Kit, mdm: Client) -> tuple[Callable[[], Any], Callable[[], bool]]:
        """A write, and a check that it left no trace."""
        for name in ("groups", "users", "tags"):
            if kit.supports(ENTITIES[name].write):
                namespace, label = getattr(mdm, name), f"Kit write {name}"
                return _bound(namespace.create, name=label), _bound(_absent, namespace, label)
        if kit.supports(C.DEVICES_RENAME):
            device = next(iter(mdm.devices.list()))
            return (
                _bound(mdm.devices.rename, device.id, "Kit write"),
                _bound(_unchanged, mdm, device),
            )
        pytest.skip(f"{kit.vendor} writes nothing")

    @pytest.mark.parametrize(
        ("fault", "error"),
        [
            ("status:503", mdmbridge.VendorServerError),
            ("status:429", mdmbridge.RateLimited),
            ("drop", mdmbridge.TransportError),
        ],
    )
    def test_a_write_is_never_sent_twice(
        self, kit: Kit, mdm: Client, fault: str, error: type[mdmbridge.MDMError]
    ) -> None:
        write, left_no_trace = self._a_write(kit, mdm)
        self._a_read(kit, mdm)()  # credentials fetched (a token), so only the write is sent
        kit.reset_counts()
        kit.server.faults.add_spec(f"{fault}:retry_after=0:methods={','.join(WRITE_METHODS)}")
        with pytest.raises(error) as caught:
            write()
        assert kit.writes() == 1, f"a write answered {fault} was sent {kit.writes()} times"
        assert_clean(caught.value, kit.secrets())
        assert left_no_trace()

    def test_a_command_answered_503_is_sent_once(self, kit: Kit, mdm: Client) -> None:
        declared = [c for c in COMMANDS if kit.supports(c)]
        if not declared:
            pytest.skip(f"{kit.vendor} sends no device command")
        ids = kit.known_ids(mdm)
        before = kit.commands_seen()
        kit.reset_counts()
        kit.server.faults.add("status", status=503, retry_after=0, methods=WRITE_METHODS, times=1)
        with pytest.raises(mdmbridge.VendorServerError):
            PROBES[declared[0]](mdm, ids)
        assert kit.writes() == 1
        assert kit.commands_seen() == before

    def test_read_only_client_sends_no_write(self, kit: Kit) -> None:
        """Every write a dry run could attempt is refused before it is sent. Creates carry
        values the vendor would accept (``sample_values``), so the refusal is the dry
        run's, not a validation's."""
        client = kit.connect(read_only=True)
        ids = kit.known_ids(client)  # reads work (and fetch any token)
        calls: list[tuple[str, Callable[[], Any]]] = []
        for entity in writable_entities():
            if kit.supports(entity.write):
                values = sample_values(kit, client, entity, "create")
                create = getattr(getattr(client, entity.name), entity.verb)
                calls.append((f"{entity.name}.{entity.verb}", _bound(create, **values)))
        others = (C.DEVICES_RENAME, C.DEVICES_ASSIGN_USER, C.GROUPS_DELETE, C.USERS_DELETE)
        for capability in (*others, C.TAGS_DELETE, *COMMANDS):
            if kit.supports(capability):
                calls.append((capability.value, _bound(PROBES[capability], client, ids)))
        if not calls:
            pytest.skip(f"{kit.vendor} writes nothing")
        kit.reset_counts()
        for what, call in calls:
            with pytest.raises(mdmbridge.DryRunViolation):
                call()
            assert kit.writes() == 0, f"{what}: a dry run sent a write"

    # credentials and secrets -------------------------------------------------------------

    def test_bad_credentials_are_an_auth_error(self, kit: Kit) -> None:
        client = kit.connect(**kit.profile.bad_credentials)
        name = next(n for n in LISTS if kit.supports(ENTITIES[n].read))
        with pytest.raises(mdmbridge.AuthError) as caught:
            list(getattr(client, name).list())
        assert caught.value.vendor == kit.vendor
        assert_clean(caught.value, kit.secrets())

    def test_no_secret_in_any_error_or_log_line(self, kit: Kit) -> None:
        texts: list[str] = []
        with captured_logs() as lines:
            client = kit.connect()
            ids = kit.known_ids(client)  # credentials fetched (a token), records known
            settings = client.adapter.settings
            texts += [repr(client), repr(client.adapter), repr(settings), str(settings)]
            for name in GETTABLE:
                if kit.supports(ENTITIES[name].read) and name in kit.profile.missing_ids:
                    texts += _error_texts(getattr(client, name).get, kit.missing(name))
            for kind, options in SPOILERS:
                kit.server.faults.clear()
                kit.server.faults.add(kind, times=None, **options)
                fresh = kit.connect(retries=0)  # a new token request meets the fault too
                texts += _error_texts(_list_first, kit, fresh)
                texts += _error_texts(_get_known, kit, fresh, ids)
            kit.server.faults.clear()
            kit.server.faults.add("delay", delay_s=0.6, times=None)
            texts += _error_texts(_get_known, kit, kit.connect(retries=0, read_timeout_s=0.2), ids)
            kit.server.faults.clear()
            texts += _error_texts(_list_first, kit, kit.connect(**kit.profile.bad_credentials))
        secrets = kit.secrets()  # after the run: tokens issued meanwhile count too
        assert secrets, "the settings declare no secret (use SecretStr for credentials)"
        assert lines, "no log line was recorded"
        for text in [*texts, *lines]:
            for secret in secrets:
                assert secret not in text, f"a secret leaked into: {text[:300]}"


# Faults that spoil every answer, each ending in an error whose text must stay clean.
SPOILERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("html", {"status": 502}),
    ("echo_auth", {}),
    ("status", {"status": 500}),
    ("status", {"status": 401}),
    ("drop", {}),
    ("truncate", {}),
    ("redirect", {"location": "http://127.0.0.2:9/elsewhere"}),
    ("body", {"text": '{"x": 1e400'}),
)


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
