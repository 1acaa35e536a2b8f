"""The text sinks: CSV (one file per entity in a directory, or one entity's file), JSON
Lines and JSON (one file); the single-file ones also write to stdout. A tenant left out is
cut off the files at the positions marked when it began.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

import msgspec

from mdmbridge.export.json_rows import JSON_DATA_ERRORS, json_objects, jsonl_objects
from mdmbridge.export.manifest import MANIFEST_ENTITY
from mdmbridge.export.schema import EntitySpec, Row
from mdmbridge.export.sinks_rows import DATA_ERRORS, refused
from mdmbridge.export.sinks_staging import DirectorySink, FileSink


class _Marks:
    """Positions in text files where the current tenant's rows begin, to cut them off."""

    def __init__(self) -> None:
        self._at: dict[int, tuple[IO[Any], int]] = {}

    def take(self, handles: Iterable[IO[Any]]) -> None:
        self._at = {id(h): (h, h.tell()) for h in handles}

    def rewind(self) -> None:
        for handle, position in self._at.values():
            handle.seek(position)
            handle.truncate()
        self._at = {}


_ENCODER = msgspec.json.Encoder()


class _CsvTables:
    """CSV writing shared by both layouts (a directory of files, or one entity's file):
    UTF-8 with a byte-order mark, so spreadsheet programs show å/ä/ö correctly."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[IO[str], Any]] = {}
        self.marks = _Marks()

    def open(self, entity: EntitySpec, path: Path) -> None:
        handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in close
        writer = csv.writer(handle)
        writer.writerow([c.name for c in entity.columns])
        self.files[entity.name] = (handle, writer)

    def begin(self) -> None:
        self.marks.take(handle for handle, _ in self.files.values())

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        _, writer = self.files[entity.name]
        count = 0
        for row in rows:
            try:
                writer.writerow(row)
            except DATA_ERRORS as exc:
                raise refused(entity, row, "csv", exc) from None
            count += 1
        return count

    def end(self, *, keep: bool) -> None:
        if not keep:
            self.marks.rewind()

    def close(self) -> None:
        files = list(self.files.values())
        self.files.clear()
        errors = []
        for handle, _ in files:
            try:
                handle.close()
            except OSError as exc:  # close them all, then say what failed
                errors.append(exc)
        if errors:
            raise errors[0]


class _CsvWriting:
    """What both CSV sinks do with their tables (a directory of them, or one file): the
    staging and the commit are their base class's (``_finish``/``_discard``)."""

    # Declared, not defined: the base class after this one in the MRO provides them.
    _tables: _CsvTables
    _finish: Callable[[], None]
    _discard: Callable[[], None]

    def begin(self) -> None:
        self._tables.begin()

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        return self._tables.add(entity, rows)

    def end(self, *, keep: bool) -> None:
        self._tables.end(keep=keep)

    def commit(self) -> None:
        self._tables.close()
        self._finish()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._tables.close()
        self._discard()


class CsvSink(_CsvWriting, DirectorySink):
    """One ``<entity>.csv`` per entity, in a directory."""

    format = "csv"

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self._tables = _CsvTables()

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        for entity in entities:
            self._tables.open(entity, self.staging / f"{entity.name}.csv")


class CsvFileSink(_CsvWriting, FileSink):
    """One entity's CSV as one file (``-o users.csv``), or on stdout."""

    def __init__(self, output: Path, *, stream: BinaryIO | None = None) -> None:
        super().__init__(output, stream=stream)
        self.staging.touch()  # an output that cannot be written is found now, not at the end
        self._tables = _CsvTables()

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        if len(entities) != 1:
            raise ValueError(f"one csv file holds one entity, not {len(entities)}")
        self._tables.open(entities[0], self.staging)


class JsonlSink(FileSink):
    """One JSON object per line, each with its ``entity``; ``raw`` stays a nested object.

    The lines can be encoded ahead, in the workers that read the tenants (``encoding``:
    the collect writes them to its part files, :meth:`add_encoded` copies them in), so the
    one assembling thread only copies bytes. With ``manifest_line``, the first line is the
    run's manifest (``{"entity":"_export",...}``): it is known only at the end, so the body
    is copied behind it at commit (one more pass over the file, paid only by those who ask
    for the line)."""

    encoding = "jsonl"

    def __init__(
        self, output: Path, *, stream: BinaryIO | None = None, manifest_line: bool = False
    ) -> None:
        super().__init__(output, stream=stream)
        self.manifest_line = manifest_line
        self._handle = open(self.staging, "wb")  # noqa: SIM115 - closed in commit/abort
        self._marks = _Marks()

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        return None

    def begin(self) -> None:
        self._marks.take([self._handle])

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        one = jsonl_objects(entity).one
        count = 0
        for row in rows:
            try:
                self._handle.write(one(row) + b"\n")
            except JSON_DATA_ERRORS as exc:
                raise refused(entity, row, "jsonl", exc) from None
            count += 1
        return count

    def add_encoded(self, entity: EntitySpec, lines: Path, count: int) -> int:
        """``count`` lines encoded ahead (``json_rows.jsonl_objects``), copied in whole."""
        with open(lines, "rb") as part:
            shutil.copyfileobj(part, self._handle, 1 << 20)
        return count

    def end(self, *, keep: bool) -> None:
        if not keep:
            self._marks.rewind()

    def commit(self) -> None:
        self._handle.close()
        if self.manifest_line and self.manifest is not None:
            line = _ENCODER.encode({"entity": MANIFEST_ENTITY, **self.manifest})
            self._prepend(line + b"\n")
        self._finish()

    def _prepend(self, line: bytes) -> None:
        body = self.staging.with_name(f"{self.staging.name}.body")
        os.replace(self.staging, body)
        try:
            with open(self.staging, "wb") as out:
                out.write(line)
                with open(body, "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        finally:
            with contextlib.suppress(FileNotFoundError):
                body.unlink()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
        self._discard()


class JsonSink(FileSink):
    """``{"devices": [...], "users": [...]}``. Tenants arrive interleaved, so each entity is
    gathered in its own staging file and the document is stitched together at commit,
    streamed: never built in memory."""

    def __init__(self, output: Path, *, stream: BinaryIO | None = None) -> None:
        super().__init__(output, stream=stream)
        self._parts: dict[str, tuple[Path, IO[bytes], list[int]]] = {}
        self.staging.touch()  # an output that cannot be written is found now, not at the end
        self._marks = _Marks()
        self._counts: dict[str, int] = {}

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        for entity in entities:
            path = self.staging.with_name(f"{self.staging.name}.{entity.name}")
            self._parts[entity.name] = (path, open(path, "wb"), [0])  # noqa: SIM115

    def begin(self) -> None:
        self._marks.take(handle for _, handle, _ in self._parts.values())
        self._counts = {name: written[0] for name, (_, _, written) in self._parts.items()}

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        _, handle, written = self._parts[entity.name]
        line = json_objects(entity).one
        count = 0
        for row in rows:
            try:
                handle.write((b"\n  " if written[0] == 0 else b",\n  ") + line(row))
            except JSON_DATA_ERRORS as exc:
                raise refused(entity, row, "json", exc) from None
            written[0] += 1
            count += 1
        return count

    def end(self, *, keep: bool) -> None:
        if not keep:
            self._marks.rewind()
            for name, (_, _, written) in self._parts.items():
                written[0] = self._counts.get(name, 0)

    def commit(self) -> None:
        with open(self.staging, "wb") as out:
            out.write(b"{")
            for number, (name, (path, handle, written)) in enumerate(self._parts.items()):
                handle.close()
                out.write((b"" if number == 0 else b",\n") + _ENCODER.encode(name) + b": [")
                with open(path, "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
                out.write(b"\n]" if written[0] else b"]")
            out.write(b"}\n")
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
