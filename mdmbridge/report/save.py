"""Opening the database for reading, and writing the page: whole, or not at all.

A report is often written over yesterday's (a cron job, a web folder): it is written to a
hidden file beside the target, flushed to disk, then renamed over it, so a reader of the
folder sees the old page or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from mdmbridge.errors import ConfigError
from mdmbridge.export.sinks_staging import check_parent, staging_path
from mdmbridge.sync.store import Store, open_store, parse_db_url, shown_url


def open_for_report(db: str) -> Store:
    """The sync package's ``open_store``, but a SQLite file that does not exist is an error
    here: opening it would create an empty file, and a mistyped path should say so."""
    url = parse_db_url(db)
    if url.get_backend_name() == "sqlite" and url.database is not None:
        path = Path(url.database)
        if not path.exists():
            raise ConfigError(
                f"--db {shown_url(url)}: no such file (mdmbridge sync --db creates it)"
            )
        if path.is_dir():
            raise ConfigError(f"--db {shown_url(url)}: a folder, not a database file")
    return open_store(db)


def save_report(text: str, output: Path) -> None:
    """``text`` into ``output`` atomically (temporary file in the same folder, fsync,
    rename); on any failure the staging file is removed and ``output`` is as it was."""
    if output.is_dir():
        raise ConfigError(f"--output {output}: a folder; give the report's file name")
    check_parent(output)
    staging = staging_path(output)
    try:
        with staging.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staging.unlink()
        raise ConfigError(f"--output {output}: cannot write ({exc.strerror or exc})") from None
