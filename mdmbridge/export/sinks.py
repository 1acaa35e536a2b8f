"""Where export rows go. Every sink writes to a staging path beside the output and moves
it into place only in :meth:`Sink.commit`, so the output appears complete or not at all,
and an interrupted export never leaves a half file over a good one.

Formats holding one table per file (CSV, Parquet) take a directory and write
``<entity>.csv`` / ``<entity>.parquet`` in it; the others take a file.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from mdmbridge.errors import ConfigError
from mdmbridge.export.schema import Column, EntitySpec

FORMATS = ("csv", "jsonl", "json", "sqlite", "parquet")
BATCH = 2000


class Sink(Protocol):
    output: Path

    def write(self, entity: EntitySpec, rows: Iterable[dict[str, Any]]) -> int:
        """Write one entity's rows (all tenants); returns the number written."""

    def commit(self) -> None:
        """Move the finished output into place atomically."""

    def abort(self) -> None:
        """Remove the staging output; the previous output (if any) is untouched."""


def open_sink(format: str, output: str | Path) -> Sink:
    path = Path(output).expanduser()
    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r} (choose from {', '.join(FORMATS)})")
    if format in ("csv", "parquet"):
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"--output {path}: {format} writes one file per entity; give a directory"
            )
        if format == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ConfigError(
                    "parquet needs pyarrow: pip install 'mdmbridge[parquet]'"
                ) from None
            return ParquetSink(path)
        return CsvSink(path)
    if path.is_dir():
        raise ConfigError(f"--output {path} is a directory; {format} writes one file")
    if not path.parent.is_dir():
        raise ConfigError(f"--output {path}: the folder {path.parent} does not exist")
    if format == "jsonl":
        return JsonlSink(path)
    if format == "json":
        return JsonSink(path)
    return SqliteSink(path)


def _staging(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")


def _cell(value: Any, column: Column) -> Any:
    if column.kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


class _FileSink:
    """A single-file output written to a staging file, then renamed over the output."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.staging = _staging(output)

    def commit(self) -> None:
        os.replace(self.staging, self.output)

    def abort(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.staging.unlink()


class _DirectorySink:
    """A directory of files built under a staging name, then swapped in."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.staging = _staging(output)
        if not output.parent.is_dir():
            raise ConfigError(f"--output {output}: the folder {output.parent} does not exist")
        self.staging.mkdir()

    def commit(self) -> None:
        if self.output.exists():
            # Keep any files of ours the new export did not write (other entities).
            for old in self.output.iterdir():
                if not (self.staging / old.name).exists():
                    shutil.move(str(old), self.staging / old.name)
            previous = _staging(self.output)
            os.replace(self.output, previous)
            os.replace(self.staging, self.output)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(self.staging, self.output)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


class CsvSink(_DirectorySink):
    """UTF-8 with a byte-order mark, so spreadsheet programs show å/ä/ö correctly."""

    def write(self, entity: EntitySpec, rows: Iterable[dict[str, Any]]) -> int:
        columns = entity.columns
        count = 0
        with open(
            self.staging / f"{entity.name}.csv", "w", encoding="utf-8-sig", newline=""
        ) as handle:
            writer = csv.writer(handle)
            writer.writerow([c.name for c in columns])
            for row in rows:
                writer.writerow([_cell(row[c.name], c) for c in columns])
                count += 1
        return count


class JsonlSink(_FileSink):
    """One JSON object per line, each with its ``entity``; ``raw`` stays a nested object."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._handle = open(self.staging, "w", encoding="utf-8")  # noqa: SIM115 - closed in commit/abort

    def write(self, entity: EntitySpec, rows: Iterable[dict[str, Any]]) -> int:
        count = 0
        for row in rows:
            self._handle.write(json.dumps({"entity": entity.name, **row}, ensure_ascii=False))
            self._handle.write("\n")
            count += 1
        return count

    def commit(self) -> None:
        self._handle.close()
        super().commit()

    def abort(self) -> None:
        self._handle.close()
        super().abort()


class JsonSink(_FileSink):
    """``{"devices": [...], "users": [...]}``, streamed: never built in memory."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._handle = open(self.staging, "w", encoding="utf-8")  # noqa: SIM115 - closed in commit/abort
        self._handle.write("{")
        self._first_entity = True

    def write(self, entity: EntitySpec, rows: Iterable[dict[str, Any]]) -> int:
        self._handle.write(("" if self._first_entity else ",\n") + json.dumps(entity.name) + ": [")
        self._first_entity = False
        count = 0
        for row in rows:
            self._handle.write(
                ("\n  " if count == 0 else ",\n  ") + json.dumps(row, ensure_ascii=False)
            )
            count += 1
        self._handle.write("\n]" if count else "]")
        return count

    def commit(self) -> None:
        self._handle.write("}\n")
        self._handle.close()
        super().commit()

    def abort(self) -> None:
        self._handle.close()
        super().abort()


_SQL_TYPES = {
    "text": "TEXT",
    "integer": "INTEGER",
    "real": "REAL",
    "boolean": "INTEGER",
    "timestamp": "TEXT",
    "json": "TEXT",
}


class SqliteSink(_FileSink):
    """One table per entity, typed columns, ``UNIQUE(tenant, id)`` and the entity's lookup
    indexes. Timestamps are ISO 8601 text (SQLite's own date functions read them)."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._db = sqlite3.connect(self.staging)
        # A staging file that is renamed only when complete needs no journal.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")

    def write(self, entity: EntitySpec, rows: Iterable[dict[str, Any]]) -> int:
        columns = entity.columns
        table = entity.name
        definition = ", ".join(f'"{c.name}" {_SQL_TYPES[c.kind]}' for c in columns)
        self._db.execute(f'CREATE TABLE "{table}" ({definition})')
        insert = f'INSERT INTO "{table}" VALUES ({", ".join("?" for _ in columns)})'
        count = 0
        for batch in _batches(rows):
            self._db.executemany(insert, [[_sql(row[c.name], c) for c in columns] for row in batch])
            count += len(batch)
        self._db.execute(f'CREATE UNIQUE INDEX "{table}_tenant_id" ON "{table}" (tenant, id)')
        for index in entity.indexes:
            name = f"{table}_{'_'.join(index)}"
            self._db.execute(f'CREATE INDEX "{name}" ON "{table}" (tenant, {", ".join(index)})')
        self._db.commit()
        return count

    def commit(self) -> None:
        self._db.commit()
        self._db.close()
        super().commit()

    def abort(self) -> None:
        self._db.close()
        super().abort()


def _sql(value: Any, column: Column) -> Any:
    if column.kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if column.kind == "boolean" and value is not None:
        return int(value)
    return value


class ParquetSink(_DirectorySink):
    """One Parquet file per entity, written in row groups so memory stays flat."""

    def write(self, entity: EntitySpec, rows: Iterable[dict[str, Any]]) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {
            "text": pa.string(),
            "integer": pa.int64(),
            "real": pa.float64(),
            "boolean": pa.bool_(),
            "timestamp": pa.timestamp("us", tz="UTC"),
            "json": pa.string(),
        }
        columns = entity.columns
        schema = pa.schema([pa.field(c.name, types[c.kind]) for c in columns])
        count = 0
        with pq.ParquetWriter(self.staging / f"{entity.name}.parquet", schema) as writer:
            for batch in _batches(rows, size=20_000):
                arrays = [
                    pa.array([_parquet(row[c.name], c) for row in batch], type=types[c.kind])
                    for c in columns
                ]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                count += len(batch)
        return count


def _parquet(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if column.kind == "timestamp":
        from datetime import datetime

        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value


def _batches(rows: Iterable[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
