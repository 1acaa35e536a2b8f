"""Entra ID through Graph: ``/users``, ``/groups``, ``/groups/{id}/members`` and ``$ref``.

Create answers 201 with the new object; update answers 204 and merges only the properties
sent; delete answers 204. Messages are Graph's own where they are known (docs or observed
answers); the rest are marked **[sim decision]**.

Users are routed in ``users.py``, groups and members in ``groups.py``, and the rules both
follow (nicknames, passwords, error answers) are in ``directory_rules.py``.
"""

from __future__ import annotations

from .directory_rules import MAX_BINDS
from .groups import GroupRoutes
from .seed import group_nickname
from .users import UserRoutes

__all__ = ["MAX_BINDS", "DirectoryRoutes", "seeded_group"]


class DirectoryRoutes(UserRoutes, GroupRoutes):
    """Every directory route: users, groups and members."""


def seeded_group(
    sim: DirectoryRoutes, index: int, name: str, description: str | None, created: str
) -> str:
    group_id = sim.seeder.group_id(index)
    record = sim.new_group_record(
        group_id,
        display_name=name,
        description=description,
        nickname=group_nickname(name),
        created=created,
    )
    sim.groups.add(group_id, record)
    return group_id
