"""``--executor dask://HOST:PORT``: tenants read on a real Dask cluster (a LocalCluster of two
worker processes), from live simulators, the output written here; equal to the threads
export, and a worker killed mid-run fails (or retries) only the tenants it held."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from mdmbridge.cli import main  # noqa: E402
from mdmbridge.config import Tenant, parse_tenant  # noqa: E402
from mdmbridge.errors import ConfigError  # noqa: E402
from mdmbridge.executors import (  # noqa: E402
    DaskExecutor,
    connect,
    scheduler_address,
    shares_disk,
)
from mdmbridge.export import ExportReport, export  # noqa: E402
from mdmbridge.simulation import SimServer  # noqa: E402
from tests.dask_cluster import make_cluster  # noqa: E402
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY  # noqa: E402

pytest_plugins = ["tests.dask_cluster"]  # the cluster fixture
Factory = Callable[..., SimServer]
ENTITIES = "devices,users,groups"


def _executor(address: str) -> DaskExecutor:
    return connect(address.replace("tcp://", "dask://"))


def _settings(duo_sim: Factory, ez_sim: Factory, *, bad: bool = True) -> dict[str, dict[str, Any]]:
    duo_a, duo_b = duo_sim(devices=45, seed=41), duo_sim(devices=30, seed=42)
    ez = ez_sim(devices=55, seed=43)
    duo = {"vendor": "duostation", "username": DUO_USER, "password": DUO_PASSWORD}
    settings: dict[str, dict[str, Any]] = {
        "d-acme": duo | {"base_url": duo_a.base_url},
        "e-acme": {"vendor": "ezmdm", "base_url": ez.base_url, "api_key": EZ_KEY, "page_size": 20},
        "d-nordic": duo | {"base_url": duo_b.base_url},
    }
    if bad:  # refused credentials: isolated and named, on the cluster as with threads
        settings["e-bad"] = {"vendor": "ezmdm", "base_url": ez.base_url, "api_key": "WRONGKEY12345"}
    return settings


def _tenants(duo_sim: Factory, ez_sim: Factory, *, bad: bool = True) -> list[Tenant]:
    return [parse_tenant(n, t) for n, t in _settings(duo_sim, ez_sim, bad=bad).items()]


# The run's own record (times, seconds) differs between any two runs: not compared.
RUN_RECORDS = ("manifest.json", "_export")


def _files(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name not in RUN_RECORDS)
        return {p.name: p.read_bytes() for p in files}
    return {"": path.read_bytes()}


def _sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            n: db.execute(f'SELECT * FROM "{n}" ORDER BY rowid').fetchall()
            for n in names
            if n not in RUN_RECORDS
        }


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "sqlite"])
def test_dask_export_equals_threads_export(
    cluster: Any, duo_sim: Factory, ez_sim: Factory, tmp_path: Path, fmt: str
) -> None:
    tenants = _tenants(duo_sim, ez_sim)
    name = "out" if fmt == "csv" else f"out.{fmt}"
    (tmp_path / "threads").mkdir()
    (tmp_path / "dask").mkdir()
    threads = export(tenants, output=tmp_path / "threads" / name, format=fmt, entities=ENTITIES)
    executor = _executor(cluster.scheduler_address)
    try:
        assert not shares_disk(executor)
        on_dask = export(
            tenants,
            output=tmp_path / "dask" / name,
            format=fmt,
            entities=ENTITIES,
            executor=executor,
        )
    finally:
        executor.shutdown()
    assert on_dask.written == threads.written
    assert on_dask.written["devices"] == 45 + 55 + 30
    assert {t.tenant: t.counts for t in on_dask.tenants} == {
        t.tenant: t.counts for t in threads.tenants
    }
    assert {t.tenant: type(t.error).__name__ for t in on_dask.failed} == {"e-bad": "AuthError"}
    if fmt == "sqlite":
        assert _sqlite_rows(tmp_path / "dask" / name) == _sqlite_rows(tmp_path / "threads" / name)
    else:
        assert _files(tmp_path / "dask" / name) == _files(tmp_path / "threads" / name)


def test_cli_executor_option(
    cluster: Any,
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "tenants.toml"
    lines = []
    for name, settings in _settings(duo_sim, ez_sim, bad=False).items():
        lines.append(f'[tenants."{name}"]')
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
        lines.append("")
    config.write_text("\n".join(lines), encoding="utf-8")
    url = cluster.scheduler_address.replace("tcp://", "dask://")
    out = tmp_path / "out.jsonl"
    code = main(
        ["--config", str(config), "export", "--executor", url, "--format", "jsonl", "-o", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    tenants_seen = Counter(json.loads(line)["tenant"] for line in out.open())
    assert set(tenants_seen) == {"d-acme", "e-acme", "d-nordic"}
    assert DUO_PASSWORD not in err and EZ_KEY not in err


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8786", "expected dask://HOST:PORT"),
        ("dask://127.0.0.1", "host and port"),
        ("dask://127.0.0.1:notaport", "port is not a number"),
        ("dask://127.0.0.1:8786/path", "no path or query"),
        ("dask://user:Sekrit-Pw-1@127.0.0.1:8786", "no user or password"),
    ],
)
def test_bad_executor_url_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, says: str
) -> None:
    config = tmp_path / "tenants.toml"
    config.write_text(
        '[tenants.t]\nvendor = "ezmdm"\nbase_url = "http://127.0.0.1:9"\napi_key = "EZKEY1234567"\n',
        encoding="utf-8",
    )
    code = main(["--config", str(config), "export", "--executor", url, "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert "Sekrit-Pw-1" not in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_scheduler_address_forms() -> None:
    assert scheduler_address("dask://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert scheduler_address(" tcp://sched.example:9000 ") == "tcp://sched.example:9000"
    assert scheduler_address("dask://[::1]:8786") == "tcp://[::1]:8786"


def test_unreachable_scheduler_is_a_config_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConfigError, match=f"no Dask scheduler answered at tcp://127.0.0.1:{port}"):
        connect(f"dask://127.0.0.1:{port}", timeout=1.0)


def test_missing_distributed_says_how_to_install(tmp_path: Path) -> None:
    """A real interpreter in which ``import distributed`` fails, as when it is not installed."""
    config = tmp_path / "tenants.toml"
    config.write_text(
        '[tenants.t]\nvendor = "ezmdm"\nbase_url = "http://127.0.0.1:9"\napi_key = "EZKEY1234567"\n',
        encoding="utf-8",
    )
    script = (
        "import sys; sys.modules['distributed'] = None\n"
        "from mdmbridge.cli import main\n"
        f"sys.exit(main(['--config', {str(config)!r}, 'export', '--executor', "
        f"'dask://127.0.0.1:8786', '-o', {str(tmp_path / 'o')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "pip install 'mdmbridge[dask]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


# ------------------------------------------------------------------ a worker killed mid-run


def _slow_tenants(ez_sim: Factory) -> tuple[list[Tenant], list[SimServer]]:
    """Four ezmdm tenants slow enough (latency, small pages) to be mid-collect when a
    worker is killed."""
    servers = [ez_sim(devices=40, seed=50 + n) for n in range(4)]
    tenants = []
    for number, server in enumerate(servers):
        server.faults.latency_s = 0.15
        tenants.append(
            parse_tenant(
                f"slow-{number}",
                {
                    "vendor": "ezmdm",
                    "base_url": server.base_url,
                    "api_key": EZ_KEY,
                    "page_size": 5,
                },
            )
        )
    return tenants, servers


def _export_killing_a_worker(
    address: str, tenants: list[Tenant], servers: list[SimServer], output: Path
) -> ExportReport:
    executor = _executor(address)
    result: dict[str, ExportReport] = {}

    def run() -> None:
        result["report"] = export(
            tenants, output=output, format="jsonl", entities="devices,users", executor=executor
        )

    try:
        pids = executor._client.run(os.getpid)
        thread = threading.Thread(target=run)
        thread.start()
        # Both single-threaded workers are mid-collect once two simulators are being read.
        while sum(1 for s in servers if s.count() > 0) < 2 and thread.is_alive():
            time.sleep(0.02)
        os.kill(sorted(pids.values())[0], signal.SIGKILL)
        thread.join()
    finally:
        executor.shutdown()
    return result["report"]


def _check_whole_or_failed(report: ExportReport, output: Path, servers: list[SimServer]) -> None:
    """Every tenant is in the output whole, or reported failed and absent: never in part."""
    rows: Counter[tuple[str, str]] = Counter()
    for line in output.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows[(row["tenant"], row["entity"])] += 1
    assert len(report.tenants) == 4
    for number, t in enumerate(report.tenants):
        app = servers[number].app
        if t.ok:
            assert rows[(t.tenant, "devices")] == app.count("device") == 40
            assert rows[(t.tenant, "users")] == app.count("user")
        else:
            assert rows[(t.tenant, "devices")] == rows[(t.tenant, "users")] == 0
            assert t.error is not None and "worker process died while exporting" in str(t.error)


def test_worker_killed_mid_run_is_retried_or_fails_alone(
    cluster: Any, ez_sim: Factory, tmp_path: Path
) -> None:
    """Dask's default: the killed worker's task runs again on the other worker."""
    tenants, servers = _slow_tenants(ez_sim)
    output = tmp_path / "out.jsonl"
    report = _export_killing_a_worker(cluster.scheduler_address, tenants, servers, output)
    assert report.committed
    _check_whole_or_failed(report, output, servers)
    cluster.wait_for_workers(2)  # the nanny restarted it: the module's cluster is whole again


def test_worker_killed_with_no_retries_fails_only_its_tenant(
    ez_sim: Factory, tmp_path: Path
) -> None:
    """No retries allowed: the tenant the killed worker held fails, named; the rest are
    exported whole."""
    tenants, servers = _slow_tenants(ez_sim)
    output = tmp_path / "out.jsonl"
    with make_cluster(**{"distributed.scheduler.allowed-failures": 0}) as strict:
        report = _export_killing_a_worker(strict.scheduler_address, tenants, servers, output)
    assert report.committed
    _check_whole_or_failed(report, output, servers)
    assert 1 <= len(report.failed) < 4
