"""Where export rows go. Every sink writes to a staging path beside the output and moves
it into place only in :meth:`Sink.commit`, so the output appears complete or not at all,
and an interrupted export never leaves a half file over a good one.

A sink is filled incrementally: :meth:`Sink.prepare` with every entity of the export (so
empty tables and files exist too), then, per tenant, :meth:`Sink.begin`, :meth:`Sink.add`
once per entity, and :meth:`Sink.end`, while other tenants are still being read.
``end(keep=False)`` takes back every row the tenant added, so a tenant whose data cannot
be written (a value the format cannot hold) is left out whole and the others are kept.
Such data problems are raised from ``add`` as :class:`~mdmbridge.errors.MalformedResponse`
naming the entity and the record's id; anything else (a full disk) is not the tenant's
fault and ends the export.

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

from mdmbridge.errors import ConfigError, MalformedResponse, MDMError
from mdmbridge.export.schema import Column, EntitySpec, Row
from mdmbridge.redaction import redact_registered

FORMATS = ("csv", "jsonl", "json", "sqlite", "parquet")
BATCH = 2000


class Sink(Protocol):
    output: Path

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        """Called once, first, with every entity the export holds."""

    def begin(self) -> None:
        """The rows added from now until :meth:`end` are one tenant's."""

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        """Append rows (tuples in ``entity.columns`` order); returns how many. A row the
        format cannot hold raises ``MalformedResponse`` naming the entity and id."""

    def end(self, *, keep: bool) -> None:
        """Close the tenant opened by :meth:`begin`; ``keep=False`` removes its rows."""

    def commit(self) -> None:
        """Finish and move the output into place atomically."""

    def abort(self) -> None:
        """Remove the staging output; the previous output (if any) is untouched."""


def open_sink(format: str, output: str | Path) -> Sink:
    """The sink for ``format``, its staging output already created beside ``output``: an
    output that cannot be written is a ``ConfigError`` here, before anything is read."""
    path = Path(output).expanduser()
    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r} (choose from {', '.join(FORMATS)})")
    try:
        return _open_sink(format, path)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"--output {path}: cannot write there ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    """One line: the OS's words for an OSError (the staging file's name would only
    confuse), else the exception's text."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join((str(exc) or type(exc).__name__).split())


def _check_parent(path: Path) -> None:
    if path.parent.is_dir():
        return
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ConfigError(f"--output {path}: {ancestor} is a file, not a folder")
            break
    raise ConfigError(f"--output {path}: the folder {path.parent} does not exist")


def _open_sink(format: str, path: Path) -> Sink:
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
    _check_parent(path)
    if format == "jsonl":
        return JsonlSink(path)
    if format == "json":
        return JsonSink(path)
    return SqliteSink(path)


def _staging(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")


# What a value the format cannot hold raises while it is written (pyarrow's ArrowInvalid
# and ArrowTypeError are ValueError and TypeError); OSError is the disk, never the data.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # UnicodeEncodeError (a lone surrogate) among them
    TypeError,
    OverflowError,  # an integer beyond 64 bits in SQLite or Parquet
    sqlite3.InterfaceError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
)


def _refused(entity: EntitySpec, row: Row | None, format: str, exc: BaseException) -> MDMError:
    """One line naming the entity and the record's id (a repr: it may hold anything)."""
    names = [c.name for c in entity.columns]
    what = entity.name
    if row is not None and "id" in names and len(row) == len(names):
        what += f" {row[names.index('id')]!r}"
    reason = redact_registered(" ".join((str(exc) or type(exc).__name__).split()))
    return MalformedResponse(
        f"{what}: cannot be written to {format} ({type(exc).__name__}: {reason}); "
        "the tenant was left out of the export"
    )


class _Marks:
    """Positions in text files where the current tenant's rows begin, to cut them off."""

    def __init__(self) -> None:
        self._at: dict[int, tuple[IO[str], int]] = {}

    def take(self, handles: Iterable[IO[str]]) -> None:
        self._at = {id(h): (h, h.tell()) for h in handles}

    def rewind(self) -> None:
        for handle, position in self._at.values():
            handle.seek(position)
            handle.truncate()
        self._at = {}


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
        _check_parent(output)
        self.staging.mkdir()

    def _finish(self) -> None:
        if self.output.exists():
            # Keep any files the new export did not write (other entities of an older one):
            # linked or copied, never moved, so the old folder is whole until the swap.
            for old in self.output.iterdir():
                kept = self.staging / old.name
                if not kept.exists():
                    _link_or_copy(old, kept)
            previous = _staging(self.output)
            os.replace(self.output, previous)
            try:
                os.replace(self.staging, self.output)
            except OSError:
                os.replace(previous, self.output)  # put the old output back
                raise
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(self.staging, self.output)

    def _discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _link_or_copy(source: Path, destination: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, destination)
        return
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


class CsvSink(_DirectorySink):
    """UTF-8 with a byte-order mark, so spreadsheet programs show å/ä/ö correctly."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._files: dict[str, tuple[IO[str], Any]] = {}
        self._marks = _Marks()

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        for entity in entities:
            path = self.staging / f"{entity.name}.csv"
            handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in _close
            writer = csv.writer(handle)
            writer.writerow([c.name for c in entity.columns])
            self._files[entity.name] = (handle, writer)

    def begin(self) -> None:
        self._marks.take(handle for handle, _ in self._files.values())

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        _, writer = self._files[entity.name]
        count = 0
        for row in rows:
            try:
                writer.writerow(row)
            except _DATA_ERRORS as exc:
                raise _refused(entity, row, "csv", exc) from None
            count += 1
        return count

    def end(self, *, keep: bool) -> None:
        if not keep:
            self._marks.rewind()

    def _close(self) -> None:
        files = list(self._files.values())
        self._files.clear()
        errors = []
        for handle, _ in files:
            try:
                handle.close()
            except OSError as exc:  # close them all, then say what failed
                errors.append(exc)
        if errors:
            raise errors[0]

    def commit(self) -> None:
        self._close()
        self._finish()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._close()
        self._discard()


class JsonlSink(_FileSink):
    """One JSON object per line, each with its ``entity``; ``raw`` stays a nested object."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._handle = open(self.staging, "w", encoding="utf-8")  # noqa: SIM115 - closed in commit/abort
        self._marks = _Marks()

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        return None

    def begin(self) -> None:
        self._marks.take([self._handle])

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        names = ("entity", *(c.name for c in entity.columns))
        json_at = {i + 1 for i, c in enumerate(entity.columns) if c.kind == "json"}
        line = _json_line(names, json_at)
        count = 0
        for row in rows:
            try:
                self._handle.write(line((entity.name, *row)) + "\n")
            except _DATA_ERRORS as exc:
                raise _refused(entity, row, "jsonl", exc) from None
            count += 1
        return count

    def end(self, *, keep: bool) -> None:
        if not keep:
            self._marks.rewind()

    def commit(self) -> None:
        self._handle.close()
        self._finish()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
        self._discard()


class JsonSink(_FileSink):
    """``{"devices": [...], "users": [...]}``. Tenants arrive interleaved, so each entity is
    gathered in its own staging file and the document is stitched together at commit,
    streamed: never built in memory."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._parts: dict[str, tuple[Path, IO[str], list[int]]] = {}
        self.staging.touch()  # an output that cannot be written is found now, not at the end
        self._marks = _Marks()
        self._counts: dict[str, int] = {}

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        for entity in entities:
            path = self.staging.with_name(f"{self.staging.name}.{entity.name}")
            self._parts[entity.name] = (path, open(path, "w", encoding="utf-8"), [0])  # noqa: SIM115

    def begin(self) -> None:
        self._marks.take(handle for _, handle, _ in self._parts.values())
        self._counts = {name: written[0] for name, (_, _, written) in self._parts.items()}

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        _, handle, written = self._parts[entity.name]
        names = tuple(c.name for c in entity.columns)
        line = _json_line(names, {i for i, c in enumerate(entity.columns) if c.kind == "json"})
        count = 0
        for row in rows:
            try:
                handle.write(("\n  " if written[0] == 0 else ",\n  ") + line(row))
            except _DATA_ERRORS as exc:
                raise _refused(entity, row, "json", exc) from None
            written[0] += 1
            count += 1
        return count

    def end(self, *, keep: bool) -> None:
        if not keep:
            self._marks.rewind()
            for name, (_, _, written) in self._parts.items():
                written[0] = self._counts.get(name, 0)

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
            with contextlib.suppress(OSError):
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
        for batch in _batches(rows):  # rows hold raw as JSON text already; booleans store as 0/1
            try:
                self._db.executemany(insert, batch)
            except _DATA_ERRORS as exc:
                row, error = self._culprit(insert, batch, exc)
                raise _refused(entity, row, "sqlite", error) from None
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
                except _DATA_ERRORS as error:
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
        self._db.execute("COMMIT")
        self._db.close()
        self._finish()

    def abort(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._discard()


class ParquetSink(_DirectorySink):
    """One Parquet file per entity, written in row groups so memory stays flat.

    A row group cannot be taken back out of a Parquet file, so a tenant's rows are first
    converted into Arrow record batches spooled to disk (cheap: Arrow's own layout), and
    written into the Parquet files only once every entity of the tenant converted."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._writers: dict[str, Any] = {}
        self._spools: dict[str, Path] = {}

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        import pyarrow.parquet as pq

        for entity in entities:
            schema = _arrow_schema(entity.columns)
            self._writers[entity.name] = pq.ParquetWriter(
                self.staging / f"{entity.name}.parquet", schema
            )

    def begin(self) -> None:
        self._drop_spools()

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        import pyarrow as pa

        columns = entity.columns
        schema = _arrow_schema(columns)
        spool = self.staging / f".{entity.name}.spool-{uuid.uuid4().hex[:8]}.arrow"
        self._spools[entity.name] = spool
        count = 0
        with pa.OSFile(str(spool), "wb") as sink, pa.ipc.new_stream(sink, schema) as stream:
            for batch in _batches(rows, size=20_000):
                try:
                    arrays = [
                        pa.array([_parquet(v, c) for v in values], type=schema.field(c.name).type)
                        for c, values in zip(columns, zip(*batch, strict=True), strict=True)
                    ]
                except _DATA_ERRORS as exc:
                    row, error = _arrow_culprit(batch, columns, schema, exc)
                    raise _refused(entity, row, "parquet", error) from None
                stream.write_table(pa.Table.from_arrays(arrays, schema=schema))
                count += len(batch)
        return count

    def end(self, *, keep: bool) -> None:
        import pyarrow as pa

        if keep:
            for name, spool in self._spools.items():
                with pa.memory_map(str(spool)) as source:
                    for batch in pa.ipc.open_stream(source):
                        self._writers[name].write_batch(batch)
        self._drop_spools()

    def _drop_spools(self) -> None:
        for spool in self._spools.values():
            with contextlib.suppress(FileNotFoundError):
                spool.unlink()
        self._spools.clear()

    def _close(self) -> None:
        self._drop_spools()
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


def _arrow_culprit(
    batch: list[Row], columns: tuple[Column, ...], schema: Any, exc: BaseException
) -> tuple[Row | None, BaseException]:
    """The first row of a batch holding a value Arrow refuses."""
    import pyarrow as pa

    for row in batch:
        for value, column in zip(row, columns, strict=True):
            try:
                pa.array([_parquet(value, column)], type=schema.field(column.name).type)
            except _DATA_ERRORS as error:
                return row, error
    return None, exc


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
