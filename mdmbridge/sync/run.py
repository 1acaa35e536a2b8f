"""One sync run: read tenants in parallel, apply each in one transaction from one thread.

Per tenant, everything it changes (its entity rows, its ``changes`` rows and its
``sync_tenants`` row) commits in one transaction, so a run killed at any moment leaves each
tenant either fully applied or untouched; the run's own row stays ``running`` and the next
sync (which holds the lock) marks it ``interrupted``. A tenant that fails to read changes
nothing: no record of it is updated or marked removed; only its failure is recorded.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from mdmbridge.config import Tenant
from mdmbridge.errors import MDMError
from mdmbridge.executors import shares_disk
from mdmbridge.export.collect import (
    Collected,
    CollectJob,
    in_this_process,
    index_of,
    portable_recipes,
    read_batches,
    unship,
)
from mdmbridge.export.schema import EntitySpec
from mdmbridge.fleet import TenantOutcome, run_for_each
from mdmbridge.sync import schema as s
from mdmbridge.sync.collect import LEFT_UNCHANGED, hashed
from mdmbridge.sync.diff import Applied, apply_entity
from mdmbridge.sync.store import Store, utc_now
from mdmbridge.where import Where

# Called after each tenant is applied or failed (tenant, status); for progress lines.
Progress = Callable[[str, str], None]


@dataclass
class TenantSync:
    tenant: str
    vendor: str
    status: str  # ok | failed | skipped
    counts: dict[str, int] = field(default_factory=dict)
    applied: dict[str, Applied] = field(default_factory=dict)
    error: MDMError | None = None

    @property
    def written(self) -> int:
        return sum(a.written for a in self.applied.values())

    @property
    def change_rows(self) -> int:
        return sum(a.change_rows for a in self.applied.values())


@dataclass
class SyncReport:
    run_id: int
    outcome: str
    tenants: list[TenantSync]
    seconds: float
    writing_seconds: float = 0.0  # of ``seconds``, spent applying tenants (the one writer)

    @property
    def failed(self) -> list[TenantSync]:
        return [t for t in self.tenants if t.status == "failed"]

    @property
    def written(self) -> int:
        return sum(t.written for t in self.tenants)

    @property
    def change_rows(self) -> int:
        return sum(t.change_rows for t in self.tenants)


def mdmbridge_version() -> str:
    try:
        return metadata.version("mdmbridge")
    except metadata.PackageNotFoundError:
        return "unknown"


def run_sync(
    store: Store,
    tenants: Sequence[Tenant],
    *,
    entities: Sequence[EntitySpec],
    workers: int = 4,
    where: Mapping[str, Where] | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> SyncReport:
    """Sync ``tenants`` into ``store``; refuses (``SyncBusy``) while another sync runs.
    ``executor`` reads the tenants elsewhere (a Dask cluster: ``--executor``); this
    process alone writes the database, so a worker lost mid-read changes nothing."""
    started = time.monotonic()
    names = [t.name for t in tenants]
    index = index_of(tenants)  # a tenant given twice is refused here
    with store.locked():
        store.migrate()
        run_id = store.start_run(mdmbridge_version(), names, [e.name for e in entities])
        parts = Path(tempfile.mkdtemp(prefix="mdmbridge-sync-"))
        results: list[TenantSync] = []
        writing_seconds = 0.0
        try:
            job = CollectJob(
                tuple(e.name for e in entities),
                parts,
                index,
                plugins=() if in_this_process(executor) else portable_recipes(tenants),
                where=where or None,
                ship=not shares_disk(executor),
                outcome=LEFT_UNCHANGED,
                item=hashed,
            )
            begun = {t.name: utc_now() for t in tenants}  # reading starts for all at once
            for outcome in run_for_each(
                tenants, job, workers=workers, executor=executor, activity="syncing"
            ):
                if outcome.value is not None and outcome.value.shipped is not None:
                    unship(job.folder(outcome.tenant), outcome.value)
                writing = time.monotonic()
                result = _apply(store, run_id, job, outcome, begun[outcome.tenant])
                writing_seconds += time.monotonic() - writing
                results.append(result)
                shutil.rmtree(job.folder(outcome.tenant), ignore_errors=True)
                if progress is not None:
                    progress(result.tenant, result.status)
        except BaseException:
            # Ctrl-C or a database failure: tenants applied so far stay (each committed
            # whole); the run says it did not finish.
            store.finish_run(run_id, "interrupted")
            raise
        finally:
            shutil.rmtree(parts, ignore_errors=True)
        order = {name: n for n, name in enumerate(names)}
        results.sort(key=lambda r: order[r.tenant])
        failed = sum(r.status == "failed" for r in results)
        outcome_word = "ok" if not failed else ("failed" if failed == len(results) else "partial")
        store.finish_run(run_id, outcome_word)
    seconds = time.monotonic() - started
    return SyncReport(run_id, outcome_word, results, seconds, writing_seconds)


def _apply(
    store: Store, run_id: int, job: CollectJob, outcome: TenantOutcome[Collected], begun: str
) -> TenantSync:
    """One tenant's outcome into the database, in one transaction."""
    collected = outcome.value
    if outcome.error is not None or collected is None:
        result = TenantSync(outcome.tenant, outcome.vendor, "failed", error=outcome.error)
        _record(store, run_id, result, begun, collected)
        return result
    status = "skipped" if not collected.counts else "ok"
    result = TenantSync(outcome.tenant, outcome.vendor, status, counts=dict(collected.counts))
    folder = job.folder(outcome.tenant)
    run_time = begun
    with store.engine.begin() as conn:
        for entity in collected.counts:  # entities the vendor does not have stay untouched
            result.applied[entity] = apply_entity(
                conn,
                read_batches(folder, entity),
                run_id=run_id,
                run_time=run_time,
                tenant=outcome.tenant,
                entity=entity,
            )
        conn.execute(
            s.sync_tenants.insert().values(**_tenant_row(run_id, result, begun, collected))
        )
    return result


def _record(
    store: Store, run_id: int, result: TenantSync, begun: str, collected: Collected | None
) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            s.sync_tenants.insert().values(**_tenant_row(run_id, result, begun, collected))
        )


def _tenant_row(
    run_id: int, result: TenantSync, begun: str, collected: Collected | None
) -> dict[str, object]:
    error = None
    if result.error is not None:
        error = " ".join(str(result.error).split())
    elif collected is not None and collected.skipped:
        error = "; ".join(collected.skipped.values())
    return {
        "run_id": run_id,
        "tenant": result.tenant,
        "vendor": result.vendor,
        "status": result.status,
        "error": error,
        "counts": json.dumps(result.counts),
        # The vendor's own totals where it gives them (ezmdm): the proof the listing was whole.
        "vendor_totals": json.dumps(collected.totals) if collected and collected.totals else None,
        "started": begun,
        "finished": utc_now(),
    }
