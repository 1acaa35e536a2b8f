"""Unified inventory export: every device, user and group of every tenant in one table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path

from mdmbridge.config import Tenant
from mdmbridge.export.runner import ExportReport, Progress, TenantExport, run_export
from mdmbridge.export.schema import DEFAULT_ENTITIES, ENTITIES, EntitySpec, parse_entities
from mdmbridge.export.sinks import FORMATS, open_sink
from mdmbridge.where import Where, parse_where_for


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
    where: Sequence[str] | Mapping[str, Where] | None = None,
) -> ExportReport:
    """Export ``entities`` (default: devices, users, groups) of every tenant into ``output``.

    ``where``: ``--where`` expressions (:mod:`mdmbridge.where`; an unprefixed one applies to
    every entity exported, ``devices.os_version<17`` to devices only), or parsed ones by
    entity; only the records they hold for are exported. Checked before anything is
    written or read (a ``WhereError``)."""
    specs = parse_entities(
        entities if isinstance(entities, str) or entities is None else ",".join(entities)
    )
    chosen: Mapping[str, Where] | None
    if where is None or isinstance(where, Mapping):
        chosen = where
    else:
        chosen = parse_where_for([where] if isinstance(where, str) else list(where), specs)
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
        where=chosen,
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
