"""Reading a sync database back: what changed, and how each run went.

Readers never write (no schema creation, no lock), so ``mdmbridge changes`` and
``mdmbridge runs`` can run while a sync is writing.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from mdmbridge.entities import ENTITIES
from mdmbridge.models import Record
from mdmbridge.sync import schema as s
from mdmbridge.sync.store import Store
from mdmbridge.where import Where

CHANGE_COLUMNS = [
    "run_id",
    "at",
    "tenant",
    "entity",
    "record_id",
    "kind",
    "field",
    "old",
    "new",
]
RUN_COLUMNS = [
    "run_id",
    "started",
    "finished",
    "outcome",
    "mdmbridge_version",
    "tenant",
    "vendor",
    "status",
    "counts",
    "error",
]


@dataclass(frozen=True)
class ChangeQuery:
    since: datetime | None = None
    run: int | None = None
    tenants: Sequence[str] = ()  # names or globs over the tenants the database holds
    entities: Sequence[str] = ()
    where: Mapping[str, Where] | None = None  # entity -> the records whose changes to show


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def held_tenants(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(s.sync_tenants.c.tenant).distinct()).scalars())


def _tenant_names(store: Store, patterns: Sequence[str]) -> list[str]:
    held = held_tenants(store)
    return [name for name in held if any(fnmatch.fnmatchcase(name, p) for p in patterns)]


def changes(store: Store, query: ChangeQuery) -> Iterator[dict[str, Any]]:
    """Matching ``changes`` rows, newest first, streamed."""
    c, r = s.changes, s.sync_runs
    statement = (
        select(*(c.c[n] for n in CHANGE_COLUMNS if n != "at"), r.c.started.label("at"))
        .join(r, r.c.id == c.c.run_id)
        .order_by(c.c.id.desc())
    )
    if query.run is not None:
        statement = statement.where(c.c.run_id == query.run)
    if query.since is not None:
        statement = statement.where(r.c.started >= _iso(query.since))
    if query.tenants:
        statement = statement.where(c.c.tenant.in_(_tenant_names(store, query.tenants)))
    if query.entities:
        statement = statement.where(c.c.entity.in_(list(query.entities)))
    keep = _RecordFilter(store, query.where) if query.where else None
    with store.engine.connect() as conn:
        for row in conn.execution_options(stream_results=True).execute(statement):
            item = {name: getattr(row, name) for name in CHANGE_COLUMNS}
            if keep is None or keep(item):
                yield item


class _RecordFilter:
    """``--where`` over the record a change is about, as it stands in the current state
    (the fleet mini-language works on records, so the row is rebuilt as one)."""

    def __init__(self, store: Store, where: Mapping[str, Where]) -> None:
        self.store = store
        self.where = where
        self.cache: dict[tuple[str, str, str], bool] = {}

    def __call__(self, change: Mapping[str, Any]) -> bool:
        entity = change["entity"]
        if entity not in self.where:
            return False
        key = (change["tenant"], entity, change["record_id"])
        if key not in self.cache:
            record = self._record(*key)
            self.cache[key] = record is not None and self.where[entity](record)
        return self.cache[key]

    def _record(self, tenant: str, entity: str, record_id: str) -> Record | None:
        table = s.entity_tables[entity]
        columns = s.data_columns(entity)
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(*(table.c[n] for n in columns)).where(
                    and_(table.c.tenant == tenant, table.c.id == record_id)
                )
            ).first()
        if row is None:
            return None
        values = dict(zip(columns, row, strict=True))
        values["raw"] = json.loads(values["raw"]) if values["raw"] else {}
        return ENTITIES[entity].model.model_validate(values)


def runs(store: Store) -> Iterator[dict[str, Any]]:
    """One row per run and tenant, newest run first (a run with no tenant row yet: one row)."""
    r, t = s.sync_runs, s.sync_tenants
    statement = (
        select(
            r.c.id.label("run_id"),
            r.c.started,
            r.c.finished,
            r.c.outcome,
            r.c.mdmbridge_version,
            t.c.tenant,
            t.c.vendor,
            t.c.status,
            t.c.counts,
            t.c.error,
        )
        .outerjoin(t, t.c.run_id == r.c.id)
        .order_by(r.c.id.desc(), t.c.tenant)
    )
    with store.engine.connect() as conn:
        for row in conn.execute(statement):
            item = {name: getattr(row, name) for name in RUN_COLUMNS}
            item["counts"] = json.loads(item["counts"]) if item["counts"] else None
            yield item


def record_names(
    store: Store, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], str]:
    """``(tenant, entity, id) -> name`` for records whose entity has a name (ids are GUIDs;
    people read names). Removed records keep theirs: their row stays, marked removed."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for tenant, entity, record_id in keys:
        wanted.setdefault((tenant, entity), set()).add(record_id)
    found: dict[tuple[str, str, str], str] = {}
    with store.engine.connect() as conn:
        for (tenant, entity), ids in wanted.items():
            table = s.entity_tables.get(entity)
            if table is None or "name" not in table.c:
                continue
            listed = sorted(ids)
            for start in range(0, len(listed), 500):
                statement = select(table.c.id, table.c.name).where(
                    table.c.tenant == tenant, table.c.id.in_(listed[start : start + 500])
                )
                for record_id, name in conn.execute(statement):
                    if name:
                        found[(tenant, entity, record_id)] = name
    return found
