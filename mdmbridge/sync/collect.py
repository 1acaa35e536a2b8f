"""Reading one tenant for a sync, in a worker thread: rows and their hashes onto disk.

A tenant's rows are spooled to its own part files (pickled batches of ``(hash, row)``), so
memory stays flat however large the tenant, many tenants are read at once, and the one
writing thread applies a tenant only once it was read whole: a tenant that fails half-way
has nothing applied. Hashing here puts that cost in the readers, not in the writer.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mdmbridge.config import Tenant
from mdmbridge.export.runner import unique_rows
from mdmbridge.export.schema import ENTITIES, Row, row_maker
from mdmbridge.paging.totals import listing_totals, one_total
from mdmbridge.where import Where

BATCH = 500
HashedRow = tuple[str, Row]


# json.dumps with these options builds a new encoder per call; one, reused, writes the
# same text (the stored hashes depend on it never changing) in less time.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def row_hash(row: Row) -> str:
    """The hash of a normalised row (the export's row: enums as values, times as ISO text,
    raw as compact JSON), so "unchanged" means the same in both databases."""
    return hashlib.blake2b(_ENCODE(row).encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class Collected:
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # entity -> why it was not read
    totals: dict[str, int] = field(default_factory=dict)  # entity -> the vendor's own total


@dataclass(frozen=True)
class CollectJob:
    """One tenant's read: every selected entity it can hold, into ``parts/<tenant number>``."""

    entities: tuple[str, ...]
    parts: Path
    index: Mapping[str, int]
    where: Mapping[str, Where] | None = None

    def folder(self, tenant: str) -> Path:
        return self.parts / str(self.index[tenant])

    def __call__(self, tenant: Tenant) -> Collected:
        folder = self.folder(tenant.name)
        folder.mkdir(parents=True)
        out = Collected()
        with tenant.connect(read_only=True) as client:
            for name in self.entities:
                spec = ENTITIES[name]
                if spec.capability not in client.capabilities:
                    out.skipped[name] = f"{client.vendor} has no {name}"
                    continue
                keep = None if self.where is None else self.where.get(name)
                if keep is not None and keep.matches_all:
                    keep = None
                # Without --where the adapter makes the rows (export_rows, the export's
                # fast path); a filter needs the models. Either way a repeated id fails the
                # tenant, checked as the export checks it (flat memory for millions).
                make = row_maker(spec.columns)
                rows = (
                    client.adapter.export_rows(client, spec)
                    if keep is None
                    else (make(r) for r in spec.fetch(client) if keep(r))
                )
                count = 0
                with listing_totals() as totals, open(folder / f"{name}.parts", "wb") as part:
                    batch: list[HashedRow] = []
                    for row in unique_rows(spec, rows, outcome="the tenant was left unchanged"):
                        batch.append((row_hash(row), row))
                        if len(batch) >= BATCH:
                            pickle.dump(batch, part, protocol=pickle.HIGHEST_PROTOCOL)
                            count += len(batch)
                            batch = []
                    if batch:
                        pickle.dump(batch, part, protocol=pickle.HIGHEST_PROTOCOL)
                        count += len(batch)
                out.counts[name] = count
                if (total := one_total(totals)) is not None:
                    out.totals[name] = total
        return out


def read_parts(folder: Path, entity: str) -> Iterator[list[HashedRow]]:
    """The batches spooled for one entity (none if it was not read)."""
    path = folder / f"{entity}.parts"
    if not path.exists():
        return
    with open(path, "rb") as part:  # our own temporary file, written by this process
        while True:
            try:
                yield pickle.load(part)
            except EOFError:
                return


def index_of(tenants: Sequence[Tenant]) -> dict[str, int]:
    return {tenant.name: number for number, tenant in enumerate(tenants)}
