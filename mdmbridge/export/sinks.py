"""Where export rows go. Every sink writes to a staging path beside the output and moves
it into place only in :meth:`Sink.commit`, so the output appears complete or not at all,
and an interrupted export never leaves a half file over a good one.

A sink is filled incrementally: :meth:`Sink.prepare` with every entity of the export (so
empty tables and files exist too), then :meth:`Sink.add` once per tenant and entity, in
any order, while other tenants are still being read.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from mdmbridge.errors import ConfigError
from mdmbridge.export.schema import Column, EntitySpec, Row

FORMATS = ("csv", "jsonl", "json", "sqlite", "parquet")
BATCH = 2000


class Sink(Protocol):
    output: Path

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        """Called once, first, with every entity the export holds."""

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        """Append rows (tuples in ``entity.columns`` order); returns how many."""

    def commit(self) -> None:
        """Finish and move the output into place atomically."""

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


def _json_line(names: tuple[str, ...], json_at: set[int]) -> Callable[[Row], str]:
    """Row -> one JSON object: plain columns encoded, JSON columns (``raw``, already compact
    JSON text, always the last columns) spliced in as they are, never decoded and encoded
    again."""
    first_json = len(names) - len(json_at)
    if json_at != set(range(first_json, len(names))) or first_json == 0:
        raise ValueError("JSON columns must be the last columns, after at least one other")
    plain = names[:first_json]
    tail = [(json.dumps(names[i]), i) for i in range(first_json, len(names))]

    def line(row: Row) -> str:
        head = json.dumps(dict(zip(plain, row[:first_json], strict=True)), ensure_ascii=False)
        extra = "".join(f", {key}: {'null' if row[i] is None else row[i]}" for key, i in tail)
        return head[:-1] + extra + "}"

    return line


class _FileSink:
    """A single-file output written to a staging file, then renamed over the output."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.staging = _staging(output)

    def _finish(self) -> None:
        os.replace(self.staging, self.output)

    def _discard(self) -> None:
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

    def _finish(self) -> None:
        if self.output.exists():
            # Keep any files the new export did not write (other entities of an older one).
            for old in self.output.iterdir():
                if not (self.staging / old.name).exists():
                    shutil.move(str(old), self.staging / old.name)
            previous = _staging(self.output)
            os.replace(self.output, previous)
            os.replace(self.staging, self.output)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(self.staging, self.output)

    def _discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


class CsvSink(_DirectorySink):
    """UTF-8 with a byte-order mark, so spreadsheet programs show å/ä/ö correctly."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._files: dict[str, tuple[IO[str], Any]] = {}

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        for entity in entities:
            path = self.staging / f"{entity.name}.csv"
            handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in _close
            writer = csv.writer(handle)
            writer.writerow([c.name for c in entity.columns])
            self._files[entity.name] = (handle, writer)

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        _, writer = self._files[entity.name]
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        return count

    def _close(self) -> None:
        for handle, _ in self._files.values():
            handle.close()
        self._files.clear()

    def commit(self) -> None:
        self._close()
        self._finish()

    def abort(self) -> None:
        self._close()
        self._discard()


class JsonlSink(_FileSink):
    """One JSON object per line, each with its ``entity``; ``raw`` stays a nested object."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._handle = open(self.staging, "w", encoding="utf-8")  # noqa: SIM115 - closed in commit/abort

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        return None

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        names = ("entity", *(c.name for c in entity.columns))
        json_at = {i + 1 for i, c in enumerate(entity.columns) if c.kind == "json"}
        line = _json_line(names, json_at)
        count = 0
        for row in rows:
            self._handle.write(line((entity.name, *row)))
            self._handle.write("\n")
            count += 1
        return count

    def commit(self) -> None:
        self._handle.close()
        self._finish()

    def abort(self) -> None:
        self._handle.close()
        self._discard()


class JsonSink(_FileSink):
    """``{"devices": [...], "users": [...]}``. Tenants arrive interleaved, so each entity is
    gathered in its own staging file and the document is stitched together at commit,
    streamed: never built in memory."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._parts: dict[str, tuple[Path, IO[str], list[int]]] = {}

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        for entity in entities:
            path = self.staging.with_name(f"{self.staging.name}.{entity.name}")
            self._parts[entity.name] = (path, open(path, "w", encoding="utf-8"), [0])  # noqa: SIM115

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        _, handle, written = self._parts[entity.name]
        names = tuple(c.name for c in entity.columns)
        line = _json_line(names, {i for i, c in enumerate(entity.columns) if c.kind == "json"})
        count = 0
        for row in rows:
            record = line(row)
            handle.write(("\n  " if written[0] == 0 else ",\n  ") + record)
            written[0] += 1
            count += 1
        return count

    def commit(self) -> None:
        with open(self.staging, "w", encoding="utf-8") as out:
            out.write("{")
            for number, (name, (path, handle, written)) in enumerate(self._parts.items()):
                handle.close()
                out.write(("" if number == 0 else ",\n") + json.dumps(name) + ": [")
                with open(path, encoding="utf-8") as part:
                    shutil.copyfileobj(part, out)
                out.write("\n]" if written[0] else "]")
            out.write("}\n")
        self._remove_parts()
        self._finish()

    def abort(self) -> None:
        self._remove_parts()
        self._discard()

    def _remove_parts(self) -> None:
        for path, handle, _ in self._parts.values():
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._parts.clear()


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
    indexes (built at commit, after the bulk inserts). Timestamps are ISO 8601 text, which
    SQLite's own date functions read; booleans are 0/1."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._db = sqlite3.connect(self.staging)
        # A staging file that is renamed only when complete needs no journal.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._entities: list[EntitySpec] = []

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        self._entities = list(entities)
        for entity in entities:
            definition = ", ".join(f'"{c.name}" {_SQL_TYPES[c.kind]}' for c in entity.columns)
            self._db.execute(f'CREATE TABLE "{entity.name}" ({definition})')

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        columns = entity.columns
        insert = f'INSERT INTO "{entity.name}" VALUES ({", ".join("?" for _ in columns)})'
        count = 0
        for batch in _batches(rows):  # rows hold raw as JSON text already; booleans store as 0/1
            self._db.executemany(insert, batch)
            count += len(batch)
        return count

    def commit(self) -> None:
        for entity in self._entities:
            table = entity.name
            self._db.execute(f'CREATE UNIQUE INDEX "{table}_tenant_id" ON "{table}" (tenant, id)')
            for index in entity.indexes:
                name = f"{table}_{'_'.join(index)}"
                self._db.execute(f'CREATE INDEX "{name}" ON "{table}" (tenant, {", ".join(index)})')
        self._db.commit()
        self._db.close()
        self._finish()

    def abort(self) -> None:
        self._db.close()
        self._discard()


class ParquetSink(_DirectorySink):
    """One Parquet file per entity, written in row groups so memory stays flat."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._writers: dict[str, Any] = {}

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        import pyarrow.parquet as pq

        for entity in entities:
            schema = _arrow_schema(entity.columns)
            self._writers[entity.name] = pq.ParquetWriter(
                self.staging / f"{entity.name}.parquet", schema
            )

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        import pyarrow as pa

        columns = entity.columns
        schema = _arrow_schema(columns)
        writer = self._writers[entity.name]
        count = 0
        for batch in _batches(rows, size=20_000):
            arrays = [
                pa.array([_parquet(value, c) for value in values], type=schema.field(c.name).type)
                for c, values in zip(columns, zip(*batch, strict=True), strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            count += len(batch)
        return count

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def commit(self) -> None:
        self._close()
        self._finish()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._close()
        self._discard()


def _arrow_schema(columns: tuple[Column, ...]) -> Any:
    import pyarrow as pa

    types = {
        "text": pa.string(),
        "integer": pa.int64(),
        "real": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "json": pa.string(),
    }
    return pa.schema([pa.field(c.name, types[c.kind]) for c in columns])


def _parquet(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind == "timestamp":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value


def _batches(rows: Iterable[Row], size: int = BATCH) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
