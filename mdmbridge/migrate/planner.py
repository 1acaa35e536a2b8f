"""Build a migration plan from two snapshots. Reads only; writes nothing anywhere.

Matching (so nothing is created twice): a source record already mapped in the ledger
keeps that target record; otherwise groups match by path (names from the top, compared
case-insensitively), users by e-mail, then by account, devices by serial number, tags by
name. One match is reused (and updated where fields differ); several are reported as
ambiguous and skipped, never guessed, and so is everything that depends on them.

A record the ledger maps that has company in the target (a second user with its e-mail,
a second group with its path) is fine for planning, which keeps the ledger's record, but
it is a difference for ``verify``: :func:`check_plan` returns those duplicates too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mdmbridge.adapter import Writable
from mdmbridge.capabilities import Capability as C
from mdmbridge.migrate.model import Note, Plan, PlanOptions, Side, Step
from mdmbridge.migrate.snapshot import Snapshot, fold
from mdmbridge.models import App, Group, Record, TagLink, User

GROUP_FIELDS = (
    "number",
    "notes",
    "lost_mode_message",
    "lost_mode_phone_number",
    "lost_mode_footnote",
)
USER_FIELDS = (
    "name",
    "email",
    "phone",
    "account",
    "account_group",
    "company",
    "office",
    "department",
    "position",
)
TAG_FIELDS = ("description",)
_NONE = Writable(frozenset(), frozenset())


def make_plan(
    source: Snapshot,
    target: Snapshot,
    *,
    target_writable: Mapping[str, Writable],
    options: PlanOptions | None = None,
    ledger: Mapping[str, str] | None = None,
) -> Plan:
    return check_plan(
        source, target, target_writable=target_writable, options=options, ledger=ledger
    )[0]


def check_plan(
    source: Snapshot,
    target: Snapshot,
    *,
    target_writable: Mapping[str, Writable],
    options: PlanOptions | None = None,
    ledger: Mapping[str, str] | None = None,
) -> tuple[Plan, list[dict[str, Any]]]:
    """The plan, and the source records more than one target record matches although the
    ledger maps them to one (``ref``, ``kind``, ``reason``, ``fields``, ``target_ids``)."""
    planner = _Planner(
        source, target, target_writable, options or PlanOptions(), dict(ledger or {})
    )
    planner.groups()
    planner.tags()
    planner.users()
    planner.device_links()
    planner.tag_links()
    planner.apps()
    return planner.plan, planner.duplicates


class _Planner:
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

    # helpers -------------------------------------------------------------------------------

    def note(self, ref: str, kind: str, reason: str, fields: list[str] | None = None) -> None:
        self.plan.not_migrated.append(Note(ref=ref, kind=kind, reason=reason, fields=fields or []))

    def ambiguous(self, ref: str, kind: str, reason: str) -> None:
        self.plan.ambiguous.append(Note(ref=ref, kind=kind, reason=reason))

    def can(self, capability: C) -> bool:
        return capability in self.dst.capabilities

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
                if wanted is None or wanted != getattr(current, name):
                    changes[name] = value
            elif value != getattr(current, name):
                changes[name] = value
        return changes

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
        allowed = self.writable.get(f"{kind}s", _NONE)
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
            changes = self.differing(desired, existing, allowed.update)
            if changes:
                self.plan.steps.append(
                    Step(
                        id=f"{ref}#update",
                        ref=ref,
                        kind=kind,
                        action="update",
                        target_id=existing.id,
                        fields=changes,
                        depends_on=_refs(changes),
                        reason=f"differs in the target: {', '.join(sorted(changes))}",
                    )
                )
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

    # groups --------------------------------------------------------------------------------

    def groups(self) -> None:
        if not self.src.groups:
            return
        if not self.can(C.GROUPS_WRITE):
            for group in self.src.groups:
                self.note(f"group:{group.id}", "group", f"{self.dst.vendor} cannot create groups")
            return
        sep = self.options.group_separator
        split = not self.src.nested and self.dst.nested and bool(sep)
        paths = {g.id: self.src.names_path(g, sep, split_flat=split) for g in self.src.groups}
        nodes: dict[tuple[str, ...], tuple[str, Group | None, tuple[str, ...]]] = {}
        for group in sorted(self.src.groups, key=lambda g: len(paths[g.id])):
            path = paths[group.id]
            for depth in range(1, len(path)):  # tree levels only implied by flat names
                prefix = tuple(fold(p) for p in path[:depth])
                if prefix not in nodes:
                    nodes[prefix] = ("path:" + "/".join(path[:depth]), None, path[:depth])
            key = tuple(fold(p) for p in path)
            if key in nodes and nodes[key][1] is not None:
                ref = f"group:{group.id}"
                self.ambiguous(
                    ref,
                    "group",
                    f"two source groups have the path {'/'.join(path)!r} "
                    f"({nodes[key][0]} and {ref}); not guessing",
                )
                continue
            nodes[key] = (f"group:{group.id}", group, path)
        index = self.dst.index_groups(sep)
        by_id = {g.id: g for g in self.dst.groups}
        for key in sorted(nodes, key=len):
            ref, source_group, path = nodes[key]
            self.group(ref, source_group, path, nodes, index, by_id)

    def group(
        self,
        ref: str,
        group: Group | None,
        path: tuple[str, ...],
        nodes: Mapping[tuple[str, ...], tuple[str, Group | None, tuple[str, ...]]],
        index: Mapping[tuple[str, ...], list[Group]],
        by_id: Mapping[str, Group],
    ) -> None:
        sep = self.options.group_separator
        parent_ref = (
            nodes[tuple(fold(p) for p in path[:-1])][0]
            if len(path) > 1 and self.dst.nested
            else None
        )
        if parent_ref is not None and parent_ref not in self.resolved:
            self.note(ref, "group", f"its parent {parent_ref} was not migrated")
            return
        flat_name = sep.join(path) if sep else path[-1]
        name = path[-1] if self.dst.nested else flat_name
        create = self.writable.get("groups", _NONE).create
        desired: dict[str, Any] = {"name": name}
        if parent_ref is not None:
            desired["parent_id"] = {"$ref": parent_ref}
        dropped = []
        for field in GROUP_FIELDS:
            value = getattr(group, field) if group is not None else None
            if value:
                if field in create:
                    desired[field] = value
                else:
                    dropped.append(field)
        if dropped:
            self.note(
                ref, "group", f"{self.dst.vendor} groups cannot hold {', '.join(dropped)}", dropped
            )
        key = tuple(fold(p) for p in path) if self.dst.nested else (fold(flat_name),)
        what = f"the path {'/'.join(path)!r}" if self.dst.nested else f"the name {flat_name!r}"
        existing, skip = self.existing(
            ref, by_id, index.get(key, []), what, "group", "path" if self.dst.nested else "name"
        )
        if skip:
            return
        match = {"name": name, "parent": desired.get("parent_id")}
        self.settle(
            ref,
            "group",
            existing,
            desired,
            what,
            match,
            [parent_ref] if parent_ref else [],
        )

    # tags ----------------------------------------------------------------------------------

    def tags(self) -> None:
        if not self.src.tags:
            return
        if not self.can(C.TAGS_WRITE):
            links = _count_links(self.src)
            for tag in self.src.tags:
                count = links.get(tag.id, 0)
                self.note(
                    f"tag:{tag.id}",
                    "tag",
                    f"{self.dst.vendor} has no tags (tag {tag.name!r} and its {count} links)",
                )
            return
        by_name: dict[str, list[Any]] = {}
        for tag in self.dst.tags:
            by_name.setdefault(fold(tag.name), []).append(tag)
        by_id = {t.id: t for t in self.dst.tags}
        tag_names: dict[str, int] = {}
        for tag in self.src.tags:
            tag_names[fold(tag.name)] = tag_names.get(fold(tag.name), 0) + 1
        for tag in self.src.tags:
            ref = f"tag:{tag.id}"
            if tag_names[fold(tag.name)] > 1:
                self.ambiguous(
                    ref, "tag", f"the source has several tags named {tag.name!r}; not guessing"
                )
                continue
            desired: dict[str, Any] = {"name": tag.name}
            if tag.description:
                desired["description"] = tag.description
            if tag.group_id:
                group_ref = f"group:{tag.group_id}"
                if group_ref not in self.resolved:
                    self.note(
                        ref,
                        "tag",
                        f"its group {group_ref} was not migrated; the tag moves without it",
                        ["group_id"],
                    )
                else:
                    desired["group_id"] = {"$ref": group_ref}
            existing, skip = self.existing(
                ref, by_id, by_name.get(fold(tag.name), []), f"the name {tag.name!r}", "tag", "name"
            )
            if not skip:
                self.settle(
                    ref,
                    "tag",
                    existing,
                    desired,
                    f"the name {tag.name!r}",
                    {"name": tag.name},
                    _refs(desired),
                )

    # users ---------------------------------------------------------------------------------

    def users(self) -> None:
        if not self.src.users:
            return
        if not self.can(C.USERS_WRITE):
            for user in self.src.users:
                self.note(f"user:{user.id}", "user", f"{self.dst.vendor} cannot create users")
            return
        by_email, by_account = self.dst.index_users()
        by_id = {u.id: u for u in self.dst.users}
        holds_account = "account" in self.writable.get("users", _NONE).create
        duplicates = _duplicate_keys(self.src.users, holds_account)
        for user in self.src.users:
            key = _user_key(user, holds_account)
            if key is not None and key in duplicates:
                others = ", ".join(f"user:{u}" for u in duplicates[key] if u != user.id)
                self.ambiguous(
                    f"user:{user.id}",
                    "user",
                    f"the source has several users with the "
                    f"{key[0]} {key[1]!r} (also {others}); not guessing which one it is",
                )
                continue
            self.user(user, by_email, by_account, by_id, holds_account)

    def user(
        self,
        user: User,
        by_email: Mapping[str, list[User]],
        by_account: Mapping[str, list[User]],
        by_id: Mapping[str, User],
        holds_account: bool,
    ) -> None:
        ref = f"user:{user.id}"
        if not user.name:
            self.note(ref, "user", "the source user has no name, which the target requires")
            return
        create = self.writable.get("users", _NONE).create
        desired: dict[str, Any] = {}
        dropped = []
        for field in USER_FIELDS:
            value = getattr(user, field)
            if value:
                if field in create:
                    desired[field] = value
                else:
                    dropped.append(field)
        if user.group_id:
            group_ref = f"group:{user.group_id}"
            if group_ref not in self.resolved:
                self.note(
                    ref, "user", f"its group {group_ref} was not migrated (see above); user skipped"
                )
                return
            if "group_id" in create:
                desired["group_id"] = {"$ref": group_ref}
        if dropped:
            self.note(
                ref, "user", f"{self.dst.vendor} users cannot hold {', '.join(dropped)}", dropped
            )
        match: dict[str, Any]
        if user.email:
            candidates, what, match = (
                by_email.get(fold(user.email), []),
                f"the e-mail {user.email!r}",
                {"email": user.email},
            )
        elif user.account and holds_account:
            candidates, what, match = (
                by_account.get(fold(user.account), []),
                f"the account {user.account!r}",
                {"account": user.account},
            )
        else:
            candidates, what = [], ""
            match = {"name": user.name, "group": desired.get("group_id")}
        existing, skip = self.existing(ref, by_id, candidates, what, "user", next(iter(match), ""))
        if not skip:
            self.settle(ref, "user", existing, desired, what, match, _refs(desired))

    def apps(self) -> None:
        """Apps carry binaries, licences and store links no API here can move: say so, each."""
        for app in self.src.apps:
            self.note(f"app:{app.id}", "app", _app_note(app))

    # links ---------------------------------------------------------------------------------

    def device_links(self) -> None:
        owned = [d for d in self.src.devices if d.user_id]
        if not owned:
            return
        if not self.can(C.DEVICES_ASSIGN_USER):
            self.note(
                "devices",
                "device_user",
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
            ref = f"device:{device.id}"
            if serials.get(fold(device.serial_number), 0) > 1:
                self.ambiguous(
                    ref,
                    "device_user",
                    f"the source has several devices with the serial "
                    f"number {device.serial_number}; not guessing which user it belongs to",
                )
                continue
            user_ref = f"user:{device.user_id}"
            if user_ref not in self.resolved:
                self.note(ref, "device_user", f"its user {user_ref} was not migrated")
                continue
            target_device = self.target_device(ref, device.serial_number, by_serial, "device_user")
            if target_device is None:
                continue
            wanted = self.resolved[user_ref]
            if wanted is not None and target_device.user_id == wanted:
                continue
            self.plan.steps.append(
                Step(
                    id=f"{ref}#link",
                    ref=ref,
                    kind="device_user",
                    action="link",
                    target_id=target_device.id,
                    fields={"user_id": {"$ref": user_ref}},
                    depends_on=[user_ref],
                    reason=f"device {device.serial_number} is enrolled in the target: "
                    "link it to its user",
                )
            )

    def target_device(
        self, ref: str, serial: str | None, by_serial: Mapping[str, list[Any]], kind: str
    ) -> Any:
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

    def tag_links(self) -> None:
        kinds = (
            ("device_tag", C.DEVICE_TAGS, self.src.device_tags, self.dst.device_tags),
            ("user_tag", C.USER_TAGS, self.src.user_tags, self.dst.user_tags),
            ("group_tag", C.GROUP_TAGS, self.src.group_tags, self.dst.group_tags),
        )
        devices = {d.id: d for d in self.src.devices}
        by_serial = self.dst.index_devices()
        for kind, capability, links, existing_links in kinds:
            if not links:
                continue
            if not self.can(capability):
                if self.can(C.TAGS_WRITE) or not self.src.tags:
                    self.note(
                        f"{kind}s",
                        kind,
                        f"{len(links)} {kind} links: {self.dst.vendor} cannot link them",
                    )
                continue  # without tags at all, each tag's note already counts its links
            present = {(link.target_id, link.tag_id) for link in existing_links}
            for link in links:
                self.tag_link(kind, link, devices, by_serial, present)

    def tag_link(
        self,
        kind: str,
        link: TagLink,
        devices: Mapping[str, Any],
        by_serial: Mapping[str, list[Any]],
        present: set[tuple[str, str]],
    ) -> None:
        ref = f"{kind.replace('_', '')}:{link.id}"
        tag_ref = f"tag:{link.tag_id}"
        if tag_ref not in self.resolved:
            self.note(ref, kind, f"its tag {tag_ref} was not migrated")
            return
        target_ref: Any
        if kind == "device_tag":
            device = devices.get(link.target_id)
            found = self.target_device(
                ref, device.serial_number if device else link.target_label, by_serial, kind
            )
            if found is None:
                return
            target_ref, known = found.id, found.id
        elif kind == "group_tag" and link.target_id == "0":
            target_ref, known = "0", "0"  # "All"
        else:
            owner = f"{'user' if kind == 'user_tag' else 'group'}:{link.target_id}"
            if owner not in self.resolved:
                self.note(ref, kind, f"its {owner} was not migrated")
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
                kind=kind,
                action="link",
                fields=fields,
                depends_on=_refs(fields),
                reason="the link is not in the target",
            )
        )


def _app_note(app: App) -> str:
    return (
        f"apps are not migrated: add {app.name!r} ({app.package_id}) to the target's app "
        "catalogue, then install it there"
    )


def _user_key(user: User, holds_account: bool) -> tuple[str, str] | None:
    """What a user is matched on: e-mail, else account (where the target holds accounts)."""
    if user.email:
        return ("e-mail", fold(user.email))
    if user.account and holds_account:
        return ("account", fold(user.account))
    return None


def _duplicate_keys(users: list[User], holds_account: bool) -> dict[tuple[str, str], list[str]]:
    seen: dict[tuple[str, str], list[str]] = {}
    for user in users:
        key = _user_key(user, holds_account)
        if key is not None:
            seen.setdefault(key, []).append(user.id)
    return {key: ids for key, ids in seen.items() if len(ids) > 1}


def _refs(fields: Mapping[str, Any]) -> list[str]:
    return [v["$ref"] for v in fields.values() if isinstance(v, dict) and "$ref" in v]


def _count_links(snapshot: Snapshot) -> dict[str, int]:
    counts: dict[str, int] = {}
    for link in (*snapshot.device_tags, *snapshot.user_tags, *snapshot.group_tags):
        counts[link.tag_id] = counts.get(link.tag_id, 0) + 1
    return counts
