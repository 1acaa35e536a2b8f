"""A real PostgreSQL server for the tests: initdb + pg_ctl from the machine's binaries.

Written here rather than taken from pytest-postgresql because it is ~60 lines: a cluster in
a temporary folder, trust authentication, listening on a free loopback port only, stopped
(``pg_ctl stop -m immediate``) when the session ends. It needs no extra dependency and
runs the same as a user or as root (CI), where PostgreSQL refuses to start, so there the
cluster is created and run by the ``postgres`` user (which the Debian package creates).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def pg_bin(name: str) -> str | None:
    """``name`` (initdb, pg_ctl) from PATH or /usr/lib/postgresql/*/bin, newest first."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    port: int
    user: str = "postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database (one per test); its URL."""
        import psycopg

        global _databases
        _databases += 1
        name = f"test_{os.getpid()}_{_databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


_databases = 0


def _as_owner(command: list[str]) -> list[str]:
    """The server refuses to run as root: run it as the ``postgres`` user there."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One server for the whole test session."""
    if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
        pytest.fail("PostgreSQL server binaries not found (.ci/run installs them)")
    with running_postgres() as server:
        yield server


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A throw-away server (also used by benchmarks/sync.py)."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("PostgreSQL server binaries not found")
    folder = Path(tempfile.mkdtemp(prefix="mdmbridge-pg-"))
    data, log = folder / "data", folder / "server.log"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    port = _free_port()
    subprocess.run(
        _as_owner([initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    subprocess.run(
        _as_owner([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer(port)
    finally:
        subprocess.run(
            _as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
