"""Where an export goes and in which format, decided once, from ``--format`` and
``--output``, before a tenant is read: a new user's ``-o inv.jsonl`` gets JSON Lines, not a
SQLite file under that name.

The rules, the same for every format:

* without ``--format``, the extension names the format (:data:`EXTENSIONS`); an unknown or
  missing extension is refused, except for a directory holding an earlier mdmbridge export,
  whose manifest says what it is;
* with ``--format``, a known extension that says otherwise is refused: guessing which of
  the two the user meant would write the wrong thing under a name that promises another;
* csv and parquet write one file when the output is named ``*.csv`` / ``*.parquet`` (one
  entity only), else a directory of ``<entity>.<format>`` files;
* ``-`` is stdout, for the text formats (csv then with one entity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mdmbridge.errors import ConfigError
from mdmbridge.export.manifest import read_manifest
from mdmbridge.export.schema import EntitySpec

FORMATS = ("csv", "jsonl", "json", "sqlite", "parquet")
EXTENSIONS = {
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
TABLE_FORMATS = ("csv", "parquet")  # one table per file: a directory, or one entity's file
STREAMABLE = ("jsonl", "csv", "json")
STDOUT = "-"

Layout = Literal["file", "directory", "stdout"]


@dataclass(frozen=True)
class Target:
    format: str
    path: Path  # Path("-") for stdout
    layout: Layout

    @property
    def stdout(self) -> bool:
        return self.layout == "stdout"


def known_extensions() -> str:
    return ", ".join(EXTENSIONS)


def resolve_target(
    output: str | Path, format: str | None, entities: Sequence[EntitySpec]
) -> Target:
    """The format and the layout of ``output``; a ``ConfigError`` (exit 2, one line) naming
    what does not fit. Nothing is created here."""
    if format is not None and format not in FORMATS:
        raise ConfigError(f"unknown format {format!r} (choose from {', '.join(FORMATS)})")
    if str(output) == STDOUT:
        return _stdout(format, entities)
    path = Path(output).expanduser()
    extension = path.suffix.lower()
    implied = EXTENSIONS.get(extension)
    if format is None:
        format = implied or _format_of_directory(path, extension)
    elif implied is not None and implied != format:
        raise ConfigError(
            f"--format {format} does not match --output {path}: its extension {extension} "
            f"means {implied}; drop --format or change the extension"
        )
    if format in TABLE_FORMATS and extension == f".{format}":
        if len(entities) != 1:
            raise ConfigError(
                f"--output {path} is one {format} file, but the export holds "
                f"{len(entities)} entities ({', '.join(e.name for e in entities)}): choose one "
                f"with --entities, or give a directory for one {format} file per entity"
            )
        return Target(format, path, "file")
    return Target(format, path, "directory" if format in TABLE_FORMATS else "file")


def _stdout(format: str | None, entities: Sequence[EntitySpec]) -> Target:
    if format is None:
        raise ConfigError(f"--output - (stdout) needs --format: one of {', '.join(STREAMABLE)}")
    if format not in STREAMABLE:
        raise ConfigError(
            f"--format {format} cannot be written to stdout (--output -): it needs a "
            f"file; stdout takes {', '.join(STREAMABLE)}"
        )
    if format == "csv" and len(entities) != 1:
        raise ConfigError(
            f"csv on stdout (--output -) holds one entity, but the export holds "
            f"{len(entities)} ({', '.join(e.name for e in entities)}): choose one with "
            "--entities, or give a directory"
        )
    return Target(format, Path(STDOUT), "stdout")


def _format_of_directory(path: Path, extension: str) -> str:
    """An earlier export's directory says its own format; anything else is refused."""
    if path.is_dir():
        manifest = read_manifest(path)
        if manifest is not None and manifest.get("format") in TABLE_FORMATS:
            return str(manifest["format"])
    what = f"unknown extension {extension!r}" if extension else "no extension"
    raise ConfigError(
        f"--output {path}: cannot tell the format ({what}); give --format "
        f"({', '.join(FORMATS)}) or name it *{', *'.join(EXTENSIONS)}; "
        "a directory takes --format csv or parquet"
    )
