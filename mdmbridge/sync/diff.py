"""Applying one tenant's entity to the current state, writing only what changed.

What the database holds for the tenant is loaded as ``id -> (hash, removed?)`` pairs only
(a few MB at 100,000 devices); the new rows stream past it from the part files. A row
whose hash matches is not touched at all, so a run over unchanged data writes no entity
row; only changed rows have their stored values read back, to record each changed field.

The bulk paths (new rows, ``changes`` rows, updates, removals) go to the driver as plain
tuples in large batches (``exec_driver_sql``): SQLAlchemy's per-row parameter processing
was most of a first run's writing time, and these rows are already in the database's
terms (the export's normalised rows: text, numbers, booleans, JSON as text).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Table, select

from mdmbridge.sync import schema as s
from mdmbridge.sync.collect import HashedRow

CHUNK = 500  # ids per IN (...)
FLUSH = 5000  # rows per executemany of the bulk paths
ROWS_PER_STATEMENT = 100  # rows per INSERT ... VALUES (...), (...)
CHANGE_FIELDS = ("run_id", "tenant", "entity", "record_id", "kind", "field", "old", "new")
Change = tuple[int, str, str, str, str, str | None, str | None, str | None]


@dataclass
class Applied:
    """What one entity of one tenant wrote."""

    added: int = 0
    changed: int = 0
    restored: int = 0
    removed: int = 0
    change_rows: int = 0

    @property
    def written(self) -> int:
        """Entity rows inserted or updated."""
        return self.added + self.changed + self.restored + self.removed


def as_text(value: Any) -> str | None:
    """A value as the ``changes`` table holds it: text, booleans as true/false."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


class EntityApply:
    """One entity of one tenant inside the tenant's transaction."""

    def __init__(
        self, conn: Connection, *, run_id: int, run_time: str, tenant: str, entity: str
    ) -> None:
        self.conn = conn
        self.run_id = run_id
        self.run_time = run_time
        self.tenant = tenant
        self.entity = entity
        self.table: Table = s.entity_tables[entity]
        self.columns = s.data_columns(entity)
        self.at = self.columns.index("id")
        self.applied = Applied()
        t = self.table
        self.stored: dict[str, tuple[str, bool]] = {
            row[0]: (row[1], row[2] is not None)
            for row in conn.execute(
                select(t.c.id, t.c.sync_row_hash, t.c.sync_removed_run).where(t.c.tenant == tenant)
            )
        }
        self.seen: set[str] = set()
        self._changes: list[Change] = []
        self._inserts: list[tuple[Any, ...]] = []
        settable = [c for c in (*self.columns, *s.SYNC_COLUMNS) if c not in ("tenant", "id")]
        self._insert = BulkInsert(conn, t.name, (*self.columns, *s.SYNC_COLUMNS))
        self._insert_changes = BulkInsert(conn, s.changes.name, CHANGE_FIELDS)
        self._update_sql = _update_sql(conn, t.name, settable)
        self._remove_sql = _update_sql(conn, t.name, ("sync_removed_at", "sync_removed_run"))
        self._settable = [(*self.columns, *s.SYNC_COLUMNS).index(c) for c in settable]

    # ------------------------------------------------------------------ rows in

    def batch(self, batch: list[HashedRow]) -> None:
        differing: list[HashedRow] = []
        tail = (self.run_id, self.run_id, None, None)
        for digest, row in batch:
            record_id = row[self.at]
            self.seen.add(record_id)
            known = self.stored.get(record_id)
            if known is None:
                self._inserts.append((*row, *tail, digest))
                self._change(record_id, "added")
            elif known[0] != digest or known[1]:
                differing.append((digest, row))
        if differing:
            self._rewrite(differing)
        self._flush(FLUSH)

    def _rewrite(self, rows: list[HashedRow]) -> None:
        """Changed or restored rows: record each changed field, then update them."""
        t = self.table
        ids = [row[self.at] for _, row in rows]
        old_rows = {
            r.id: r
            for r in self.conn.execute(
                select(*(t.c[c] for c in self.columns), t.c.sync_first_run).where(
                    t.c.tenant == self.tenant, t.c.id.in_(ids)
                )
            )
        }
        updates: list[tuple[Any, ...]] = []
        for digest, row in rows:
            record_id = row[self.at]
            old = old_rows[record_id]
            if self.stored[record_id][1]:
                self._change(record_id, "restored")
                self.applied.restored += 1
            else:
                self.applied.changed += 1
            for name, new in zip(self.columns, row, strict=True):
                before, after = as_text(getattr(old, name)), as_text(new)
                if before != after:
                    self._change(record_id, "changed", name, before, after)
            values = (*row, old.sync_first_run, self.run_id, None, None, digest)
            updates.append((*(values[i] for i in self._settable), self.tenant, record_id))
        self.conn.exec_driver_sql(self._update_sql, updates)

    # ------------------------------------------------------------------ the end

    def finish(self) -> Applied:
        """Every record stored as present and not seen this run is now removed."""
        self._flush(1)
        gone = [
            record_id
            for record_id, (_, removed) in self.stored.items()
            if not removed and record_id not in self.seen
        ]
        for start in range(0, len(gone), FLUSH):
            chunk = gone[start : start + FLUSH]
            self.conn.exec_driver_sql(
                self._remove_sql,
                [(self.run_time, self.run_id, self.tenant, record_id) for record_id in chunk],
            )
            for record_id in chunk:
                self._change(record_id, "removed")
            self._flush(FLUSH)
        self.applied.removed += len(gone)
        self._flush(1)
        return self.applied

    # ------------------------------------------------------------------ changes

    def _change(
        self,
        record_id: str,
        kind: str,
        field: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> None:
        self._changes.append(
            (self.run_id, self.tenant, self.entity, record_id, kind, field, old, new)
        )

    def _flush(self, at_least: int) -> None:
        """New rows, then their ``changes`` rows, once either batch holds ``at_least``."""
        if len(self._inserts) >= at_least or len(self._changes) >= at_least:
            if self._inserts:
                self._insert(self._inserts)
                self.applied.added += len(self._inserts)
                self._inserts = []
            if self._changes:
                self._insert_changes(self._changes)
                self.applied.change_rows += len(self._changes)
                self._changes = []


def _marker(conn: Connection) -> str:
    """The driver's positional parameter: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


class BulkInsert:
    """``INSERT`` of many rows, up to ``ROWS_PER_STATEMENT`` in one statement: one round
    trip to PostgreSQL and one step of SQLite per hundred rows, not per row."""

    def __init__(self, conn: Connection, table: str, columns: Sequence[str]) -> None:
        self.conn = conn
        quote, mark = conn.dialect.identifier_preparer.quote, _marker(conn)
        self.head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "
        self.one = f"({', '.join([mark] * len(columns))})"
        self.per = max(1, min(ROWS_PER_STATEMENT, _max_parameters(conn) // len(columns)))
        self.full = self.head + ", ".join([self.one] * self.per)

    def __call__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        whole = len(rows) - len(rows) % self.per
        if whole:
            self.conn.exec_driver_sql(
                self.full,
                [
                    tuple(chain.from_iterable(rows[start : start + self.per]))
                    for start in range(0, whole, self.per)
                ],
            )
        rest = rows[whole:]
        if rest:
            sql = self.head + ", ".join([self.one] * len(rest))
            self.conn.exec_driver_sql(sql, tuple(chain.from_iterable(rest)))


def _max_parameters(conn: Connection) -> int:
    """Parameters one statement may hold: SQLite's limit was 999 before 3.32."""
    if conn.dialect.name == "sqlite":
        return 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    return 65535  # PostgreSQL's wire protocol


def _update_sql(conn: Connection, table: str, columns: Sequence[str]) -> str:
    """``UPDATE`` of ``columns`` by key: parameters are the columns' values, tenant, id."""
    quote, mark = conn.dialect.identifier_preparer.quote, _marker(conn)
    sets = ", ".join(f"{quote(c)} = {mark}" for c in columns)
    return f"UPDATE {quote(table)} SET {sets} WHERE tenant = {mark} AND id = {mark}"


def apply_entity(
    conn: Connection,
    batches: Iterable[list[HashedRow]],
    *,
    run_id: int,
    run_time: str,
    tenant: str,
    entity: str,
) -> Applied:
    """One entity of one tenant: the caller holds the tenant's transaction."""
    work = EntityApply(conn, run_id=run_id, run_time=run_time, tenant=tenant, entity=entity)
    for batch in batches:
        work.batch(batch)
    return work.finish()
