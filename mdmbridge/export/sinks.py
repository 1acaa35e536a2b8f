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

The formats live one module each (``sinks_files``: CSV, JSON Lines, JSON; ``sinks_sqlite``;
``sinks_parquet``), over ``sinks_staging`` (the atomic output) and ``sinks_rows`` (batches
and refused rows). This module is the contract and the factory.
"""

from __future__ import annotations

import os  # noqa: F401 - tests patch os.replace through this module (sinks.os)
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from mdmbridge.errors import ConfigError
from mdmbridge.export.schema import EntitySpec, Row
from mdmbridge.export.sinks_files import CsvSink, JsonlSink, JsonSink
from mdmbridge.export.sinks_parquet import ParquetSink
from mdmbridge.export.sinks_rows import BATCH
from mdmbridge.export.sinks_sqlite import SqliteSink
from mdmbridge.export.sinks_staging import check_parent

__all__ = [
    "BATCH",
    "FORMATS",
    "CsvSink",
    "JsonSink",
    "JsonlSink",
    "ParquetSink",
    "Sink",
    "SqliteSink",
    "open_sink",
]

FORMATS = ("csv", "jsonl", "json", "sqlite", "parquet")


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
    check_parent(path)
    if format == "jsonl":
        return JsonlSink(path)
    if format == "json":
        return JsonSink(path)
    return SqliteSink(path)
