"""Planning: read every selected tenant (read-only clients) and list the targets.

Nothing is written: the clients are read-only, so the transport refuses any write before it
is sent. A tenant whose vendor cannot do the action is skipped with the reason; a tenant
that cannot be read fails alone (its reason is in the plan) and the others are planned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from mdmbridge.bulk.actions import command_params, command_word
from mdmbridge.bulk.model import Action, BulkPlan, EnsureAction, SendAction, Target, TenantPlan
from mdmbridge.capabilities import Capability
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.errors import MDMError, ValidationError
from mdmbridge.fleet import TenantOutcome, run_for_each
from mdmbridge.models import Device, Record
from mdmbridge.where import parse_where

Planned = tuple[TenantPlan, list[Target]]


def plan_send(
    tenants: Sequence[Tenant],
    command: str,
    argument: str | None = None,
    *,
    where: Sequence[str] = (),
    vpp: bool | None = None,
    workers: int = 4,
) -> BulkPlan:
    """Every device matching ``where`` in every tenant that can take ``command``."""
    params = command_params(command, argument, vpp=vpp)
    predicate = parse_where(list(where), "devices")  # a bad one: before any request, exit 2
    action = SendAction(command=command, params=params)
    spec = command_word(command)

    def one(tenant: Tenant, client: Client) -> Planned:
        if not client.supports(Capability.DEVICES_READ):
            return _skipped(tenant, f"{client.vendor} cannot list devices"), []
        if not client.supports(spec.capability):
            return _skipped(tenant, f"{client.vendor} does not support the {command} command"), []
        listed = 0
        chosen: list[Device] = []
        for device in client.devices.list():
            listed += 1
            if predicate(device):
                chosen.append(device)
        users = _user_names(client, {d.user_id for d in chosen if d.user_id})
        targets = [
            Target(
                key=f"{tenant.name}/{d.id}",
                tenant=tenant.name,
                vendor=tenant.vendor,
                device_id=d.id,
                name=d.name,
                serial=d.serial_number,
                user_id=d.user_id,
                user=users.get(d.user_id or ""),
            )
            for d in chosen
        ]
        plan = TenantPlan(
            tenant=tenant.name,
            vendor=tenant.vendor,
            status="planned",
            listed=listed,
            counts={"send": len(targets)},
        )
        return plan, targets

    return _plan(tenants, action, list(where), one, workers)


def plan_ensure(tenants: Sequence[Tenant], entity: str, name: str, *, workers: int = 4) -> BulkPlan:
    """A group (``entity="group"``) or tag named ``name`` in every tenant that can hold one:
    ``reuse`` where it exists (compared case-insensitively; groups at the top level),
    ``create`` where it does not."""
    if entity not in ("group", "tag"):
        raise ValidationError(f"ensure works on groups and tags, not {entity!r}")
    if not name.strip():
        raise ValidationError(f"a {entity} name cannot be empty")
    kind = "ensure-group" if entity == "group" else "ensure-tag"
    action = EnsureAction(kind=kind, name=name)
    read, write = (
        (Capability.GROUPS_READ, Capability.GROUPS_WRITE)
        if entity == "group"
        else (Capability.TAGS_READ, Capability.TAGS_WRITE)
    )

    def one(tenant: Tenant, client: Client) -> Planned:
        if not client.supports(read):
            return _skipped(tenant, f"{client.vendor} has no {entity}s"), []
        if not client.supports(write):
            return _skipped(tenant, f"{client.vendor} cannot create {entity}s"), []
        found, listed = find_existing(client, entity, name)
        if len(found) > 1:
            ids = ", ".join(r.id for r in found)
            reason = f"{len(found)} {entity}s are named {name!r} ({ids}); not guessing which"
            return _skipped(tenant, reason, listed), []
        op = "reuse" if found else "create"
        target = Target(
            key=f"{tenant.name}/{entity}:{name.strip().casefold()}",
            tenant=tenant.name,
            vendor=tenant.vendor,
            op=op,
            name=name,
            existing_id=found[0].id if found else None,
        )
        plan = TenantPlan(
            tenant=tenant.name,
            vendor=tenant.vendor,
            status="planned",
            listed=listed,
            counts={op: 1},
        )
        return plan, [target]

    return _plan(tenants, action, [], one, workers)


def find_existing(client: Client, entity: str, name: str) -> tuple[list[Record], int]:
    """Records the ensure action would reuse, and how many were read to find them."""
    wanted = name.strip().casefold()
    found: list[Record] = []
    listed = 0
    records: Iterable[Record] = client.groups.list() if entity == "group" else client.tags.list()
    for record in records:
        listed += 1
        if (getattr(record, "name", None) or "").strip().casefold() != wanted:
            continue
        if entity == "group" and getattr(record, "parent_id", None) not in (None, "0"):
            continue  # a subgroup of the same name is another group
        found.append(record)
    return found, listed


def _plan(
    tenants: Sequence[Tenant],
    action: Action,
    where: list[str],
    one: Callable[[Tenant, Client], Planned],
    workers: int,
) -> BulkPlan:
    def work(tenant: Tenant) -> Planned:
        with tenant.connect(read_only=True) as client:
            return one(tenant, client)

    outcomes: dict[str, TenantOutcome[Planned]] = {
        o.tenant: o for o in run_for_each(tenants, work, workers=workers, activity="planning")
    }
    plans: list[TenantPlan] = []
    targets: list[Target] = []
    for tenant in tenants:  # the order the tenants were given, whatever finished first
        outcome = outcomes[tenant.name]
        if outcome.value is None:
            plans.append(
                TenantPlan(
                    tenant=tenant.name,
                    vendor=tenant.vendor,
                    status="failed",
                    reason=str(outcome.error),
                    error_class=type(outcome.error).__name__,
                )
            )
            continue
        plan, found = outcome.value
        plans.append(plan)
        targets.extend(found)
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return BulkPlan(created_at=created, action=action, where=where, tenants=plans, targets=targets)


def plan_errors(plan: BulkPlan) -> list[str]:
    """The tenants that could not be read, as one line each."""
    return [f"{t.tenant}: {t.reason}" for t in plan.tenants if t.status == "failed"]


def _skipped(tenant: Tenant, reason: str, listed: int = 0) -> TenantPlan:
    return TenantPlan(
        tenant=tenant.name, vendor=tenant.vendor, status="skipped", reason=reason, listed=listed
    )


def _user_names(client: Client, ids: set[str]) -> dict[str, str]:
    """id -> name (or e-mail) of the users the targets belong to; none if it cannot tell."""
    if not ids or not client.supports(Capability.USERS_READ):
        return {}
    names: dict[str, str] = {}
    try:
        for user in client.users.list():
            if user.id in ids:
                names[user.id] = user.name or user.email or user.id
    except MDMError:
        return {}  # the plan still lists user ids; names are a courtesy
    return names
