"""Build a migration plan from two snapshots. Reads only; writes nothing anywhere.

Matching (so nothing is created twice): a source record already mapped in the ledger
keeps that target record; otherwise groups match by path (names from the top, compared
case-insensitively), users by e-mail, then by account, devices by serial number, tags by
name. One match is reused (and updated where fields differ); several are reported as
ambiguous and skipped, never guessed, and so is everything that depends on them.

What moves with each record is data: every field the registry lets the client create,
as far as the target's adapter can hold it (``copy``); the rest is noted as not migrated.

A record the ledger maps that has company in the target (a second user with its e-mail,
a second group with its path) is fine for planning, which keeps the ledger's record, but
it is a difference for ``verify``: :func:`check_plan` returns those duplicates too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mdmbridge.adapter import Writable
from mdmbridge.capabilities import Capability as C
from mdmbridge.migrate.model import Plan, PlanOptions
from mdmbridge.migrate.plan_links import LinkSteps
from mdmbridge.migrate.plan_steps import refs
from mdmbridge.migrate.snapshot import Snapshot, fold
from mdmbridge.models import App, Group, User


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


class _Planner(LinkSteps):
    # A source with many groups per user (see one_group): group ref -> sort key, and name.
    group_rank: dict[str, tuple[int, int]]
    group_names: dict[str, str]

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
        desired: dict[str, Any] = {"name": name}
        if parent_ref is not None:
            desired["parent_id"] = {"$ref": parent_ref}
        desired |= self.copy(ref, "group", group, besides=("name",))  # the name is the path's
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
            desired |= self.copy(ref, "tag", tag, besides=("name",))
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
                    refs(desired),
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
        if self.src.memberships is not None:  # for one_group: most specific, then plan order
            sep = self.options.group_separator
            depth = {
                f"group:{g.id}": len(self.src.names_path(g, sep, split_flat=bool(sep)))
                for g in self.src.groups
            }
            self.group_rank = {
                ref: (-depth.get(ref, 1), order) for order, ref in enumerate(self.resolved)
            }
            self.group_names = {f"group:{g.id}": repr(g.name) for g in self.src.groups}
        holds_account = "account" in self.holds("user").create
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
        if self.src.memberships is not None:
            group_ref = self.one_group(ref, self.src.memberships.get(user.id, []))
        else:
            group_ref = f"group:{user.group_id}" if user.group_id else None
            if group_ref is not None and group_ref not in self.resolved:
                self.note(
                    ref, "user", f"its group {group_ref} was not migrated (see above); user skipped"
                )
                return
        desired = self.copy(ref, "user", user)
        if group_ref is not None and "group_id" in self.holds("user").create:
            desired["group_id"] = {"$ref": group_ref}
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
            self.settle(ref, "user", existing, desired, what, match, refs(desired))

    def one_group(self, ref: str, group_ids: list[str]) -> str | None:
        """A source whose users are in many groups: the one group the user moves into. Of
        its migrated groups, the most specific (most names in its path, by the group
        separator), then the first in the plan; the others are noted. None: no group."""
        groups = [f"group:{g}" for g in group_ids]
        migrated = [g for g in groups if g in self.resolved]
        if not migrated:
            if groups:
                self.note(
                    ref,
                    "user",
                    f"none of its groups ({', '.join(groups)}) was migrated; "
                    "the user moves without a group",
                    ["group_id"],
                )
            return None
        chosen = min(migrated, key=self.group_rank.__getitem__)
        others = [g for g in migrated if g != chosen]
        if others:
            names = self.group_names
            holds = (
                "a migration moves each user into one group"
                if self.dst.memberships is not None
                else "the target holds one group per user"
            )
            self.note(
                ref,
                "user",
                f"{holds}: into {names[chosen]} ({chosen}); also a member of "
                + ", ".join(names[g] for g in others),
                ["group_id"],
            )
        return chosen

    def apps(self) -> None:
        """Apps carry binaries, licences and store links no API here can move: say so, each."""
        for app in self.src.apps:
            self.note(f"app:{app.id}", "app", _app_note(app))


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


def _count_links(snapshot: Snapshot) -> dict[str, int]:
    counts: dict[str, int] = {}
    for link in (*snapshot.device_tags, *snapshot.user_tags, *snapshot.group_tags):
        counts[link.tag_id] = counts.get(link.tag_id, 0) + 1
    return counts
