"""The conformance checks of reading: listings complete and unique, gets agreeing
with them, filters meaning the same on either side, and paging."""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest

import mdmbridge
from mdmbridge import local_filters
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES, Entity
from mdmbridge.models import Record
from mdmbridge.testing.checks import VALUE_SOURCES, _memberships
from mdmbridge.testing.kit import GETTABLE, LISTS, REFERENCES, Kit


class ReadingChecks:
    """Listing, getting, filtering and paging, against the seeded simulator."""

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
