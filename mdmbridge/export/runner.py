"""Unified export: every selected tenant's entities into one output.

Two phases, so a failure never leaves half a tenant in the output:

1. *Collect*, tenants in parallel (``fleet.run_for_each``): each tenant streams its rows
   from the adapters' lazy iterators into its own part files on disk. Memory stays flat;
   clients are read-only, so an export can never write to an MDM.
2. *Assemble*: as soon as a tenant and every tenant before it (in the order given) have
   finished, a successful tenant's parts stream into the sink, while later tenants are
   still being read; a failed tenant's parts are simply dropped. A tenant whose rows cannot
   be written (an id that repeats, which would break ``UNIQUE(tenant, id)``, or a value the
   format cannot hold) is taken back out of the sink whole and fails alone. The sink moves
   the output into place atomically at the end. If no tenant succeeded, nothing is
   committed and any previous output stays as it was.

With worker processes, plugins registered at run time (``plugins.register_plugin``) are
registered again in each worker (``plugins.portable_plugins``), and a worker that dies
fails only the tenants it held. On a cluster (``--executor dask://...``) a worker's disk is
not ours: a tenant's parts come back as the task's result and are written into our parts
folder before assembly (``_CollectJob.ship``).
"""

from __future__ import annotations

import multiprocessing
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mdmbridge import plugins
from mdmbridge.config import Tenant
from mdmbridge.errors import ConfigError, MalformedResponse, MDMError
from mdmbridge.executors import shares_disk
from mdmbridge.export.schema import ENTITIES, EntitySpec, Row, row_maker
from mdmbridge.export.sinks import Sink
from mdmbridge.fleet import TenantOutcome, run_for_each
from mdmbridge.paging.seen import SeenIds, batches
from mdmbridge.paging.totals import listing_totals, one_total
from mdmbridge.where import Where

# (tenant, entity, rows so far); called from worker threads.
Progress = Callable[[str, str, int], None]
PROGRESS_EVERY = 1000
PART_BATCH = 500  # rows pickled at a time; PROGRESS_EVERY is a multiple of it


@dataclass
class TenantExport:
    tenant: str
    vendor: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    error: MDMError | None = None
    seconds: float = 0.0
    vendor_totals: dict[str, int] = field(default_factory=dict)  # where the vendor gives one

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ExportReport:
    output: Path
    format: str
    tenants: list[TenantExport]
    written: dict[str, int]
    committed: bool
    seconds: float

    @property
    def failed(self) -> list[TenantExport]:
        return [t for t in self.tenants if not t.ok]


@dataclass
class _Collected:
    counts: dict[str, int]
    skipped: dict[str, str]
    shipped: dict[str, bytes] | None = None  # entity -> its parts file, from a remote worker
    totals: dict[str, int] = field(default_factory=dict)  # entity -> the vendor's own total


@dataclass(frozen=True)
class _CollectJob:
    """One tenant's collect phase, picklable so it can run in another process: entities by
    name (their specs hold functions), the parts folder, and progress (threads only)."""

    entities: tuple[str, ...]
    parts: Path
    index: dict[str, int]
    progress: Progress | None = None
    plugins: tuple[plugins.PluginRecipe, ...] = ()  # run-time plugins, for other processes
    where: Mapping[str, Where] | None = None  # entity -> the rows to keep (--where)
    ship: bool = False  # the worker's disk is not ours: return the parts with the result

    def __call__(self, tenant: Tenant) -> _Collected:
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
        specs = [ENTITIES[name] for name in self.entities]
        if self.ship:
            return _collect_shipped(tenant, specs, self.where)
        folder = self.parts / str(self.index[tenant.name])
        return _collect(tenant, specs, folder, self.progress, self.where)


def run_export(
    tenants: Sequence[Tenant],
    *,
    entities: Sequence[EntitySpec],
    sink: Sink,
    format: str,
    workers: int = 4,
    processes: int = 0,
    executor: Executor | None = None,
    progress: Progress | None = None,
    where: Mapping[str, Where] | None = None,
) -> ExportReport:
    """``processes > 0`` collects tenants in that many worker processes: the work is CPU-bound
    (parsing, validating, converting), and threads share one core under the GIL.
    ``where`` (entity name -> :class:`~mdmbridge.where.Where`) keeps only the records it
    holds for; an entity it does not name is exported whole."""
    started = time.monotonic()
    in_process = (executor is None and processes <= 0) or isinstance(executor, ThreadPoolExecutor)
    try:
        index = _index(tenants)
        recipes = () if in_process else _portable_plugins(tenants)
    except BaseException:  # refused before anything was read: no staging output left
        sink.abort()
        raise
    parts = Path(tempfile.mkdtemp(prefix="mdmbridge-export-"))
    pool: Executor | None = None
    try:
        if executor is None and processes > 0:
            # spawn, not fork: the parent has threads (and maybe open connections).
            context = multiprocessing.get_context("spawn")
            executor = pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
        names = tuple(spec.name for spec in entities)
        job = _CollectJob(
            names,
            parts,
            index,
            progress if in_process else None,
            recipes,
            where or None,
            ship=not shares_disk(executor),
        )
        outcomes: dict[str, TenantOutcome[_Collected]] = {}
        written = {spec.name: 0 for spec in entities}
        assembled = 0  # tenants (in the given order) already in the sink, or failed
        try:
            sink.prepare(entities)
            for outcome in run_for_each(
                tenants, job, workers=workers, executor=executor, activity="exporting"
            ):
                outcomes[outcome.tenant] = outcome
                if outcome.value is not None and outcome.value.shipped is not None:
                    _unship(parts / str(index[outcome.tenant]), outcome.value)
                if not in_process and progress is not None and outcome.value is not None:
                    for entity, count in outcome.value.counts.items():
                        progress(outcome.tenant, entity, count)
                # Assemble while later tenants are still being read, keeping tenant order.
                while assembled < len(tenants) and tenants[assembled].name in outcomes:
                    tenant = tenants[assembled]
                    if outcomes[tenant.name].ok:
                        folder = parts / str(assembled)
                        refused = _assemble(sink, entities, folder, written)
                        if refused is not None:  # this tenant's data: it fails alone
                            outcomes[tenant.name] = _failed(tenant, outcomes[tenant.name], refused)
                        shutil.rmtree(folder, ignore_errors=True)  # give the disk back early
                    assembled += 1
            reports = [_report(tenant, outcomes[tenant.name]) for tenant in tenants]
            committed = any(r.ok for r in reports)
            if committed:
                sink.commit()
            else:  # nothing to show: leave any previous output exactly as it was
                sink.abort()
        except BaseException:  # interrupted (Ctrl-C) or a sink failure: no staging output left
            sink.abort()
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return ExportReport(
            sink.output,
            format,
            reports,
            written if committed else {},
            committed,
            time.monotonic() - started,
        )
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _index(tenants: Sequence[Tenant]) -> dict[str, int]:
    """Tenant name -> its number (its parts folder); a name given twice would mix two
    tenants' rows under one name, so it is refused."""
    index: dict[str, int] = {}
    for number, tenant in enumerate(tenants):
        if tenant.name in index:
            raise ConfigError(f"tenant {tenant.name!r} is given twice", tenant=tenant.name)
        index[tenant.name] = number
    return index


def _portable_plugins(tenants: Sequence[Tenant]) -> tuple[plugins.PluginRecipe, ...]:
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


def _assemble(
    sink: Sink, entities: Sequence[EntitySpec], folder: Path, written: dict[str, int]
) -> MDMError | None:
    """One tenant's parts into the sink, all or nothing: the error that kept it out, if any.
    Only errors about the tenant's own data are caught; any other (a full disk) ends the
    export."""
    added: dict[str, int] = {}
    sink.begin()
    try:
        for spec in entities:
            added[spec.name] = sink.add(spec, _unique(spec, _rows(folder, spec.name)))
    except MDMError as error:
        sink.end(keep=False)
        return error
    sink.end(keep=True)
    for name, count in added.items():
        written[name] += count
    return None


def _unique(spec: EntitySpec, rows: Iterable[Row]) -> Iterator[Row]:
    return unique_rows(spec, rows, outcome="the tenant was left out of the export")


def unique_rows(spec: EntitySpec, rows: Iterable[Row], *, outcome: str) -> Iterator[Row]:
    """The rows, refusing an id seen before in this tenant's listing: whatever the format,
    a record twice is a listing that cannot be trusted (SQLite's UNIQUE(tenant, id) would
    also break). Paged listings check this already; this holds for every adapter. The ids
    go into a ``SeenIds``, so a tenant of millions keeps memory flat. ``outcome`` ends the
    message: what became of the tenant (export and sync both use this)."""
    at = [c.name for c in spec.columns].index("id")
    with SeenIds() as seen:
        for batch in batches(rows):
            ids = [row[at] for row in batch]
            found = seen.add_new(ids, 0)  # no position: the message names the id only
            if found is not None:
                yield from batch[: found.index]
                raise MalformedResponse(
                    f"{spec.name} {found.ident!r}: this id appears more than once in the "
                    f"tenant's listing; {outcome}"
                )
            yield from batch


def _failed(
    tenant: Tenant, outcome: TenantOutcome[_Collected], error: MDMError
) -> TenantOutcome[_Collected]:
    if error.tenant is None:
        error.tenant = tenant.name
    if error.vendor is None:
        error.vendor = tenant.vendor
    return TenantOutcome(tenant.name, tenant.vendor, None, error, outcome.seconds)


def _report(tenant: Tenant, outcome: TenantOutcome[_Collected]) -> TenantExport:
    report = TenantExport(tenant.name, tenant.vendor, error=outcome.error, seconds=outcome.seconds)
    if outcome.value is not None:
        report.counts, report.skipped = outcome.value.counts, outcome.value.skipped
        report.vendor_totals = outcome.value.totals
    return report


def _collect(
    tenant: Tenant,
    entities: Sequence[EntitySpec],
    folder: Path,
    progress: Progress | None,
    where: Mapping[str, Where] | None = None,
) -> _Collected:
    folder.mkdir(parents=True)
    counts: dict[str, int] = {}
    skipped: dict[str, str] = {}
    totals: dict[str, int] = {}
    with tenant.connect(read_only=True) as client:
        for spec in entities:
            if spec.capability not in client.capabilities:
                skipped[spec.name] = f"{client.vendor} has no {spec.name}"
                continue
            make_row = row_maker(spec.columns)
            keep = None if where is None else where.get(spec.name)
            if keep is not None and keep.matches_all:
                keep = None
            count = 0
            with listing_totals() as found, open(folder / f"{spec.name}.parts", "wb") as part:
                batch: list[Row] = []
                # Without --where the adapter makes the rows (export_rows: maybe without
                # building models); a filter needs the models, so they are made here.
                rows = (
                    client.adapter.export_rows(client, spec)
                    if keep is None
                    else (make_row(r) for r in spec.fetch(client) if keep(r))
                )
                for row in rows:
                    batch.append(row)
                    if len(batch) >= PART_BATCH:
                        # Pickled batches: parts are our own temporary files, read back by
                        # this process only, and pickle is several times cheaper than JSON.
                        pickle.dump(batch, part, protocol=pickle.HIGHEST_PROTOCOL)
                        count += len(batch)
                        batch = []
                        if progress is not None and count % PROGRESS_EVERY == 0:
                            progress(tenant.name, spec.name, count)
                if batch:
                    pickle.dump(batch, part, protocol=pickle.HIGHEST_PROTOCOL)
                    count += len(batch)
            counts[spec.name] = count
            if (total := one_total(found)) is not None:
                totals[spec.name] = total
            if progress is not None:
                progress(tenant.name, spec.name, count)
    return _Collected(counts, skipped, totals=totals)


def _collect_shipped(
    tenant: Tenant, entities: Sequence[EntitySpec], where: Mapping[str, Where] | None
) -> _Collected:
    """On a worker with its own disk: collect into a scratch folder there, and return the
    parts' bytes with the result (a worker killed here leaves the coordinator nothing)."""
    scratch = Path(tempfile.mkdtemp(prefix="mdmbridge-collect-"))
    try:
        collected = _collect(tenant, entities, scratch / "parts", None, where)
        collected.shipped = {
            path.stem: path.read_bytes() for path in (scratch / "parts").glob("*.parts")
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return collected


def _unship(folder: Path, collected: _Collected) -> None:
    """A remote tenant's parts into our parts folder, where ``_assemble`` reads them."""
    folder.mkdir(parents=True)
    for entity, data in (collected.shipped or {}).items():
        (folder / f"{entity}.parts").write_bytes(data)
    collected.shipped = None  # the bytes are on disk now: let them go


def _rows(folder: Path, entity: str) -> Iterator[Row]:
    path = folder / f"{entity}.parts"
    if not path.exists():  # the tenant's vendor has no such entity
        return
    with open(path, "rb") as part:
        while True:
            try:
                batch = pickle.load(part)
            except EOFError:
                break
            yield from batch
