"""The sync database: opening it from a URL, its schema version, the one-sync-at-a-time lock.

One code path for SQLite and PostgreSQL (SQLAlchemy Core); only the lock differs, because
neither database offers the other's: PostgreSQL has session advisory locks, SQLite has file
locks. Both are released by the operating system or the server when the process holding
them dies, so a SIGKILLed sync never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from mdmbridge.errors import ConfigError, Conflict
from mdmbridge.sync import schema as s

# pg_try_advisory_lock key: "mdmb" + "sync" as a 64-bit number, unlikely to meet another app's.
_PG_LOCK_KEY = 0x6D646D6273796E63


def utc_now() -> str:
    """UTC ISO-8601 with 'Z', to the millisecond: the one time format of the database."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SyncBusy(Conflict):
    """Another sync holds the database."""


def shown_url(url: URL) -> str:
    """The URL for messages: never its password."""
    return url.render_as_string(hide_password=True)


def parse_db_url(text: str) -> URL:
    """``--db``: a file path, ``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    given = text.strip()
    if not given:
        raise ConfigError("--db: empty; give a file path, sqlite:///path or postgresql://...")
    if "://" not in given:
        return URL.create("sqlite", database=str(Path(given).expanduser()))
    try:
        url = make_url(given)
    except (ArgumentError, ValueError):
        raise ConfigError(
            "--db: not a database URL (give a file path, sqlite:///path or "
            "postgresql://user@host:port/db)"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigError("--db sqlite: give a file (sqlite:///path/to/inventory.db)")
        return url.set(drivername="sqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    raise ConfigError(f"--db: unsupported database {backend!r} (sqlite or postgresql)")


def _on_sqlite_connect(dbapi: Any, _record: Any) -> None:
    # WAL: `mdmbridge changes` reads while a sync writes; NORMAL is durable at each commit
    # boundary in WAL mode, and a killed process never corrupts the file.
    # busy_timeout first: switching to WAL waits for a lock another process may hold.
    dbapi.execute("PRAGMA busy_timeout = 30000")
    dbapi.execute("PRAGMA journal_mode = WAL")
    dbapi.execute("PRAGMA synchronous = NORMAL")
    # 64 MiB of page cache (the default is 2 MiB): a first run inserts into the key and
    # change indexes at random places, and past the cache every insert rereads pages.
    dbapi.execute("PRAGMA cache_size = -65536")


@dataclass
class Store:
    """An open sync database."""

    engine: Engine
    url: URL

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def shown(self) -> str:
        return shown_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ schema

    def has_schema(self) -> bool:
        """Whether a sync finished creating the schema: its version row is written last,
        after every table (SQLite's driver commits each CREATE TABLE on its own, so a
        reader can see some tables of a schema still being made)."""
        with self.engine.connect() as conn:
            if not self.engine.dialect.has_table(conn, s.sync_schema.name):
                return False
            return conn.execute(select(func.max(s.sync_schema.c.version))).scalar() is not None

    def migrate(self) -> None:
        """Create what is missing (new entity tables included) and record the version.
        Only a sync calls this, holding the lock; readers never write."""
        with self.engine.begin() as conn:
            s.metadata.create_all(conn, checkfirst=True)
            version = conn.execute(select(func.max(s.sync_schema.c.version))).scalar()
            if version is None:
                conn.execute(s.sync_schema.insert().values(version=s.SCHEMA_VERSION))
            elif version > s.SCHEMA_VERSION:
                raise ConfigError(
                    f"--db {self.shown}: schema version {version} is newer than this "
                    f"mdmbridge knows ({s.SCHEMA_VERSION}); upgrade mdmbridge"
                )
            # Versions below SCHEMA_VERSION migrate here, one step per version, in order.

    def require_schema(self) -> None:
        if not self.has_schema():
            raise ConfigError(f"--db {self.shown}: no sync has run here yet (run mdmbridge sync)")

    # ------------------------------------------------------------------ runs

    def mark_interrupted(self, conn: Connection) -> None:
        """A run still ``running`` while we hold the lock was killed: say so."""
        conn.execute(
            s.sync_runs.update()
            .where(s.sync_runs.c.outcome == "running")
            .values(outcome="interrupted", finished=None)
        )

    def start_run(self, version: str, tenants: list[str], entities: list[str]) -> int:
        with self.engine.begin() as conn:
            self.mark_interrupted(conn)
            result = conn.execute(
                s.sync_runs.insert().values(
                    started=utc_now(),
                    finished=None,
                    mdmbridge_version=version,
                    tenants=json.dumps(tenants),
                    entities=json.dumps(entities),
                    outcome="running",
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(self, run_id: int, outcome: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                s.sync_runs.update()
                .where(s.sync_runs.c.id == run_id)
                .values(outcome=outcome, finished=utc_now())
            )

    def running_run(self) -> str:
        """Words for the run holding the lock, for the refusal."""
        with contextlib.suppress(SQLAlchemyError), self.engine.connect() as conn:
            row = conn.execute(
                select(s.sync_runs.c.id, s.sync_runs.c.started)
                .where(s.sync_runs.c.outcome == "running")
                .order_by(s.sync_runs.c.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                return f"run {row.id}, started {row.started}"
        return "a run that is starting"

    # ------------------------------------------------------------------ the lock

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the one-sync-at-a-time lock, or refuse at once naming the other run."""
        if self.is_sqlite:
            with self._sqlite_lock():
                yield
        else:
            with self._pg_lock():
                yield

    def _refuse(self) -> SyncBusy:
        return SyncBusy(
            f"--db {self.shown}: another mdmbridge sync is running ({self.running_run()}); "
            "try again when it has finished"
        )

    @contextlib.contextmanager
    def _sqlite_lock(self) -> Iterator[None]:
        # A side file held in a write transaction (BEGIN IMMEDIATE): the database file's own
        # locks are taken and released by every tenant's transaction, so they cannot also
        # say "a sync is running". The OS drops the file lock with the process.
        assert self.url.database is not None
        path = f"{self.url.database}.sync-lock"
        try:
            lock = sqlite3.connect(path, timeout=0, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigError(f"--db {self.shown}: cannot open {path}: {exc}") from None
        try:
            try:
                lock.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                raise self._refuse() from None
            yield
        finally:
            lock.close()

    @contextlib.contextmanager
    def _pg_lock(self) -> Iterator[None]:
        # A session advisory lock on its own connection, held for the whole run; the
        # server releases it when that connection closes or the process dies.
        with self.engine.connect() as conn:
            got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({_PG_LOCK_KEY})").scalar()
            conn.commit()
            if not got:
                raise self._refuse()
            try:
                yield
            finally:
                with contextlib.suppress(SQLAlchemyError):
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})")
                    conn.commit()


def open_store(text: str) -> Store:
    """Open ``--db`` and check it answers: a bad URL or an unreachable database is one
    ``ConfigError`` line naming the URL (without its password)."""
    url = parse_db_url(text)
    shown = shown_url(url)
    try:
        if url.get_backend_name() == "sqlite":
            assert url.database is not None
            folder = Path(url.database).parent
            if not folder.is_dir():
                raise ConfigError(f"--db {shown}: the folder {folder} does not exist")
            engine = create_engine(url)
            event.listen(engine, "connect", _on_sqlite_connect)
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (NoSuchModuleError, ModuleNotFoundError):
        raise ConfigError(
            f"--db {shown}: PostgreSQL needs psycopg (pip install 'mdmbridge[postgresql]')"
        ) from None
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigError(f"--db {shown}: cannot connect ({_reason(exc)})") from None
    return Store(engine, url)


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's first line, without SQLAlchemy's background link."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__
