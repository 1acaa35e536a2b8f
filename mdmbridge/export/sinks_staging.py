"""Staging, so an export's output appears complete or not at all: every sink writes beside
the output under a hidden ``.<name>.partial-<random>`` name and moves it into place only
when it commits; an interrupted export leaves the previous output untouched. A directory
is swapped in whole (:class:`DirectorySink`), never merged with the one it replaces.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from mdmbridge.errors import ConfigError
from mdmbridge.export.manifest import (
    KIND,
    MANIFEST_FILE,
    MANIFEST_VERSION,
    manifest_json,
    read_manifest,
)


def staging_path(path: Path) -> Path:
    """A fresh hidden name beside ``path`` (same folder, so the final rename is atomic)."""
    return path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")


def check_parent(path: Path) -> None:
    """The output's folder must exist: a ``ConfigError`` naming what is missing or a file."""
    if path.parent.is_dir():
        return
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ConfigError(f"--output {path}: {ancestor} is a file, not a folder")
            break
    raise ConfigError(f"--output {path}: the folder {path.parent} does not exist")


class FileSink:
    """A single-file output written to a staging file, then renamed over the output; or,
    for stdout (``stream``), staged in the temporary folder and copied out whole at commit,
    so a tenant taken back out never reaches the reader of the pipe either."""

    def __init__(self, output: Path, *, stream: BinaryIO | None = None) -> None:
        self.output = output
        self.stream = stream
        self.manifest: Mapping[str, Any] | None = None  # set before commit (export.manifest)
        if stream is None:
            self.staging = staging_path(output)
        else:
            handle, name = tempfile.mkstemp(prefix=".mdmbridge-stdout.partial-")
            os.close(handle)
            self.staging = Path(name)

    def _finish(self) -> None:
        if self.stream is None:
            os.replace(self.staging, self.output)
            return
        try:
            with open(self.staging, "rb") as staged:
                shutil.copyfileobj(staged, self.stream, 1 << 20)
            self.stream.flush()
        finally:
            self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.staging.unlink()


class DirectorySink:
    """A directory of files built under a staging name beside the output, then swapped in
    whole: the old directory renamed aside, the new one renamed in, the old one removed.
    Files of an earlier run never mix with this one's, as a SQLite file is replaced whole.

    Replacing a directory deletes what it held, so only one mdmbridge wrote is replaced:
    an empty one, or one whose manifest (``manifest.json``) lists every file in it. A user's
    ``-o ~/Documents`` is refused before anything is read."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.manifest: Mapping[str, Any] | None = None  # set before commit (export.manifest)
        check_parent(output)
        check_replaceable(output)
        self.staging = staging_path(output)
        self.staging.mkdir()

    format = ""  # the subclass's: named in the manifest

    def _finish(self) -> None:
        # Always a manifest, even without the run's (a sink used on its own): without one,
        # the next export would refuse to replace this directory.
        files = sorted(p.name for p in self.staging.iterdir() if not p.name.startswith("."))
        bare = {"manifest": KIND, "manifest_version": MANIFEST_VERSION, "format": self.format}
        document = {**(self.manifest or bare), "files": files}
        (self.staging / MANIFEST_FILE).write_bytes(manifest_json(document))
        check_replaceable(self.output)  # again: a file may have been put there meanwhile
        if self.output.exists():
            previous = staging_path(self.output)
            os.replace(self.output, previous)
            try:
                os.replace(self.staging, self.output)
            except OSError:
                os.replace(previous, self.output)  # put the old output back
                raise
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(self.staging, self.output)

    def _discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def check_replaceable(path: Path) -> None:
    """A ``ConfigError`` unless ``path`` is missing, an empty directory, or an earlier
    mdmbridge export holding nothing its manifest does not list."""
    if not path.is_dir():
        return
    entries = sorted(p.name for p in path.iterdir())
    if not entries:
        return
    manifest = read_manifest(path)
    if manifest is None:
        raise ConfigError(
            f"--output {path} is a directory mdmbridge did not write (it holds {entries[0]!r} "
            f"and no {MANIFEST_FILE} of an earlier export), and an export replaces its "
            "directory whole: give a new or empty directory"
        )
    listed = manifest.get("files")
    ours = {MANIFEST_FILE, *(listed if isinstance(listed, list) else [])}
    foreign = [name for name in entries if name not in ours]
    if foreign:
        raise ConfigError(
            f"--output {path} holds {foreign[0]!r}, which its earlier export did not write, "
            "and an export replaces its directory whole: move it out, or give another "
            "directory"
        )
