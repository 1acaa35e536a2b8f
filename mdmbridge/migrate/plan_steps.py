"""The plan being built, and what every kind of step shares: notes, matching an existing
target record (never guessing between several), and settling a record as "reuse, and
update where it differs" or "create".

Kinds are looked up in :mod:`mdmbridge.migrate.kinds`; which fields a target can hold is
its adapter's ``writable``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mdmbridge.adapter import Writable
from mdmbridge.capabilities import Capability
from mdmbridge.migrate.kinds import KINDS, copied_fields
from mdmbridge.migrate.model import Note, Plan, PlanOptions, Side, Step
from mdmbridge.migrate.snapshot import Snapshot, fold
from mdmbridge.models import Device, Record, User

_NONE = Writable(frozenset(), frozenset())


class PlanSteps:
    def __init__(
        self,
        source: Snapshot,
        target: Snapshot,
        writable: Mapping[str, Writable],
        options: PlanOptions,
        ledger: dict[str, str],
    ) -> None:
        self.src, self.dst, self.writable, self.options, self.ledger = (
            source,
            target,
            writable,
            options,
            ledger,
        )
        self.plan = Plan(
            source=Side(tenant=source.tenant, vendor=source.vendor),
            target=Side(tenant=target.tenant, vendor=target.vendor),
            created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            options=options,
        )
        # source ref -> target id, or None while a step of this plan has yet to create it;
        # a ref missing here was skipped (and said so).
        self.resolved: dict[str, str | None] = {}
        self.claimed: set[tuple[str, str]] = set()  # (kind, target id) already matched
        # Ledger-mapped records that other target records match as well (for verify).
        self.duplicates: list[dict[str, Any]] = []

    def note(self, ref: str, kind: str, reason: str, fields: list[str] | None = None) -> None:
        self.plan.not_migrated.append(Note(ref=ref, kind=kind, reason=reason, fields=fields or []))

    def ambiguous(self, ref: str, kind: str, reason: str) -> None:
        self.plan.ambiguous.append(Note(ref=ref, kind=kind, reason=reason))

    def can(self, capability: Capability) -> bool:
        return capability in self.dst.capabilities

    def holds(self, kind: str) -> Writable:
        """The fields the target can store for this kind of record."""
        return self.writable.get(KINDS[kind].entity.name, _NONE)

    def copy(
        self, ref: str, kind: str, record: Record | None, *, besides: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The source record's fields the target can hold; a note names the others."""
        create = self.holds(kind).create
        desired: dict[str, Any] = {}
        dropped = []
        for name in copied_fields(kind, besides=besides):
            value = getattr(record, name) if record is not None else None
            if value:
                if name in create:
                    desired[name] = value
                else:
                    dropped.append(name)
        if dropped:
            entity = KINDS[kind].entity.name
            what = f"{self.dst.vendor} {entity} cannot hold {', '.join(dropped)}"
            self.note(ref, kind, what, dropped)
        return desired

    def existing(
        self,
        ref: str,
        by_id: Mapping[str, Record],
        candidates: list[Any],
        what: str,
        kind: str,
        key: str = "",
    ) -> tuple[Record | None, bool]:
        """(the target record this ref maps to, True if the ref must be skipped)."""
        if ref in self.ledger:
            found = by_id.get(self.ledger[ref])
            if found is not None:
                others = [c.id for c in candidates if c.id != found.id]
                if others:
                    matched = [found.id, *others]
                    self.duplicates.append(
                        {
                            "ref": ref,
                            "kind": kind,
                            "reason": f"{len(matched)} target {kind}s match {what} (ids "
                            f"{', '.join(matched)}; the ledger's is {found.id}): a duplicate "
                            "in the target",
                            "fields": [key] if key else [],
                            "target_ids": matched,
                        }
                    )
                return found, False
        free = [c for c in candidates if (kind, c.id) not in self.claimed]
        if len(free) > 1:
            ids = ", ".join(c.id for c in free[:5])
            self.ambiguous(
                ref, kind, f"{len(free)} target {kind}s match {what} (ids {ids}); not guessing"
            )
            return None, True
        if len(candidates) > len(free) and not free:
            self.ambiguous(
                ref,
                kind,
                f"the target {kind} matching {what} is already matched to another "
                "source record (duplicates in the source)",
            )
            return None, True
        return (free[0] if free else None), False

    def differing(
        self, desired: dict[str, Any], current: Record, allowed: frozenset[str]
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, value in desired.items():
            if name not in allowed or name == "parent_id":
                continue
            if isinstance(value, dict) and "$ref" in value:
                wanted = self.resolved.get(value["$ref"])
                # None: this plan has yet to create it, so it cannot be in place already.
                if wanted is None or not self.in_place(current, name, wanted):
                    changes[name] = value
            elif value != getattr(current, name):
                changes[name] = value
        return changes

    def in_place(self, current: Record, name: str, wanted: str) -> bool:
        """Whether the target record already refers to ``wanted``; a user of a vendor with
        many groups per user is in place when it is a member of that group."""
        memberships = self.dst.memberships
        if name == "group_id" and isinstance(current, User) and memberships is not None:
            return wanted in memberships.get(current.id, ())
        return bool(wanted == getattr(current, name))

    def settle(
        self,
        ref: str,
        kind: str,
        existing: Record | None,
        desired: dict[str, Any],
        reason: str,
        match: dict[str, Any],
        depends: list[str],
    ) -> None:
        """Reuse (and update) the existing record, or plan its creation."""
        if existing is not None:
            self.claimed.add((kind, existing.id))
            self.resolved[ref] = existing.id
            how = (
                "recorded in the ledger"
                if self.ledger.get(ref) == existing.id
                else f"matched by {reason}"
            )
            # Also for records the ledger maps: then any ledger can resolve references to them.
            self.plan.steps.append(
                Step(
                    id=ref,
                    ref=ref,
                    kind=kind,
                    action="reuse",
                    target_id=existing.id,
                    reason=f"already in the target: {how}",
                )
            )
            changes = self.differing(desired, existing, self.holds(kind).update)
            if changes:
                self.plan.steps.append(
                    Step(
                        id=f"{ref}#update",
                        ref=ref,
                        kind=kind,
                        action="update",
                        target_id=existing.id,
                        fields=changes,
                        depends_on=refs(changes),
                        reason=f"differs in the target: {', '.join(sorted(changes))}",
                    )
                )
            return
        why = reason and f"no {kind} in the target matches {reason}"
        refusal = self.dst.match_only.get(KINDS[kind].entity.name)
        if refusal is not None:  # the target only takes matches of this kind
            self.note(ref, kind, f"{why or 'the source record has nothing to match on'}: {refusal}")
            return
        self.resolved[ref] = None
        self.plan.steps.append(
            Step(
                id=ref,
                ref=ref,
                kind=kind,
                action="create",
                fields=desired,
                match=match,
                depends_on=depends,
                reason=f"not in the target: no {kind} matches {reason}"
                if reason
                else "the source record has no e-mail or account to match on",
            )
        )

    def target_device(
        self, ref: str, serial: str | None, by_serial: Mapping[str, list[Device]], kind: str
    ) -> Device | None:
        if not serial:
            self.note(ref, kind, "the source device has no serial number to match on")
            return None
        candidates = by_serial.get(fold(serial), [])
        if not candidates:
            self.note(
                ref,
                kind,
                f"device {serial} is not enrolled in the target (devices re-enrol; "
                "run the migration again after they have)",
            )
            return None
        if len(candidates) > 1:
            self.ambiguous(
                ref, kind, f"{len(candidates)} target devices have the serial number {serial}"
            )
            return None
        return candidates[0]


def refs(fields: Mapping[str, Any]) -> list[str]:
    return [v["$ref"] for v in fields.values() if isinstance(v, dict) and "$ref" in v]
