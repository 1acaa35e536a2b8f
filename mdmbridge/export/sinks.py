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
``<entity>.csv`` / ``<entity>.parquet`` in it, or one entity's file; the others take a
file; the text formats also go to stdout (:mod:`mdmbridge.export.target` decides which).
A directory is replaced whole, and only one mdmbridge wrote (``sinks_staging``).

The formats live one module each (``sinks_files``: CSV, JSON Lines, JSON; ``sinks_sqlite``;
``sinks_parquet``), over ``sinks_staging`` (the atomic output) and ``sinks_rows`` (batches
and refused rows). This module is the contract and the factory.
"""

from __future__ import annotations

import os  # noqa: F401 - tests patch os.replace through this module (sinks.os)
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from mdmbridge.errors import ConfigError
from mdmbridge.export.schema import EntitySpec, Row
from mdmbridge.export.sinks_files import CsvFileSink, CsvSink, JsonlSink, JsonSink
from mdmbridge.export.sinks_parquet import ParquetFileSink, ParquetSink
from mdmbridge.export.sinks_rows import BATCH
from mdmbridge.export.sinks_staging import check_parent
from mdmbridge.export.target import FORMATS, TABLE_FORMATS, Target

if TYPE_CHECKING:
    from mdmbridge.export.sinks_sqlite import SqliteSink

__all__ = [
    "BATCH",
    "FORMATS",
    "CsvFileSink",
    "CsvSink",
    "EncodedSink",
    "JsonSink",
    "JsonlSink",
    "ParquetFileSink",
    "ParquetSink",
    "Sink",
    "SqliteSink",
    "encoding_of",
    "open_sink",
    "open_target",
    "write_errors",
]


def __getattr__(name: str) -> Any:
    """``SqliteSink`` on first use: sqlite3 is not imported by an export to another format."""
    if name == "SqliteSink":
        from mdmbridge.export.sinks_sqlite import SqliteSink

        return SqliteSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


class EncodedSink(Sink, Protocol):
    """A sink whose rows can be encoded ahead by the collecting workers (jsonl): the
    runner then hands it each tenant's encoded part file instead of rows."""

    encoding: str

    def add_encoded(self, entity: EntitySpec, lines: Path, count: int) -> int:
        """Append ``count`` rows already encoded as ``encoding`` in the file ``lines``."""


def encoding_of(sink: Sink) -> str | None:
    """What the collecting workers may encode rows as for ``sink`` (None: plain rows)."""
    found = getattr(sink, "encoding", None)
    return found if isinstance(found, str) and hasattr(sink, "add_encoded") else None


def open_sink(format: str, output: str | Path) -> Sink:
    """The sink for ``format`` at ``output`` as a directory (csv, parquet) or a file (the
    others), its staging output already created beside ``output``: an output that cannot be
    written is a ``ConfigError`` here, before anything is read. :func:`open_target` opens
    what :func:`~mdmbridge.export.target.resolve_target` chose (one csv file, stdout)."""
    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r} (choose from {', '.join(FORMATS)})")
    path = Path(output).expanduser()
    return open_target(Target(format, path, "directory" if format in TABLE_FORMATS else "file"))


def open_target(
    target: Target, *, stream: BinaryIO | None = None, manifest_line: bool = False
) -> Sink:
    """The sink for ``target``; ``stream`` is where a stdout target goes (default: this
    process's stdout); ``manifest_line`` puts the manifest first in a jsonl output."""
    if target.stdout and stream is None:
        stream = getattr(sys.stdout, "buffer", None)  # None: stdout was replaced by text
        if stream is None:
            raise ConfigError("--output -: this process's stdout takes no bytes; give a file")
    try:
        return _open_sink(target, stream if target.stdout else None, manifest_line)
    except write_errors() as exc:
        where = "stdout" if target.stdout else str(target.path)
        raise ConfigError(f"--output {where}: cannot write there ({_reason(exc)})") from None


def write_errors() -> tuple[type[Exception], ...]:
    """What a sink raises when its output cannot be written (opening it, or a full disk
    later): sqlite3's errors too once a SQLite sink was made (it is imported only then).
    Called in the ``except`` clause, so it is asked when the error is raised."""
    sqlite3 = sys.modules.get("sqlite3")
    return (OSError,) if sqlite3 is None else (OSError, sqlite3.Error)


def _reason(exc: BaseException) -> str:
    """One line: the OS's words for an OSError (the staging file's name would only
    confuse), else the exception's text."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join((str(exc) or type(exc).__name__).split())


def _open_sink(target: Target, stream: BinaryIO | None, manifest_line: bool) -> Sink:
    format, path = target.format, target.path
    if format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("parquet needs pyarrow: pip install 'mdmbridge[parquet]'") from None
    if target.layout == "directory":
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"--output {path}: {format} writes one file per entity; give a directory"
            )
        return ParquetSink(path) if format == "parquet" else CsvSink(path)
    if stream is None:
        if path.is_dir():
            raise ConfigError(f"--output {path} is a directory; {format} writes one file")
        check_parent(path)
    if format == "jsonl":
        return JsonlSink(path, stream=stream, manifest_line=manifest_line)
    if format == "json":
        return JsonSink(path, stream=stream)
    if format == "csv":
        return CsvFileSink(path, stream=stream)
    if format == "parquet":
        return ParquetFileSink(path)
    from mdmbridge.export.sinks_sqlite import SqliteSink

    return SqliteSink(path)
