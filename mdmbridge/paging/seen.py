"""The ids a listing has already yielded: exact, page at a time, and flat in memory.

Every pager refuses an id listed twice, so it must remember every id it has yielded. A
Python dict of a million id strings costs some 100 MB, which breaks issue 10's "peak RSS at
most 50 MB above the 10,000-device run at 1,000,000 devices". :class:`SeenIds` keeps the ids
in a dict while the listing is small (the common case, at C speed), then moves them into a
temporary SQLite file, the id as its primary key, whose memory is a bounded page cache.

[decision] Exact, never probabilistic: a Bloom filter or a truncated hash would turn a
one-in-a-billion collision into a listing refused for a "duplicate" it does not hold (or,
worse, a real duplicate let through), and the error names both positions, so the first
sighting must be stored anyway. An on-disk B-tree is exact, and stdlib.

The API is a page at a time (:meth:`SeenIds.find_repeat`, then :meth:`SeenIds.add`) so that
the per-id work stays inside C loops (``set``, ``dict.update``, ``executemany``) rather than
one Python call per id. Checking and recording are separate because the pagers check a page,
may fetch it once more, and record only the page they accept.

Threads: one ``SeenIds`` per listing. Its methods hold a lock, so a listing handed from one
thread to another (a generator resumed elsewhere) still works; the SQLite connection is
opened with ``check_same_thread=False`` for that reason, and because the finaliser that
closes it may run in whichever thread collects the object.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import sqlite3

T = TypeVar("T")

SPILL_AT = 50_000  # ids kept in a dict before moving to disk: ~7 MB of GUIDs
CACHE_KIB = 8 * 1024  # SQLite's page cache once spilled: the memory bound on disk
BATCH = 1000  # items checked at a time by the pagers that read item by item
_LOOKUP_CHUNK = 1000  # ids in one ``IN (...)`` query at most (or the SQLite build's limit)


@dataclass(frozen=True)
class Repeat:
    """The first id of a page that was seen before, and where.

    ``index`` is its place in the page (from 0). Exactly one of ``first`` (the tag recorded
    with an earlier page's copy) and ``first_index`` (the place of an earlier copy in this
    same page) is set.
    """

    ident: str
    index: int
    first: int | None
    first_index: int | None


class SeenIds:
    """An exact set of ids, each with the tag (page or position) of its first sighting.

    ``spill_at`` ids stay in memory; past that, every id moves to a temporary SQLite file in
    ``directory`` (default: the system temporary folder), removed by :meth:`close`, by the
    ``with`` block, or at the latest when the object is collected. On POSIX the file is
    unlinked as soon as it is open, so not even a killed process leaves it behind.
    """

    def __init__(
        self,
        *,
        spill_at: int = SPILL_AT,
        directory: str | os.PathLike[str] | None = None,
        cache_kib: int = CACHE_KIB,
    ) -> None:
        if spill_at < 0:
            raise ValueError(f"spill_at must be 0 or more, not {spill_at}")
        self.spill_at = spill_at
        self._directory = directory
        self._cache_kib = cache_kib
        self._memory: dict[str, int] = {}
        self._db: sqlite3.Connection | None = None
        self._chunk = _LOOKUP_CHUNK
        self._closed = False
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[[sqlite3.Connection, str], SeenIds] | None = None

    # state ---------------------------------------------------------------------------------

    @property
    def spilled(self) -> bool:
        """Whether the ids live on disk now (the in-memory dict is then empty)."""
        return self._db is not None

    @property
    def in_memory(self) -> int:
        """How many ids the in-memory dict holds (0 once spilled)."""
        return len(self._memory)

    def __len__(self) -> int:
        with self._lock:
            if self._db is None:
                return len(self._memory)
            (count,) = self._db.execute("SELECT count(*) FROM seen").fetchone()
            return int(count)

    def __repr__(self) -> str:
        where = "on disk" if self.spilled else "in memory"
        return f"SeenIds({len(self)} ids {where})"

    # the page API --------------------------------------------------------------------------

    def find_repeat(self, ids: Sequence[str]) -> Repeat | None:
        """The first id of ``ids`` (in order) already recorded, or held earlier in ``ids``
        itself; ``None`` when every id is new. Records nothing."""
        with self._lock:
            self._check_open()
            inside = _repeat_inside(ids)
            earlier = self._earlier(ids, len(ids) if inside is None else inside.index)
            return earlier if earlier is not None else inside

    def add(self, ids: Sequence[str], tags: int | Sequence[int]) -> None:
        """Record ``ids`` (found new by :meth:`find_repeat`: an id recorded twice keeps
        the later tag), each with its tag: one for the whole page, or one per id (a
        ``range`` of positions)."""
        if isinstance(tags, int):
            pairs: Iterable[tuple[str, int]] = zip(ids, repeat(tags))
        elif len(tags) != len(ids):
            raise ValueError(f"{len(ids)} ids but {len(tags)} tags")
        else:
            pairs = zip(ids, tags, strict=True)
        with self._lock:
            self._check_open()
            if self._db is None and len(self._memory) + len(ids) <= self.spill_at:
                self._memory.update(pairs)
                return
            db = self._db if self._db is not None else self._spill()
            rows = ((_blob(ident), tag) for ident, tag in pairs)
            db.executemany("INSERT OR REPLACE INTO seen (id, tag) VALUES (?, ?)", rows)

    def add_new(self, ids: Sequence[str], tags: int | Sequence[int]) -> Repeat | None:
        """:meth:`find_repeat`, then :meth:`add` if every id was new."""
        found = self.find_repeat(ids)
        if found is None:
            self.add(ids, tags)
        return found

    # lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Forget every id and remove the temporary file; calling it twice is harmless."""
        with self._lock:
            self._closed = True
            self._memory = {}
            if self._finalizer is not None:
                self._finalizer()
            self._db = None

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # inside --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("this SeenIds is closed")

    def _earlier(self, ids: Sequence[str], upto: int) -> Repeat | None:
        """The first of ``ids[:upto]`` recorded by an earlier page."""
        if not upto:
            return None
        if self._db is None:
            memory = self._memory
            if memory.keys().isdisjoint(islice(ids, upto)):  # the common case, in C
                return None
            for index in range(upto):
                tag = memory.get(ids[index])
                if tag is not None:
                    return Repeat(ids[index], index, tag, None)
            return None  # pragma: no cover - isdisjoint said otherwise
        found: dict[bytes, int] = {}
        blobs = [_blob(ident) for ident in islice(ids, upto)]
        for start in range(0, upto, self._chunk):
            chunk = blobs[start : start + self._chunk]
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT id, tag FROM seen WHERE id IN ({marks})", chunk))
        if not found:
            return None
        index = next(i for i, blob in enumerate(blobs) if blob in found)
        return Repeat(ids[index], index, found[blobs[index]], None)

    def _spill(self) -> sqlite3.Connection:
        """Move the in-memory ids to a new temporary SQLite file and drop the dict."""
        import sqlite3  # only once a listing outgrows memory: most commands never load it

        handle, path = tempfile.mkstemp(
            prefix="mdmbridge-seen-", suffix=".sqlite", dir=self._directory
        )
        os.close(handle)
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except BaseException:
            os.unlink(path)
            raise
        self._finalizer = weakref.finalize(self, _remove, db, path)
        if os.name == "posix":
            # Gone from the folder at once, so even a killed process leaves nothing behind;
            # safe because with no journal SQLite never checks the file is still linked.
            os.unlink(path)
        # A scratch file: no journal, no fsync, one long transaction never committed
        # (nothing needs to survive a crash), and a bounded cache as the memory ceiling.
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "temp_store = FILE",
            "locking_mode = EXCLUSIVE",
            f"cache_size = -{int(self._cache_kib)}",
        ):
            db.execute(f"PRAGMA {pragma}")
        self._chunk = min(_LOOKUP_CHUNK, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        db.execute("CREATE TABLE seen (id BLOB PRIMARY KEY, tag INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("BEGIN")
        memory, self._memory = self._memory, {}
        db.executemany(
            "INSERT INTO seen (id, tag) VALUES (?, ?)",
            ((_blob(ident), tag) for ident, tag in memory.items()),
        )
        self._db = db
        return db


def _repeat_inside(ids: Sequence[str]) -> Repeat | None:
    """The first id that ``ids`` holds twice, at its second place."""
    if len(set(ids)) == len(ids):  # the common case, in C
        return None
    places: dict[str, int] = {}
    for index, ident in enumerate(ids):
        earlier = places.setdefault(ident, index)
        if earlier != index:
            return Repeat(ident, index, None, earlier)
    return None  # pragma: no cover - the set said otherwise


def _blob(ident: str) -> bytes:
    """An id as the bytes SQLite compares: UTF-8, with lone surrogates kept (a JSON string
    may hold one) so that two different ids never meet; NUL characters survive in a BLOB."""
    try:
        return ident.encode("utf-8", "surrogatepass")
    except AttributeError:
        raise TypeError(f"an id must be a string, not {type(ident).__name__}") from None


def _remove(db: sqlite3.Connection, path: str) -> None:
    db.close()
    with contextlib.suppress(FileNotFoundError):  # already gone on POSIX
        os.unlink(path)


def batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    """``items`` in lists of ``size``, for checking page at a time an input read item by item.

    When the input fails part-way (a malformed item of a streamed array), the items read
    before the failure come out first, as a short list, and the error follows: the caller
    still gets every good item before the broken one, as it would item by item.
    """
    source = iter(items)
    while True:
        batch: list[T] = []
        try:
            batch.extend(islice(source, size))  # keeps what it read if the input fails
        except Exception:
            if batch:
                yield batch
            raise
        if batch:
            yield batch
        if len(batch) < size:
            return
