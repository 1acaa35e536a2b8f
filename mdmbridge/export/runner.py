"""Unified export: every selected tenant's entities into one output.

Two phases, so a failure never leaves half a tenant in the output:

1. *Collect*, tenants in parallel (``fleet.run_for_each``): each tenant streams its rows
   from the adapters' lazy iterators into its own part files on disk. Memory stays flat;
   clients are read-only, so an export can never write to an MDM.
2. *Assemble*: the parts of the tenants that succeeded, in the order the tenants were
   given, stream into the sink, which moves the output into place atomically. If no tenant
   succeeded, nothing is committed and any previous output stays as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdmbridge.config import Tenant
from mdmbridge.errors import MDMError
from mdmbridge.export.schema import EntitySpec, to_row
from mdmbridge.export.sinks import Sink
from mdmbridge.fleet import run_for_each

# (tenant, entity, rows so far); called from worker threads.
Progress = Callable[[str, str, int], None]
PROGRESS_EVERY = 500


@dataclass
class TenantExport:
    tenant: str
    vendor: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    error: MDMError | None = None
    seconds: float = 0.0

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


def run_export(
    tenants: Sequence[Tenant],
    *,
    entities: Sequence[EntitySpec],
    sink: Sink,
    format: str,
    workers: int = 4,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    started = time.monotonic()
    parts = Path(tempfile.mkdtemp(prefix="mdmbridge-export-"))
    try:
        index = {tenant.name: number for number, tenant in enumerate(tenants)}

        def work(tenant: Tenant) -> _Collected:
            return _collect(tenant, entities, parts / str(index[tenant.name]), progress)

        try:
            outcomes = {
                o.tenant: o for o in run_for_each(tenants, work, workers=workers, executor=executor)
            }
        except BaseException:  # interrupted while reading (Ctrl-C): no staging output left
            sink.abort()
            raise
        reports: list[TenantExport] = []
        for tenant in tenants:
            outcome = outcomes[tenant.name]
            report = TenantExport(
                tenant.name, tenant.vendor, error=outcome.error, seconds=outcome.seconds
            )
            if outcome.value is not None:
                report.counts, report.skipped = outcome.value.counts, outcome.value.skipped
            reports.append(report)
        good = [parts / str(index[r.tenant]) for r in reports if r.ok]
        written: dict[str, int] = {}
        if not good:
            sink.abort()
            return ExportReport(
                sink.output, format, reports, written, False, time.monotonic() - started
            )
        try:
            for spec in entities:
                written[spec.name] = sink.write(spec, _rows(good, spec.name))
            sink.commit()
        except BaseException:
            sink.abort()
            raise
        return ExportReport(sink.output, format, reports, written, True, time.monotonic() - started)
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _collect(
    tenant: Tenant, entities: Sequence[EntitySpec], folder: Path, progress: Progress | None
) -> _Collected:
    folder.mkdir(parents=True)
    counts: dict[str, int] = {}
    skipped: dict[str, str] = {}
    with tenant.connect(read_only=True) as client:
        for spec in entities:
            if spec.capability not in client.capabilities:
                skipped[spec.name] = f"{client.vendor} has no {spec.name}"
                continue
            columns = spec.columns
            count = 0
            with open(folder / f"{spec.name}.jsonl", "w", encoding="utf-8") as part:
                for record in spec.fetch(client):
                    part.write(json.dumps(to_row(record, columns), ensure_ascii=False))
                    part.write("\n")
                    count += 1
                    if progress is not None and count % PROGRESS_EVERY == 0:
                        progress(tenant.name, spec.name, count)
            counts[spec.name] = count
            if progress is not None:
                progress(tenant.name, spec.name, count)
    return _Collected(counts, skipped)


def _rows(folders: list[Path], entity: str) -> Iterator[dict[str, Any]]:
    for folder in folders:
        path = folder / f"{entity}.jsonl"
        if not path.exists():  # the tenant's vendor has no such entity
            continue
        with open(path, encoding="utf-8") as part:
            for line in part:
                yield json.loads(line)
