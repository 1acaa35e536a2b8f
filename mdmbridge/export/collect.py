"""Reading one tenant, in a worker: every selected entity's rows into its own part files.

The collect side of both the export and the sync, one mechanism for the two: a tenant's rows
are spooled to part files (pickled batches), so memory stays flat however large the tenant,
many tenants are read at once, and the one writing thread takes a tenant only once it was
read whole: a tenant that fails half-way leaves nothing to write. A repeated id fails the
tenant here, where it is read (``unique_rows``), so the writer never sees a listing that
cannot be trusted. What a part holds per row is the job's ``item`` (the row itself for an
export; the sync keeps ``(hash, row)``), so per-row work runs in the readers, not the writer.

A job is picklable, so it runs in a worker process or on a Dask worker too: with ``ship``
(the worker's disk is not ours) the parts come back as the task's result and
:func:`unship` writes them into the coordinator's parts folder.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mdmbridge import plugins
from mdmbridge.config import Tenant
from mdmbridge.errors import ConfigError, MalformedResponse
from mdmbridge.export.json_rows import JSON_DATA_ERRORS, jsonl_objects
from mdmbridge.export.schema import ENTITIES, EntitySpec, Row, row_maker
from mdmbridge.export.sinks_rows import refused
from mdmbridge.paging.seen import SeenIds, batches
from mdmbridge.paging.shared import CheckedRows
from mdmbridge.paging.totals import listing_totals, one_total
from mdmbridge.where import Where

# (tenant, entity, rows so far); called from worker threads.
Progress = Callable[[str, str, int], None]
PROGRESS_EVERY = 1000
PART_BATCH = 500  # rows pickled at a time; PROGRESS_EVERY is a multiple of it
LEFT_OUT = "the tenant was left out of the export"


@dataclass
class Collected:
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # entity -> why it was not read
    shipped: dict[str, bytes] | None = None  # entity -> its parts file, from a remote worker
    totals: dict[str, int] = field(default_factory=dict)  # entity -> the vendor's own total


@dataclass(frozen=True)
class CollectJob:
    """One tenant's collect phase, picklable so it can run in another process: entities by
    name (their specs hold functions), the parts folder, and progress (threads only).
    ``outcome`` ends the message of a repeated id (what became of the tenant); ``item``
    (a module-level function, so it pickles) turns each row into what the parts hold."""

    entities: tuple[str, ...]
    parts: Path
    index: Mapping[str, int]
    progress: Progress | None = None
    plugins: tuple[plugins.PluginRecipe, ...] = ()  # run-time plugins, for other processes
    where: Mapping[str, Where] | None = None  # entity -> the rows to keep (--where)
    ship: bool = False  # the worker's disk is not ours: return the parts with the result
    outcome: str = LEFT_OUT
    item: Callable[[Row], Any] | None = None
    encoding: str | None = None  # the sink's (jsonl): parts hold encoded lines, not rows

    def folder(self, tenant: str) -> Path:
        return self.parts / str(self.index[tenant])

    def __call__(self, tenant: Tenant) -> Collected:
        if self.plugins:  # in another process: register them there first (once)
            plugins.restore_plugins(self.plugins)
            failures = plugins.restore_failures()
            if failures and tenant.vendor not in plugins.registered_adapters():
                raise ConfigError(
                    f"vendor {tenant.vendor!r} is unknown in this worker process: "
                    + "; ".join(failures),
                    vendor=tenant.vendor,
                    tenant=tenant.name,
                )
        if not self.ship:
            return self._collect(tenant, self.folder(tenant.name))
        # On a worker with its own disk: collect into a scratch folder there, and return
        # the parts' bytes with the result (a worker killed here leaves the coordinator
        # nothing).
        scratch = Path(tempfile.mkdtemp(prefix="mdmbridge-collect-"))
        try:
            collected = self._collect(tenant, scratch / "parts")
            collected.shipped = {
                path.stem: path.read_bytes() for path in (scratch / "parts").glob("*.parts")
            }
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return collected

    def _collect(self, tenant: Tenant, folder: Path) -> Collected:
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
                # Without --where the adapter makes the rows (export_rows: maybe without
                # building models); a filter needs the models, so they are made here.
                make = row_maker(spec.columns)
                rows = (
                    client.adapter.export_rows(client, spec)
                    if keep is None
                    else (make(r) for r in spec.fetch(client) if keep(r))
                )
                with listing_totals() as found:
                    out.counts[name] = self._spool(tenant.name, spec, rows, folder)
                if (total := one_total(found)) is not None:
                    out.totals[name] = total
        return out

    def _spool(self, tenant: str, spec: EntitySpec, rows: Iterable[Row], folder: Path) -> int:
        count = 0
        item = self.item
        write = None if self.encoding is None else _line_writer(spec, self.encoding)
        with open(folder / f"{spec.name}.parts", "wb") as part:
            for batch in unique_batches(spec, rows, outcome=self.outcome):
                if write is not None:
                    write(part, batch)
                else:
                    kept = batch if item is None else [item(row) for row in batch]
                    # Pickled batches: parts are our own temporary files, read back by
                    # this process only, and pickle is several times cheaper than JSON.
                    pickle.dump(kept, part, protocol=pickle.HIGHEST_PROTOCOL)
                count += len(batch)
                if self.progress is not None and count % PROGRESS_EVERY == 0:
                    self.progress(tenant, spec.name, count)
        if self.progress is not None:
            self.progress(tenant, spec.name, count)
        return count


def _line_writer(spec: EntitySpec, encoding: str) -> Callable[[IO[bytes], list[Row]], None]:
    """Writes a batch of rows as the sink's lines; a row the format cannot hold fails the
    tenant with the sink's own words (it would have refused the row the same way)."""
    if encoding != "jsonl":
        raise ValueError(f"no line encoder for {encoding!r}")
    objects = jsonl_objects(spec)

    def write(part: IO[bytes], batch: list[Row]) -> None:
        try:
            part.write(objects.lines(batch))
        except JSON_DATA_ERRORS:
            for row in batch:  # which row: the message names its id
                try:
                    objects.one(row)
                except JSON_DATA_ERRORS as exc:
                    raise refused(spec, row, encoding, exc) from None
            raise

    return write


def unique_batches(spec: EntitySpec, rows: Iterable[Row], *, outcome: str) -> Iterator[list[Row]]:
    """The rows in batches, refusing an id seen before in this tenant's listing: whatever
    the format, a record twice is a listing that cannot be trusted (SQLite's UNIQUE(tenant,
    id) would also break). Paged listings check this already; this holds for every adapter.
    The ids go into a ``SeenIds``, so a tenant of millions keeps memory flat. ``outcome``
    ends the message: what became of the tenant. The rows before a repeat are yielded
    first, so a caller streaming them sees exactly the trusted prefix. Rows a pager has
    checked by id already (``paging.CheckedRows``) are not checked again."""
    if isinstance(rows, CheckedRows) and rows.column == "id":  # the pager checked them
        yield from batches(rows, PART_BATCH)
        return
    at = [c.name for c in spec.columns].index("id")
    with SeenIds() as seen:
        for batch in batches(rows, PART_BATCH):
            found = seen.add_new([row[at] for row in batch], 0)  # no position: the id only
            if found is not None:
                if found.index:
                    yield batch[: found.index]
                raise MalformedResponse(
                    f"{spec.name} {found.ident!r}: this id appears more than once in the "
                    f"tenant's listing; {outcome}"
                )
            yield batch


def unique_rows(spec: EntitySpec, rows: Iterable[Row], *, outcome: str) -> Iterator[Row]:
    """:func:`unique_batches`, row by row."""
    for batch in unique_batches(spec, rows, outcome=outcome):
        yield from batch


def unship(folder: Path, collected: Collected) -> None:
    """A remote tenant's parts into our parts folder, where the writer reads them."""
    folder.mkdir(parents=True)
    for entity, data in (collected.shipped or {}).items():
        (folder / f"{entity}.parts").write_bytes(data)
    collected.shipped = None  # the bytes are on disk now: let them go


def read_batches(folder: Path, entity: str) -> Iterator[list[Any]]:
    """The batches spooled for one entity (none if its vendor has no such entity)."""
    path = folder / f"{entity}.parts"
    if not path.exists():
        return
    with open(path, "rb") as part:  # our own temporary file, written by this process
        while True:
            try:
                yield pickle.load(part)
            except EOFError:
                return


def read_rows(folder: Path, entity: str) -> Iterator[Any]:
    for batch in read_batches(folder, entity):
        yield from batch


def in_this_process(executor: Executor | None) -> bool:
    """Whether the tenants are read in this process (no executor, or threads): then progress
    is reported live and run-time plugins need no recipes; elsewhere both cross a pickle."""
    return executor is None or isinstance(executor, ThreadPoolExecutor)


def portable_recipes(tenants: Sequence[Tenant]) -> tuple[plugins.PluginRecipe, ...]:
    """Recipes for the run-time plugins, for worker processes; a selected tenant whose
    adapter comes from a plugin a worker cannot re-create is refused up front."""
    recipes, stranded = plugins.portable_plugins()
    for plugin in stranded:
        needed = sorted({t.vendor for t in tenants} & plugin.vendors)
        if needed:
            raise ConfigError(
                f"vendor {needed[0]!r} comes from the plugin {plugin.name!r} ({plugin.label}), "
                f"registered at run time; worker processes cannot re-create it: {plugin.reason}. "
                "Register it as an importable module or a module-level class, or export "
                "with threads (processes=0)",
                vendor=needed[0],
            )
    return tuple(recipes)


def index_of(tenants: Sequence[Tenant]) -> dict[str, int]:
    """Tenant name -> its number (its parts folder); a name given twice would mix two
    tenants' rows under one name, so it is refused."""
    index: dict[str, int] = {}
    for number, tenant in enumerate(tenants):
        if tenant.name in index:
            raise ConfigError(f"tenant {tenant.name!r} is given twice", tenant=tenant.name)
        index[tenant.name] = number
    return index
