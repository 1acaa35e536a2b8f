"""What a sync keeps of each row it reads: the row and the hash of its normalised form.

Reading is the export's (:mod:`mdmbridge.export.collect`: part files per tenant, a
repeated id fails the tenant, threads, processes or a Dask cluster); a sync's parts hold
``(hash, row)`` pairs, made by :func:`hashed` in the reading worker, so hashing costs the
readers, not the one writing thread.
"""

from __future__ import annotations

import hashlib
import json

from mdmbridge.export.schema import Row

HashedRow = tuple[str, Row]
LEFT_UNCHANGED = "the tenant was left unchanged"

# json.dumps with these options builds a new encoder per call; one, reused, writes the
# same text (the stored hashes depend on it never changing) in less time.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def row_hash(row: Row) -> str:
    """The hash of a normalised row (the export's row: enums as values, times as ISO text,
    raw as compact JSON), so "unchanged" means the same in both databases."""
    return hashlib.blake2b(_ENCODE(row).encode("utf-8"), digest_size=16).hexdigest()


def hashed(row: Row) -> HashedRow:
    """A part's item for a sync (module level, so a job holding it pickles)."""
    return row_hash(row), row
