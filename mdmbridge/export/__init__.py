"""Unified inventory export: every device, user and group of every tenant in one table."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path

from mdmbridge.config import Tenant
from mdmbridge.export.runner import ExportReport, Progress, TenantExport, run_export
from mdmbridge.export.schema import DEFAULT_ENTITIES, ENTITIES, EntitySpec, parse_entities
from mdmbridge.export.sinks import FORMATS, open_sink


def export(
    tenants: Sequence[Tenant],
    *,
    output: str | Path,
    format: str = "sqlite",
    entities: str | Sequence[str] | None = None,
    workers: int = 4,
    processes: int = 0,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Export ``entities`` (default: devices, users, groups) of every tenant into ``output``."""
    specs = parse_entities(
        entities if isinstance(entities, str) or entities is None else ",".join(entities)
    )
    sink = open_sink(format, output)
    return run_export(
        tenants,
        entities=specs,
        sink=sink,
        format=format,
        workers=workers,
        processes=processes,
        executor=executor,
        progress=progress,
    )


__all__ = [
    "DEFAULT_ENTITIES",
    "ENTITIES",
    "FORMATS",
    "EntitySpec",
    "ExportReport",
    "TenantExport",
    "export",
    "parse_entities",
]
