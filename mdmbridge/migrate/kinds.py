"""The kinds of step a plan holds, as data: which registry entity each one writes, the
prefix of its source refs, and how a link is made.

The planner and the applier look a kind up here instead of building entity names, ref
prefixes or client attributes from strings, and the fields a migration copies come from
the registry (:func:`copied_fields`), not from lists kept here.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

from mdmbridge.capabilities import Capability
from mdmbridge.entities import ENTITIES, Entity
from mdmbridge.migrate.model import Kind
from mdmbridge.models import TagTarget


@dataclass(frozen=True, eq=False)
class StepKind:
    name: Kind  # as the plan file spells it
    entity: Entity  # what it writes (a device_user link writes a device's user)
    ref: str  # source refs: "<ref>:<source id>"
    capability: Capability  # what the target needs for it

    @property
    def target(self) -> TagTarget | None:
        """Tag links: what the tag is linked to."""
        return self.entity.target

    def ref_of(self, source_id: str) -> str:
        return f"{self.ref}:{source_id}"


def _writes(name: Kind, entity: str, ref: str) -> StepKind:
    spec = ENTITIES[entity]
    assert spec.write is not None
    return StepKind(name, spec, ref, spec.write)


KINDS: dict[str, StepKind] = {
    kind.name: kind
    for kind in (
        _writes("group", "groups", "group"),
        _writes("user", "users", "user"),
        _writes("tag", "tags", "tag"),
        StepKind("device_user", ENTITIES["devices"], "device", Capability.DEVICES_ASSIGN_USER),
        _writes("device_tag", "device_tags", "devicetag"),
        _writes("user_tag", "user_tags", "usertag"),
        _writes("group_tag", "group_tags", "grouptag"),
    )
}
RECORD_KINDS = ("group", "user", "tag")  # created, reused, updated (the others are links)
LINK_KINDS = tuple(k for k in KINDS.values() if k.target is not None)
assert set(KINDS) == set(typing.get_args(Kind)), "every plan kind has its data here"


def copied_fields(kind: str, *, besides: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What a migration copies as it is: every field the client can create, except id
    references (resolved through ``$ref`` to the target's ids) and what the planner
    derives itself (``besides``: a group's name comes from its path)."""
    fields = KINDS[kind].entity.fields_for("create")
    return tuple(w.name for w in fields if w.ref is None and w.name not in besides)
