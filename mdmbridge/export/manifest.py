"""What an export says about itself: which mdmbridge wrote it, when, which tenants it holds
and which failed (and why), how many rows of each entity, and the filters applied. A cron
job or the next morning's reader can then tell a complete inventory from one a tenant is
missing from, without the log of the run.

Where it goes: an ``_export`` table in SQLite (``key``, ``value`` as JSON text), a
``manifest.json`` in a csv/parquet directory (also how a directory is recognised as an
earlier export that may be replaced), the first line of a JSON Lines file with
``--manifest-line`` (``{"entity":"_export",...}``), and, for every format, the file
``--report`` names. A single csv/parquet file and the json document have no room for one
that readers would not trip over: ``--report`` is theirs.

Vendor totals (the vendor's own count of a listing, proof that the listing is complete) are
what the pager checked the listing against (``mdmbridge.paging.totals``): ezmdm gives one;
a vendor that gives none (DuoSTATION's unpaged arrays) gets ``null``, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from mdmbridge.documents import save_document
from mdmbridge.errors import ConfigError, MDMError
from mdmbridge.redaction import redact_registered

if TYPE_CHECKING:
    from mdmbridge.export.runner import ExportReport

MANIFEST_FILE = "manifest.json"
KIND = "mdmbridge-export"  # the value of "manifest": how an earlier export is recognised
MANIFEST_VERSION = 1
MANIFEST_ENTITY = "_export"  # the SQLite table, and the ``entity`` of the jsonl manifest line


def build_manifest(
    report: ExportReport,
    *,
    started: datetime,
    finished: datetime,
    entities: Sequence[str],
    where: Sequence[str] | Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The manifest of a finished run (committed or not); JSON-ready, keys in reading order."""
    from mdmbridge import __version__

    return {
        "manifest": KIND,
        "manifest_version": MANIFEST_VERSION,
        "mdmbridge_version": __version__,
        "format": report.format,
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "seconds": round((finished - started).total_seconds(), 3),
        "entities": list(entities),
        "where": _where_text(where),
        "committed": report.committed,
        "written": dict(report.written),
        "tenants": [
            {
                "tenant": t.tenant,
                "vendor": t.vendor,
                "status": "ok" if t.ok else "failed",
                "error": None if t.error is None else redact_registered(str(t.error)),
                "error_type": None if t.error is None else type(t.error).__name__,
                "counts": dict(t.counts),
                "skipped": dict(t.skipped),
                "vendor_totals": dict(t.vendor_totals) or None,  # where the vendor gives one
                "seconds": round(t.seconds, 3),
            }
            for t in report.tenants
        ],
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _where_text(where: Sequence[str] | Mapping[str, Any] | None) -> list[str] | dict[str, str]:
    """The filters as given (``--where`` text), or parsed ones by entity as their text."""
    if where is None:
        return []
    if isinstance(where, str):
        return [where]
    if isinstance(where, Mapping):
        return {entity: str(condition) for entity, condition in where.items()}
    return list(where)


def manifest_json(manifest: Mapping[str, Any], *, indent: bool = True) -> bytes:
    encoded = msgspec.json.encode(manifest)
    return msgspec.json.format(encoded, indent=2) + b"\n" if indent else encoded


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of an earlier export in ``directory``, or None when it holds none (or
    something else under that name: a file we did not write is not ours to trust)."""
    try:
        data = msgspec.json.decode((directory / MANIFEST_FILE).read_bytes())
    except (OSError, msgspec.DecodeError):
        return None
    if not isinstance(data, dict) or data.get("manifest") != KIND:
        return None
    return data


def check_report_path(path: Path) -> None:
    """``--report``'s file must be writable where it is asked for: checked before any tenant
    is read, so a cron job's typo costs nothing."""
    if path.is_dir():
        raise ConfigError(f"--report {path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise ConfigError(f"--report {path}: the folder {path.parent} does not exist")


def failure_report(output: Path, error: MDMError) -> dict[str, Any]:
    """The report of a run whose output could not be written: no manifest was made."""
    from mdmbridge import __version__

    return {
        "manifest": KIND,
        "manifest_version": MANIFEST_VERSION,
        "mdmbridge_version": __version__,
        "output": str(output),
        "committed": False,
        "error": redact_registered(str(error)),
    }


def write_report(path: Path, document: Mapping[str, Any], *, exit_code: int) -> None:
    """The run's summary as one JSON document, written whole then renamed (never half a
    report for the cron job to misread), with the command's exit code."""
    save_document(path, {**document, "exit_code": exit_code}, what="report")
