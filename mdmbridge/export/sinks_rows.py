"""What every sink does with rows: take them in batches, and turn a value its format cannot
hold into a ``MalformedResponse`` naming the entity and the record's id, so the runner
leaves that one tenant out rather than ending the export.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mdmbridge.errors import MalformedResponse, MDMError
from mdmbridge.export.schema import EntitySpec, Row
from mdmbridge.redaction import redact_registered

BATCH = 2000

# What a value the format cannot hold raises while it is written (pyarrow's ArrowInvalid
# and ArrowTypeError are ValueError and TypeError); OSError is the disk, never the data.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # UnicodeEncodeError (a lone surrogate) among them
    TypeError,
    OverflowError,  # an integer beyond 64 bits in SQLite or Parquet
)  # SQLite adds its own (sinks_sqlite.SQLITE_DATA_ERRORS): sqlite3 loads only for it


def refused(entity: EntitySpec, row: Row | None, format: str, exc: BaseException) -> MDMError:
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


def batches(rows: Iterable[Row], size: int = BATCH) -> Iterator[list[Row]]:
    """``rows`` in lists of ``size``, so a sink writes many rows per call."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
