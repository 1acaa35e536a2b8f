"""Unified export: every selected tenant's entities into one output.

Two phases, so a failure never leaves half a tenant in the output:

1. *Collect*, tenants in parallel (``fleet.run_for_each``): each tenant streams its rows
   from the adapters' lazy iterators into its own part files on disk. Memory stays flat;
   clients are read-only, so an export can never write to an MDM.
2. *Assemble*: as soon as a tenant and every tenant before it (in the order given) have
   finished, a successful tenant's parts stream into the sink, while later tenants are
   still being read; a failed tenant's parts are simply dropped. A tenant whose rows cannot
   be written (a value the format cannot hold) is taken back out of the sink whole and
   fails alone; an id that repeats (which would break ``UNIQUE(tenant, id)``) already
   failed the tenant while it was read (:mod:`mdmbridge.export.collect`). The sink moves
   the output into place atomically at the end. If no tenant succeeded, nothing is
   committed and any previous output stays as it was.

With worker processes, plugins registered at run time (``plugins.register_plugin``) are
registered again in each worker (``plugins.portable_plugins``), and a worker that dies
fails only the tenants it held. On a cluster (``--executor dask://...``) a worker's disk is
not ours: a tenant's parts come back as the task's result and are written into our parts
folder before assembly (``CollectJob.ship``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from mdmbridge.config import Tenant
from mdmbridge.errors import MDMError
from mdmbridge.executors import shares_disk
from mdmbridge.export.collect import (
    Collected,
    CollectJob,
    Progress,
    in_this_process,
    index_of,
    portable_recipes,
    read_rows,
    unique_rows,
    unship,
)
from mdmbridge.export.schema import EntitySpec
from mdmbridge.export.sinks import EncodedSink, Sink, encoding_of
from mdmbridge.fleet import TenantOutcome, run_for_each
from mdmbridge.where import Where

__all__ = ["ExportReport", "Progress", "TenantExport", "run_export", "unique_rows"]


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
    in_process = in_this_process(executor) and (executor is not None or processes <= 0)
    try:
        index = index_of(tenants)
        recipes = () if in_process else portable_recipes(tenants)
    except BaseException:  # refused before anything was read: no staging output left
        sink.abort()
        raise
    parts = Path(tempfile.mkdtemp(prefix="mdmbridge-export-"))
    pool: Executor | None = None
    try:
        if executor is None and processes > 0:
            # spawn, not fork: the parent has threads (and maybe open connections).
            import multiprocessing  # only for worker processes: not loaded by others
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("spawn")
            executor = pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
        names = tuple(spec.name for spec in entities)
        job = CollectJob(
            names,
            parts,
            index,
            progress if in_process else None,
            recipes,
            where or None,
            ship=not shares_disk(executor),
            encoding=encoding_of(sink),
        )
        outcomes: dict[str, TenantOutcome[Collected]] = {}
        written = {spec.name: 0 for spec in entities}
        assembled = 0  # tenants (in the given order) already in the sink, or failed
        try:
            sink.prepare(entities)
            for outcome in run_for_each(
                tenants, job, workers=workers, executor=executor, activity="exporting"
            ):
                outcomes[outcome.tenant] = outcome
                if outcome.value is not None and outcome.value.shipped is not None:
                    unship(job.folder(outcome.tenant), outcome.value)
                if not in_process and progress is not None and outcome.value is not None:
                    for entity, count in outcome.value.counts.items():
                        progress(outcome.tenant, entity, count)
                # Assemble while later tenants are still being read, keeping tenant order.
                while assembled < len(tenants) and tenants[assembled].name in outcomes:
                    tenant = tenants[assembled]
                    collected = outcomes[tenant.name].value
                    if outcomes[tenant.name].ok and collected is not None:
                        folder = parts / str(assembled)
                        refused = _assemble(
                            sink,
                            entities,
                            folder,
                            written,
                            collected.counts,
                            encoded=job.encoding is not None,
                        )
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


def _assemble(
    sink: Sink,
    entities: Sequence[EntitySpec],
    folder: Path,
    written: dict[str, int],
    counts: Mapping[str, int],
    *,
    encoded: bool,
) -> MDMError | None:
    """One tenant's parts into the sink, all or nothing: the error that kept it out, if any.
    Only errors about the tenant's own data are caught; any other (a full disk) ends the
    export. Parts the workers encoded already (``encoded``) are copied in whole."""
    added: dict[str, int] = {}
    sink.begin()
    try:
        for spec in entities:
            if not encoded:
                added[spec.name] = sink.add(spec, read_rows(folder, spec.name))
                continue
            path = folder / f"{spec.name}.parts"
            if path.exists():
                count = counts.get(spec.name, 0)
                added[spec.name] = cast(EncodedSink, sink).add_encoded(spec, path, count)
            else:  # the tenant's vendor has no such entity
                added[spec.name] = 0
    except MDMError as error:
        sink.end(keep=False)
        return error
    sink.end(keep=True)
    for name, count in added.items():
        written[name] += count
    return None


def _failed(
    tenant: Tenant, outcome: TenantOutcome[Collected], error: MDMError
) -> TenantOutcome[Collected]:
    if error.tenant is None:
        error.tenant = tenant.name
    if error.vendor is None:
        error.vendor = tenant.vendor
    return TenantOutcome(tenant.name, tenant.vendor, None, error, outcome.seconds)


def _report(tenant: Tenant, outcome: TenantOutcome[Collected]) -> TenantExport:
    report = TenantExport(tenant.name, tenant.vendor, error=outcome.error, seconds=outcome.seconds)
    if outcome.value is not None:
        report.counts, report.skipped = outcome.value.counts, outcome.value.skipped
        report.vendor_totals = outcome.value.totals
    return report
