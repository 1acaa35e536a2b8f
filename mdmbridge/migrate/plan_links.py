"""Link steps: a device's user, and tags linked to devices, users and groups.

Devices are never created (they re-enrol); they are matched by serial number. Tag links
of every target go through one loop over the link kinds of :mod:`mdmbridge.migrate.kinds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mdmbridge.capabilities import Capability
from mdmbridge.migrate.kinds import KINDS, LINK_KINDS, StepKind
from mdmbridge.migrate.model import Step
from mdmbridge.migrate.plan_steps import PlanSteps, refs
from mdmbridge.migrate.snapshot import fold
from mdmbridge.models import Device, TagLink, TagTarget


class LinkSteps(PlanSteps):
    def device_links(self) -> None:
        kind = KINDS["device_user"]
        owned = [d for d in self.src.devices if d.user_id]
        if not owned:
            return
        if not self.can(kind.capability):
            self.note(
                "devices",
                kind.name,
                f"{len(owned)} device-to-user links: "
                f"{self.dst.vendor} cannot assign devices to users",
            )
            return
        by_serial = self.dst.index_devices()
        serials: dict[str, int] = {}
        for device in self.src.devices:
            if device.serial_number:
                serials[fold(device.serial_number)] = serials.get(fold(device.serial_number), 0) + 1
        for device in owned:
            ref = kind.ref_of(device.id)
            if serials.get(fold(device.serial_number), 0) > 1:
                self.ambiguous(
                    ref,
                    kind.name,
                    f"the source has several devices with the serial "
                    f"number {device.serial_number}; not guessing which user it belongs to",
                )
                continue
            user_ref = KINDS["user"].ref_of(str(device.user_id))
            if user_ref not in self.resolved:
                self.note(ref, kind.name, f"its user {user_ref} was not migrated")
                continue
            target_device = self.target_device(ref, device.serial_number, by_serial, kind.name)
            if target_device is None:
                continue
            wanted = self.resolved[user_ref]
            if wanted is not None and target_device.user_id == wanted:
                continue
            self.plan.steps.append(
                Step(
                    id=f"{ref}#link",
                    ref=ref,
                    kind=kind.name,
                    action="link",
                    target_id=target_device.id,
                    fields={"user_id": {"$ref": user_ref}},
                    depends_on=[user_ref],
                    reason=f"device {device.serial_number} is enrolled in the target: "
                    "link it to its user",
                )
            )

    def tag_links(self) -> None:
        devices = {d.id: d for d in self.src.devices}
        by_serial = self.dst.index_devices()
        for kind in LINK_KINDS:
            links: list[TagLink] = getattr(self.src, kind.entity.name)
            if not links:
                continue
            if not self.can(kind.capability):
                if self.can(Capability.TAGS_WRITE) or not self.src.tags:
                    self.note(
                        f"{kind.name}s",
                        kind.name,
                        f"{len(links)} {kind.name} links: {self.dst.vendor} cannot link them",
                    )
                continue  # without tags at all, each tag's note already counts its links
            there: list[TagLink] = getattr(self.dst, kind.entity.name)
            present = {(link.target_id, link.tag_id) for link in there}
            for link in links:
                self.tag_link(kind, link, devices, by_serial, present)

    def tag_link(
        self,
        kind: StepKind,
        link: TagLink,
        devices: Mapping[str, Device],
        by_serial: Mapping[str, list[Device]],
        present: set[tuple[str, str]],
    ) -> None:
        ref = kind.ref_of(link.id)
        tag_ref = KINDS["tag"].ref_of(link.tag_id)
        if tag_ref not in self.resolved:
            self.note(ref, kind.name, f"its tag {tag_ref} was not migrated")
            return
        target_ref: Any
        known: str | None
        if kind.target is TagTarget.DEVICE:  # devices are matched, never created
            device = devices.get(link.target_id)
            found = self.target_device(
                ref, device.serial_number if device else link.target_label, by_serial, kind.name
            )
            if found is None:
                return
            target_ref, known = found.id, found.id
        elif kind.target is TagTarget.GROUP and link.target_id == "0":
            target_ref, known = "0", "0"  # "All"
        else:
            assert kind.target is not None
            owner = KINDS[kind.target.value].ref_of(link.target_id)
            if owner not in self.resolved:
                self.note(ref, kind.name, f"its {owner} was not migrated")
                return
            target_ref, known = {"$ref": owner}, self.resolved[owner]
        tag_id = self.resolved[tag_ref]
        if known is not None and tag_id is not None and (known, tag_id) in present:
            return
        fields = {"target_id": target_ref, "tag_id": {"$ref": tag_ref}}
        self.plan.steps.append(
            Step(
                id=f"{ref}#link",
                ref=ref,
                kind=kind.name,
                action="link",
                fields=fields,
                depends_on=refs(fields),
                reason="the link is not in the target",
            )
        )
