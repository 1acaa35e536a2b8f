"""``mdmbridge sync --executor dask://HOST:PORT``: tenants read on a real Dask cluster (two
worker processes), the database written here; the same database as a sync on threads, and
a worker killed mid-run fails (or retries) only the tenants it held, each applied whole or
not at all."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from sqlalchemy import func, select  # noqa: E402

from mdmbridge.config import CONFIG_ENV, Tenant, parse_tenant  # noqa: E402
from mdmbridge.executors import connect  # noqa: E402
from mdmbridge.export.schema import parse_entities  # noqa: E402
from mdmbridge.simulation import SimServer  # noqa: E402
from mdmbridge.sync import schema as s  # noqa: E402
from mdmbridge.sync.run import SyncReport, run_sync  # noqa: E402
from mdmbridge.sync.store import open_store  # noqa: E402
from tests.dask_cluster import make_cluster  # noqa: E402
from tests.support import DUO_PASSWORD, EZ_KEY  # noqa: E402
from tests.sync_fleet import Fleet, changes_json, mutate, run, state_of  # noqa: E402

pytest_plugins = ["tests.sync_fleet"]  # the fleet fixture
Factory = Callable[..., SimServer]


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """The cluster's workers hold the variables the tenants file names (``env:``): secrets
    are resolved where a tenant is read (docs/scale.md), so a worker process inherits
    them when it starts, as a real worker's service unit would set them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
        patch.setenv("TEST_EZ_KEY", EZ_KEY)
        running = make_cluster()
    with running:
        yield running


def _dask(address: str) -> str:
    return address.replace("tcp://", "dask://")


def _sync(capsys: pytest.CaptureFixture[str], fleet: Fleet, db: str, *extra: str) -> int:
    code, _, _ = run(capsys, "--config", str(fleet.config()), "sync", "--db", db, *extra)
    return code


def test_dask_sync_equals_threads_sync(
    capsys: pytest.CaptureFixture[str], cluster: Any, fleet: Fleet, tmp_path: Path
) -> None:
    """Two runs with additions, a removal, reassignments and a failed tenant between them:
    the cluster's database says exactly what the threads' database says."""
    on_threads, on_dask = str(tmp_path / "threads.db"), str(tmp_path / "dask.db")
    executor = ("--executor", _dask(cluster.scheduler_address))
    assert _sync(capsys, fleet, on_threads) == 0
    assert _sync(capsys, fleet, on_dask, *executor) == 0
    assert state_of(on_dask) == state_of(on_threads)
    mutate(fleet)  # ... and nordic-duo now fails to list (a 503 storm)
    assert _sync(capsys, fleet, on_threads) == 1
    assert _sync(capsys, fleet, on_dask, *executor) == 1
    assert state_of(on_dask) == state_of(on_threads)
    second = changes_json(capsys, on_dask, "--run", "2")
    assert second and {c["tenant"] for c in second} == {"acme-duo"}  # nordic failed: nothing


def test_cli_refuses_a_bad_executor_url_before_touching_the_database(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path
) -> None:
    db = tmp_path / "never.db"
    code, _, err = run(
        capsys, "--config", str(fleet.config()), "sync", "--db", str(db), "--executor", "http://x"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "expected dask://HOST:PORT" in err
    store = open_store(str(db))
    try:
        assert not store.has_schema()  # no run was started
    finally:
        store.close()


# ------------------------------------------------------------------ a worker killed mid-run


def _slow_tenants(ez_sim: Factory) -> tuple[list[Tenant], list[SimServer]]:
    """Four ezmdm tenants slow enough (latency, small pages) to be mid-read when a worker
    is killed."""
    servers = [ez_sim(devices=40, seed=60 + n) for n in range(4)]
    tenants = []
    for number, server in enumerate(servers):
        server.faults.latency_s = 0.15
        settings = {"vendor": "ezmdm", "base_url": server.base_url, "api_key": EZ_KEY}
        tenants.append(parse_tenant(f"slow-{number}", {**settings, "page_size": 5}))
    return tenants, servers


def _sync_killing_a_worker(
    address: str, db: str, tenants: list[Tenant], servers: list[SimServer]
) -> SyncReport:
    executor = connect(_dask(address))
    result: dict[str, SyncReport] = {}
    store = open_store(db)

    def sync() -> None:
        specs = parse_entities("devices,users")
        result["report"] = run_sync(store, tenants, entities=specs, executor=executor)

    try:
        pids = executor._client.run(os.getpid)
        thread = threading.Thread(target=sync)
        thread.start()
        # Both single-threaded workers are mid-read once two simulators are being read.
        while sum(1 for server in servers if server.count() > 0) < 2 and thread.is_alive():
            time.sleep(0.02)
        os.kill(sorted(pids.values())[0], signal.SIGKILL)
        thread.join()
    finally:
        executor.shutdown()
        store.close()
    return result["report"]


def _devices_per_tenant(db: str) -> dict[str, int]:
    store = open_store(db)
    try:
        with store.engine.connect() as conn:
            t = s.entity_tables["devices"]
            found = conn.execute(select(t.c.tenant, func.count()).group_by(t.c.tenant)).all()
    finally:
        store.close()
    return {tenant: count for tenant, count in found}


def _check_whole_or_failed(report: SyncReport, db: str) -> None:
    """Every tenant is in the database whole and ``ok``, or ``failed`` and absent."""
    held = _devices_per_tenant(db)
    assert len(report.tenants) == 4
    for tenant in report.tenants:
        if tenant.status == "ok":
            assert held.get(tenant.tenant) == tenant.counts["devices"] == 40
        else:
            assert tenant.status == "failed" and tenant.tenant not in held
            assert tenant.error is not None
            assert "worker process died while syncing" in str(tenant.error)


def test_worker_killed_mid_sync_is_retried_or_fails_alone(
    cluster: Any, ez_sim: Factory, tmp_path: Path
) -> None:
    """Dask's default: the killed worker's task runs again on the other worker."""
    tenants, servers = _slow_tenants(ez_sim)
    db = str(tmp_path / "inventory.db")
    report = _sync_killing_a_worker(cluster.scheduler_address, db, tenants, servers)
    _check_whole_or_failed(report, db)
    cluster.wait_for_workers(2)  # the nanny restarted it: the module's cluster is whole again


def test_worker_killed_with_no_retries_then_a_rerun_equals_an_uninterrupted_sync(
    ez_sim: Factory, tmp_path: Path
) -> None:
    """No retries allowed: the tenant the killed worker held fails, named, and changes
    nothing; a rerun gives the database an uninterrupted sync gives."""
    tenants, servers = _slow_tenants(ez_sim)
    killed, reference = str(tmp_path / "killed.db"), str(tmp_path / "reference.db")
    with make_cluster(**{"distributed.scheduler.allowed-failures": 0}) as cluster:
        report = _sync_killing_a_worker(cluster.scheduler_address, killed, tenants, servers)
    _check_whole_or_failed(report, killed)
    assert 1 <= len(report.failed) < 4 and report.outcome == "partial"
    for server in servers:
        server.faults.latency_s = 0.0
    specs = parse_entities("devices,users")
    for db in (killed, reference):
        store = open_store(db)
        try:
            assert run_sync(store, tenants, entities=specs).outcome == "ok"
        finally:
            store.close()
    assert _devices_per_tenant(killed) == _devices_per_tenant(reference)
    assert state_of(killed)["tables"] == state_of(reference)["tables"]
