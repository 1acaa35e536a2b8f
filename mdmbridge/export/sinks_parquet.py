"""The Parquet sinks: one file per entity in a directory, or one entity's file. pyarrow is
optional (``mdmbridge[parquet]``), so it is imported only inside the functions that use it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mdmbridge.export.schema import Column, EntitySpec, Row
from mdmbridge.export.sinks_rows import DATA_ERRORS, batches, refused
from mdmbridge.export.sinks_staging import DirectorySink, FileSink


class _ParquetTables:
    """Parquet files written in row groups so memory stays flat; the layouts differ only
    in where an entity's file and its spool go (:meth:`_file_for`, :meth:`_spool_for`).

    A row group cannot be taken back out of a Parquet file, so a tenant's rows are first
    converted into Arrow record batches spooled to disk (cheap: Arrow's own layout), and
    written into the Parquet files only once every entity of the tenant converted."""

    staging: Path
    if TYPE_CHECKING:  # from the layout's base class (DirectorySink or FileSink)

        def _finish(self) -> None: ...
        def _discard(self) -> None: ...

    def __init__(self, output: Path) -> None:
        super().__init__(output)  # type: ignore[call-arg]  # the layout's base class
        self._writers: dict[str, Any] = {}
        self._spools: dict[str, Path] = {}

    def _file_for(self, entity: EntitySpec) -> Path:
        raise NotImplementedError

    def _spool_for(self, entity: EntitySpec) -> Path:
        raise NotImplementedError

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        import pyarrow.parquet as pq

        for entity in entities:
            schema = _arrow_schema(entity.columns)
            self._writers[entity.name] = pq.ParquetWriter(self._file_for(entity), schema)

    def begin(self) -> None:
        self._drop_spools()

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        import pyarrow as pa

        columns = entity.columns
        schema = _arrow_schema(columns)
        spool = self._spool_for(entity)
        self._spools[entity.name] = spool
        count = 0
        with pa.OSFile(str(spool), "wb") as sink, pa.ipc.new_stream(sink, schema) as stream:
            for batch in batches(rows, size=20_000):
                try:
                    arrays = [
                        pa.array([_parquet(v, c) for v in values], type=schema.field(c.name).type)
                        for c, values in zip(columns, zip(*batch, strict=True), strict=True)
                    ]
                except DATA_ERRORS as exc:
                    row, error = _arrow_culprit(batch, columns, schema, exc)
                    raise refused(entity, row, "parquet", error) from None
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


class ParquetSink(_ParquetTables, DirectorySink):
    """One ``<entity>.parquet`` per entity, in a directory."""

    format = "parquet"

    def _file_for(self, entity: EntitySpec) -> Path:
        return self.staging / f"{entity.name}.parquet"

    def _spool_for(self, entity: EntitySpec) -> Path:
        return self.staging / f".{entity.name}.spool-{uuid.uuid4().hex[:8]}.arrow"


class ParquetFileSink(_ParquetTables, FileSink):
    """One entity's Parquet as one file (``-o devices.parquet``)."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self.staging.touch()  # an output that cannot be written is found now, not at the end

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        if len(entities) != 1:
            raise ValueError(f"one parquet file holds one entity, not {len(entities)}")
        super().prepare(entities)

    def _file_for(self, entity: EntitySpec) -> Path:
        return self.staging

    def _spool_for(self, entity: EntitySpec) -> Path:
        return self.staging.with_name(f"{self.staging.name}.spool-{uuid.uuid4().hex[:8]}")


def _arrow_schema(columns: tuple[Column, ...]) -> Any:
    """The Arrow schema of an entity's columns."""
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
            except DATA_ERRORS as error:
                return row, error
    return None, exc


def _parquet(value: Any, column: Column) -> Any:
    """A value as Arrow takes it: timestamps (ISO 8601 text) become datetimes."""
    if value is None:
        return None
    if column.kind == "timestamp":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value
