"""Staging, so an export's output appears complete or not at all: every sink writes beside
the output under a hidden ``.<name>.partial-<random>`` name and moves it into place only
when it commits; an interrupted export leaves the previous output untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

from mdmbridge.errors import ConfigError


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
    """A single-file output written to a staging file, then renamed over the output."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.staging = staging_path(output)

    def _finish(self) -> None:
        os.replace(self.staging, self.output)

    def _discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.staging.unlink()


class DirectorySink:
    """A directory of files built under a staging name, then swapped in."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.staging = staging_path(output)
        check_parent(output)
        self.staging.mkdir()

    def _finish(self) -> None:
        if self.output.exists():
            # Keep any files the new export did not write (other entities of an older one):
            # linked or copied, never moved, so the old folder is whole until the swap.
            for old in self.output.iterdir():
                kept = self.staging / old.name
                if not kept.exists():
                    _link_or_copy(old, kept)
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


def _link_or_copy(source: Path, destination: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, destination)
        return
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
