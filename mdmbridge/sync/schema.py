"""The sync database's tables, as SQLAlchemy Core, one ``MetaData`` for SQLite and PostgreSQL.

Everything a sync writes is here, so the store, the ``changes``/``runs`` commands and the
HTML report read one declaration. The per-entity current-state tables come from the entity
registry (:mod:`mdmbridge.entities`), with the export's columns and types, so an entity
added there is synced with no edit here.

Naming decision (fixed): the device model has its own ``last_seen`` (the device's last
check-in), so the sync's bookkeeping columns carry a ``sync_`` prefix:

- ``sync_first_run``: id of the run that first saw the record;
- ``sync_last_run``: id of the last run that saw it;
- ``sync_removed_at``: UTC ISO time of the run that found it gone (NULL while present);
- ``sync_removed_run``: id of that run;
- ``sync_row_hash``: hash of the normalised row, so unchanged records are not rewritten.

Every time is UTC ISO-8601 text ending in ``Z``, in both databases (one code path; text
sorts in time order). JSON columns hold compact JSON text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from mdmbridge.entities import ENTITIES, ColumnKind, Entity

SCHEMA_VERSION = 1  # bump with a migration step in mdmbridge/sync/store.py

RUN_OUTCOMES = ("running", "ok", "partial", "failed", "interrupted")
TENANT_STATUSES = ("ok", "failed", "skipped")
CHANGE_KINDS = ("added", "changed", "removed", "restored")

SYNC_COLUMNS = (
    "sync_first_run",
    "sync_last_run",
    "sync_removed_at",
    "sync_removed_run",
    "sync_row_hash",
)

metadata = MetaData()

sync_schema = Table(
    "sync_schema",
    metadata,
    Column("version", Integer, nullable=False),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started", Text, nullable=False),
    Column("finished", Text, nullable=True),
    Column("mdmbridge_version", Text, nullable=False),
    Column("tenants", Text, nullable=False),  # JSON list of the selected tenant names
    Column("entities", Text, nullable=False),  # JSON list of entity names
    Column("outcome", Text, nullable=False),  # RUN_OUTCOMES
)

sync_tenants = Table(
    "sync_tenants",
    metadata,
    Column("run_id", Integer, ForeignKey("sync_runs.id"), nullable=False),
    Column("tenant", Text, nullable=False),
    Column("vendor", Text, nullable=False),
    Column("status", Text, nullable=False),  # TENANT_STATUSES
    Column("error", Text, nullable=True),
    Column("counts", Text, nullable=False),  # JSON {entity: rows}
    Column("vendor_totals", Text, nullable=True),  # JSON {entity: total}, where the vendor says
    Column("started", Text, nullable=False),
    Column("finished", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "tenant"),
)

changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("sync_runs.id"), nullable=False),
    Column("tenant", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("record_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # CHANGE_KINDS
    Column("field", Text, nullable=True),  # NULL for added/removed/restored
    Column("old", Text, nullable=True),
    Column("new", Text, nullable=True),
    Index("changes_run", "run_id"),
    Index("changes_record", "tenant", "entity", "record_id"),
)

# The export's SQL types (mdmbridge/export/sinks_sqlite.py), portable: integers are 64-bit
# (app sizes in bytes pass 2**31), booleans are BOOLEAN in PostgreSQL and 0/1 in SQLite.
_SQL_TYPES: dict[ColumnKind, type[TypeEngine[Any]]] = {
    "text": Text,
    "integer": BigInteger,
    "real": Float,
    "boolean": Boolean,
    "timestamp": Text,
    "json": Text,
}


def _entity_table(entity: Entity) -> Table:
    columns = [
        Column(c.name, _SQL_TYPES[c.kind](), nullable=c.name not in ("tenant", "id"))
        for c in entity.columns
    ]
    table = Table(
        entity.name,
        metadata,
        *columns,
        Column("sync_first_run", Integer, nullable=False),
        Column("sync_last_run", Integer, nullable=False),
        Column("sync_removed_at", Text, nullable=True),
        Column("sync_removed_run", Integer, nullable=True),
        Column("sync_row_hash", Text, nullable=False),
        PrimaryKeyConstraint("tenant", "id"),
    )
    for index in entity.indexes:
        Index(f"{entity.name}_{'_'.join(index)}", table.c.tenant, *(table.c[n] for n in index))
    return table


# Entity name -> its current-state table, in the registry's order.
entity_tables: dict[str, Table] = {name: _entity_table(e) for name, e in ENTITIES.items()}


def data_columns(entity: str) -> tuple[str, ...]:
    """The export's columns of an entity's table (those a sync compares), in order."""
    return tuple(c.name for c in ENTITIES[entity].columns)


__all__ = [
    "CHANGE_KINDS",
    "RUN_OUTCOMES",
    "SCHEMA_VERSION",
    "SYNC_COLUMNS",
    "TENANT_STATUSES",
    "changes",
    "data_columns",
    "entity_tables",
    "metadata",
    "sync_runs",
    "sync_schema",
    "sync_tenants",
]
