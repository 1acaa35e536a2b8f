"""Unified inventory export: every device, user and group of every tenant in one table."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from mdmbridge.config import Tenant
from mdmbridge.errors import ConfigError
from mdmbridge.export.manifest import build_manifest
from mdmbridge.export.runner import ExportReport, Progress, TenantExport, run_export
from mdmbridge.export.schema import (
    DEFAULT_ENTITIES,
    ENTITIES,
    EntitySpec,
    Row,
    parse_entities,
)
from mdmbridge.export.sinks import FORMATS, EncodedSink, Sink, encoding_of, open_target
from mdmbridge.export.target import EXTENSIONS, resolve_target
from mdmbridge.where import Where, parse_where_for


def export(
    tenants: Sequence[Tenant],
    *,
    output: str | Path,
    format: str | None = None,
    entities: str | Sequence[str] | None = None,
    workers: int = 4,
    processes: int = 0,
    executor: Executor | None = None,
    progress: Progress | None = None,
    where: Sequence[str] | Mapping[str, Where] | None = None,
    manifest_line: bool = False,
    stream: BinaryIO | None = None,
) -> ExportResult:
    """Export ``entities`` (default: devices, users, groups) of every tenant into ``output``.

    ``format``: one of :data:`FORMATS`; by default the output's extension says
    (:mod:`mdmbridge.export.target`: ``inv.jsonl``, ``users.csv``, a directory for csv or
    parquet with ``format`` given). ``output="-"`` is stdout (``stream`` if given) for jsonl,
    json, and csv with one entity. ``where``: ``--where`` expressions
    (:mod:`mdmbridge.where`; an unprefixed one applies to every entity exported,
    ``devices.os_version<17`` to devices only), or parsed ones by entity; only the records
    they hold for are exported. ``manifest_line``: a jsonl output's first line is its
    manifest. All of it is checked before anything is written or read.

    The output carries its manifest (:mod:`mdmbridge.export.manifest`); the result's
    ``manifest`` is the same document, for ``--report``."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    specs = parse_entities(
        entities if isinstance(entities, str) or entities is None else ",".join(entities)
    )
    chosen: Mapping[str, Where] | None
    if where is None or isinstance(where, Mapping):
        chosen = where
    else:
        chosen = parse_where_for([where] if isinstance(where, str) else list(where), specs)
    target = resolve_target(output, format, specs)
    if manifest_line and target.format != "jsonl":
        raise ConfigError(
            f"--manifest-line is for jsonl, not {target.format} (sqlite and csv/parquet "
            "directories carry their manifest anyway; --report writes it for any format)"
        )
    sink = open_target(target, stream=stream, manifest_line=manifest_line)
    gate = _CommitLater(sink)
    try:
        report = run_export(
            tenants,
            entities=specs,
            sink=gate,
            format=target.format,
            workers=workers,
            processes=processes,
            executor=executor,
            progress=progress,
            where=chosen,
        )
    except BaseException:  # after the runner asked to commit (its clean-up was interrupted)
        if gate.committed:
            sink.abort()
        raise
    try:
        manifest = build_manifest(
            report,
            started=started,
            finished=datetime.now(UTC),
            entities=[spec.name for spec in specs],
            where=[where] if isinstance(where, str) else where,
        )
        if gate.committed:
            _set_manifest(sink, manifest)
            sink.commit()
    except BaseException:
        if gate.committed:
            sink.abort()
        raise
    values = {f.name: getattr(report, f.name) for f in fields(report)}
    values["seconds"] = time.monotonic() - clock  # the commit too (indexes, the swap)
    return ExportResult(**values, manifest=manifest)


@dataclass
class ExportResult(ExportReport):
    """The runner's report and the manifest the output carries (``--report`` writes it)."""

    manifest: dict[str, Any] = field(default_factory=dict)


class _CommitLater:
    """The sink as the runner sees it, but its ``commit`` only notes that the run wants it:
    the manifest (which tenants failed, the counts) is known only once the runner is done,
    and must go into the output before it moves into place. :func:`export` then sets it
    and commits; everything else passes straight through."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.output = sink.output
        self.committed = False
        self.encoding = encoding_of(sink)

    def prepare(self, entities: Sequence[EntitySpec]) -> None:
        self.sink.prepare(entities)

    def begin(self) -> None:
        self.sink.begin()

    def add(self, entity: EntitySpec, rows: Iterable[Row]) -> int:
        return self.sink.add(entity, rows)

    def add_encoded(self, entity: EntitySpec, lines: Path, count: int) -> int:
        return cast(EncodedSink, self.sink).add_encoded(entity, lines, count)

    def end(self, *, keep: bool) -> None:
        self.sink.end(keep=keep)

    def commit(self) -> None:
        self.committed = True

    def abort(self) -> None:
        self.committed = False
        self.sink.abort()


def _set_manifest(sink: Sink, manifest: dict[str, Any]) -> None:
    """Every built-in sink takes one (``manifest``); a sink that does not simply has none."""
    if hasattr(sink, "manifest"):
        sink.manifest = manifest


__all__ = [
    "DEFAULT_ENTITIES",
    "ENTITIES",
    "EXTENSIONS",
    "FORMATS",
    "EntitySpec",
    "ExportReport",
    "ExportResult",
    "TenantExport",
    "export",
    "parse_entities",
]
