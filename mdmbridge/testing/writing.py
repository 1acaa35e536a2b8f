"""The conformance checks of writing: round trips of every writable field, tag
links, device changes and commands received once."""

from __future__ import annotations

import pytest

import mdmbridge
from mdmbridge import Capability as C
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES
from mdmbridge.testing.checks import (
    LINKS,
    WRITABLE,
    _assert_member,
    _without_memberships,
    assert_fields,
    same,
)
from mdmbridge.testing.kit import COMMANDS, PROBES, TRICKY, Kit, sample_values


class WritingChecks:
    """Writes land once, read back as sent, and are undone."""

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
