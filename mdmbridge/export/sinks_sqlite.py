"""The SQLite sink: one database file, one typed table per entity, and the run's manifest
in the table ``_export``."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mdmbridge.export.manifest import MANIFEST_ENTITY as MANIFEST_TABLE
from mdmbridge.export.schema import EntitySpec, Row
from mdmbridge.export.sinks_rows import DATA_ERRORS, batches, refused
from mdmbridge.export.sinks_staging import FileSink

SQLITE_DATA_ERRORS: tuple[type[BaseException], ...] = (
    *DATA_ERRORS,
    sqlite3.InterfaceError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
)

_SQL_TYPES = {
    "text": "TEXT",
    "integer": "INTEGER",
    "real": "REAL",
    "boolean": "INTEGER",
    "timestamp": "TEXT",
    "json": "TEXT",
}


class SqliteSink(FileSink):
    """One table per entity, typed columns, ``UNIQUE(tenant, id)`` and the entity's lookup
    indexes (built at commit, after the bulk inserts). Timestamps are ISO 8601 text, which
    SQLite's own date functions read; booleans are 0/1.

    The whole export is one transaction; each tenant is a savepoint inside it, rolled back
    when the tenant is left out. (The runner refuses a tenant whose ids repeat before its
    rows get here, so the unique index built at the end always holds.)"""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        # Autocommit mode: the transaction and the savepoints are ours, not the module's.
        self._db = sqlite3.connect(self.staging, isolation_level=None)
        try:
            # A staging file renamed only when complete needs no journal on disk; the one
            # in memory is what rolling a tenant back needs (new pages are never journalled).
            self._db.execute("PRAGMA journal_mode = MEMORY")
            self._db.execute("PRAGMA synchronous = OFF")
            self._db.execute("BEGIN")
        except BaseException:
            self._db.close()
            raise
        self._entities: list[EntitySpec] = []

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        self._entities = list(entities)
        for entity in entities:
            definition = ", ".join(f'"{c.name}" {_SQL_TYPES[c.kind]}' for c in entity.columns)
            self._db.execute(f'CREATE TABLE "{entity.name}" ({definition})')

    def begin(self) -> None:
        self._db.execute("SAVEPOINT tenant")

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        columns = entity.columns
        insert = f'INSERT INTO "{entity.name}" VALUES ({", ".join("?" for _ in columns)})'
        count = 0
        for batch in batches(rows):  # rows hold raw as JSON text already; booleans store as 0/1
            try:
                self._db.executemany(insert, batch)
            except SQLITE_DATA_ERRORS as exc:
                row, error = self._culprit(insert, batch, exc)
                raise refused(entity, row, "sqlite", error) from None
            count += len(batch)
        return count

    def _culprit(
        self, insert: str, batch: list[Row], exc: BaseException
    ) -> tuple[Row | None, BaseException]:
        """The row of a failed batch that SQLite refuses (tried alone, then taken back)."""
        self._db.execute("SAVEPOINT probe")
        try:
            for row in batch:
                try:
                    self._db.execute(insert, row)
                except SQLITE_DATA_ERRORS as error:
                    return row, error
            return None, exc
        finally:
            self._db.execute("ROLLBACK TO probe")
            self._db.execute("RELEASE probe")

    def end(self, *, keep: bool) -> None:
        if not keep:
            self._db.execute("ROLLBACK TO tenant")
        self._db.execute("RELEASE tenant")

    def commit(self) -> None:
        for entity in self._entities:
            table = entity.name
            self._db.execute(f'CREATE UNIQUE INDEX "{table}_tenant_id" ON "{table}" (tenant, id)')
            for index in entity.indexes:
                name = f"{table}_{'_'.join(index)}"
                self._db.execute(f'CREATE INDEX "{name}" ON "{table}" (tenant, {", ".join(index)})')
        if self.manifest is not None:
            self._write_manifest(self.manifest)
        self._db.execute("COMMIT")
        self._db.close()
        self._finish()

    def _write_manifest(self, manifest: Mapping[str, Any]) -> None:
        """``_export``: one row per manifest key, its value as JSON text, so SQLite's own
        JSON functions read it (``SELECT value FROM _export WHERE key = 'tenants'``)."""
        self._db.execute(f'CREATE TABLE "{MANIFEST_TABLE}" (key TEXT PRIMARY KEY, value TEXT)')
        self._db.executemany(
            f'INSERT INTO "{MANIFEST_TABLE}" VALUES (?, ?)',
            [(key, json.dumps(value, ensure_ascii=False)) for key, value in manifest.items()],
        )

    def abort(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._discard()
