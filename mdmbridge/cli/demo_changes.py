"""The demo's day between two syncs: a few ordinary admin writes to its simulated tenants.

They go through the normal client, as a person's would, so the second sync has something
real to find and the audit log shows who did what. Each write is audited to the demo's own
log (never the user's), and each picks its record from what the tenant lists, so the writes
work at every ``--scale``. A tenant's vendor decides what it can do: DuoSTATION reassigns
devices, adds users and offboards one; ezmdm also renames devices; Intune (no device writes here)
updates a user. No vendor deletes devices through its API, so "gone" is shown with a user.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mdmbridge import audit
from mdmbridge.audit import AuditLog, AuditTarget
from mdmbridge.capabilities import Capability
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.models import Device, User

REASSIGNED = 3  # devices of acme-duo given to another user
SAMPLE = 50  # records read per tenant to choose the writes from


@dataclass
class Day:
    """One tenant's listing, read once, and where its writes are audited."""

    client: Client
    log: AuditLog
    devices: list[Device]
    users: list[User]
    writes: int = 0

    def audited(self, action: str, target: AuditTarget, params: dict[str, str]) -> audit.Pending:
        self.writes += 1
        return audit.audited(
            self.log,
            tenant=self.client.tenant,
            vendor=self.client.vendor,
            action=action,
            target=target,
            params=params,
        )

    # ------------------------------------------------------------------ writes

    def reassign(self, count: int) -> None:
        """Devices change hands: the first ``count`` owned devices go to another user."""
        owned = [d for d in self.devices if d.user_id is not None][:count]
        for number, device in enumerate(owned):
            others = [u for u in self.users if u.id != device.user_id]
            if not others:
                return
            owner = others[(number * 7) % len(others)]
            target = _device(device)
            with self.audited("device.assign-user", target, {"user_id": owner.id}):
                self.client.devices.assign_user(device.id, owner.id)

    def rename(self, name: str) -> None:
        if not self.devices:
            return
        device = self.devices[-1]  # not one that ``reassign`` picks first
        with self.audited("device.rename", _device(device), {"name": name}) as pending:
            renamed = self.client.devices.rename(device.id, name)
            pending.target = _device(renamed)

    def add_user(self, name: str, email: str) -> None:
        target = AuditTarget("user", None, name)
        with self.audited("user.create", target, {"name": name, "email": email}) as pending:
            added = self.client.users.create(name=name, email=email)
            pending.target = AuditTarget("user", added.id, added.name)

    def offboard(self) -> None:
        """A user who left: their devices go to a colleague, then their account goes (the
        vendor refuses to delete a user who still has devices)."""
        owners = {d.user_id for d in self.devices}
        leaver = next((u for u in reversed(self.users) if u.id in owners), None)
        colleague = next((u for u in self.users if leaver is not None and u.id != leaver.id), None)
        if leaver is None or colleague is None:
            return
        for device in list(self.client.devices.list(user_id=leaver.id)):
            params = {"user_id": colleague.id}
            with self.audited("device.assign-user", _device(device), params):
                self.client.devices.assign_user(device.id, colleague.id)
        with self.audited("user.delete", AuditTarget("user", leaver.id, leaver.name), {}):
            self.client.users.delete(leaver.id)

    def move_department(self, department: str) -> None:
        if not self.users:
            return
        user = self.users[0]
        target = AuditTarget("user", user.id, user.name)
        with self.audited("user.update", target, {"department": department}):
            self.client.users.update(user.id, department=department)


def _device(device: Device) -> AuditTarget:
    return AuditTarget("device", device.id, device.name, device.serial_number)


def _acme_duo(day: Day) -> None:
    day.reassign(REASSIGNED)
    day.add_user("Nia Nykomling", "nia.nykomling@acme.example")


def _acme_ez(day: Day) -> None:
    day.rename("Reception iPad (Åsa)")
    day.reassign(1)


# What each demo tenant does (DEMO_FLEET's names).
_PLANS: dict[str, Callable[[Day], None]] = {
    "acme-duo": _acme_duo,
    "nordic-duo": Day.offboard,
    "acme-ez": _acme_ez,
    "acme-m365": lambda day: day.move_department("Customer Success"),
}

# The capabilities each plan needs: a plan whose vendor lacks one is skipped, not failed.
_NEEDS = {
    "acme-duo": (Capability.DEVICES_ASSIGN_USER, Capability.USERS_WRITE),
    "nordic-duo": (Capability.DEVICES_ASSIGN_USER, Capability.USERS_DELETE),
    "acme-ez": (Capability.DEVICES_RENAME, Capability.DEVICES_ASSIGN_USER),
    "acme-m365": (Capability.USERS_WRITE,),
}


def make_changes(tenants: Sequence[Tenant], log: AuditLog) -> int:
    """Every demo tenant's writes, audited to ``log``; returns how many were sent."""
    writes = 0
    for tenant in tenants:
        plan = _PLANS.get(tenant.name)
        if plan is None:
            continue
        with tenant.connect() as client:
            if not all(client.supports(c) for c in _NEEDS[tenant.name]):
                continue
            # The first records listed are enough to choose from (paging is lazy).
            devices = list(itertools.islice(client.devices.list(), SAMPLE))
            day = Day(client, log, devices, list(itertools.islice(client.users.list(), SAMPLE)))
            plan(day)
            writes += day.writes
    return writes
