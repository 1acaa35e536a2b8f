"""Export reliability: a tenant whose rows cannot be written fails alone, an output that
cannot be written is one clear line (exit 2) and leaves the old output alone, worker
processes know run-time plugins, and a worker that dies fails only the tenants it held.

Everything runs for real: simulators on loopback, an in-memory adapter that misbehaves
(``tests/plugin_adapters.py``), spawned worker processes, and writes that really fail
(a parent that is a file, ``/proc``, ``/sys``, a file-size limit that even root hits).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import mdmbridge
import tests.plugin_adapters as plugin_adapters
from mdmbridge import plugins
from mdmbridge.cli import main
from mdmbridge.config import CONFIG_ENV, Tenant, load_tenants, parse_tenant
from mdmbridge.errors import ConfigError, MalformedResponse
from mdmbridge.export import export
from mdmbridge.export import sinks as sinks_module
from mdmbridge.simulation import SimServer
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY
from tests.test_export import make_previous, read_output, snapshot, staging_leftovers

Factory = Callable[..., SimServer]
FORMATS = ("csv", "jsonl", "json", "sqlite", "parquet")
DIRECTORY_FORMATS = ("csv", "parquet")
FAST = {"retries": 0, "connect_timeout_s": 2.0, "read_timeout_s": 5.0}
VENDOR = plugin_adapters.VENDOR


@pytest.fixture(autouse=True)
def _plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test adapter, registered at run time as a third party's code would."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    plugins.reset()
    plugins.register_plugin(plugin_adapters, name="reliability")
    yield
    plugins.reset()


def _toml(value: Any) -> str:
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)


def write_config(path: Path, tenants: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for name, table in tenants.items():
        lines.append(f'[tenants."{name}"]')
        lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def duo_table(server: SimServer) -> dict[str, Any]:
    return {
        "vendor": "duostation",
        "base_url": server.base_url,
        "username": DUO_USER,
        "password": "env:TEST_DUO_PASSWORD",
        **FAST,
    }


def ez_table(server: SimServer) -> dict[str, Any]:
    return {"vendor": "ezmdm", "base_url": server.base_url, "api_key": "env:TEST_EZ_KEY", **FAST}


def plug_table(**settings: Any) -> dict[str, Any]:
    return {"vendor": VENDOR, **settings}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def output_path(tmp: Path, fmt: str, name: str = "out") -> Path:
    return tmp / (name if fmt in DIRECTORY_FORMATS else f"{name}.{fmt}")


def tenants_in(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Counter[str]]:
    """entity -> rows per tenant."""
    return {entity: Counter(row["tenant"] for row in rows) for entity, rows in tables.items()}


def assert_one_line_errors(err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err


# ------------------------------------------------------------- 1. a tenant's data fails alone


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_id_fails_that_tenant_alone(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path, fmt: str
) -> None:
    """The middle tenant lists group 'g1' twice (after devices and users that were fine):
    it fails alone with one line naming the entity and the id, none of its rows are in
    the output, and both other tenants are written whole. Exit 1."""
    duo = duo_sim(devices=25, seed=41)
    config = write_config(
        tmp_path / "tenants.toml",
        {
            "acme-duo": duo_table(duo),
            "dup": plug_table(mode="duplicate"),
            "fine": plug_table(mode="ok"),
        },
    )
    output = output_path(tmp_path, fmt)
    code, _, err = run(
        capsys, "--config", str(config), "export", "--format", fmt, "-o", str(output)
    )
    assert code == 1, err
    assert_one_line_errors(err)
    failed = [line for line in err.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1, err
    assert failed[0].startswith("FAILED dup: ")
    assert "groups 'g1'" in failed[0] and "more than once" in failed[0]

    counts = tenants_in(read_output(output, fmt))
    assert counts["devices"] == {"acme-duo": 25, "fine": 3}
    assert counts["groups"] == {"acme-duo": len(duo.app.groups), "fine": 2}
    assert counts["users"] == {"acme-duo": len(duo.app.users), "fine": 2}
    assert not staging_leftovers(tmp_path)


def test_duplicate_id_through_the_python_api(duo_sim: Factory, tmp_path: Path) -> None:
    duo = duo_sim(devices=10, seed=42)
    tenants = [
        parse_tenant("dup", plug_table(mode="duplicate")),
        parse_tenant("acme-duo", {**duo_table(duo), "password": DUO_PASSWORD}),
    ]
    report = export(tenants, output=tmp_path / "x.sqlite", format="sqlite")
    assert report.committed
    (failed,) = report.failed
    assert failed.tenant == "dup" and isinstance(failed.error, MalformedResponse)
    assert str(failed.error).startswith(f"[{VENDOR}:dup] groups 'g1': ")
    assert "\n" not in str(failed.error)
    assert failed.counts == {}  # nothing of it was written
    assert report.written == {
        "devices": 10,
        "users": len(duo.app.users),
        "groups": len(duo.app.groups),
    }
    with sqlite3.connect(tmp_path / "x.sqlite") as db:
        tenants_written = {t for (t,) in db.execute("SELECT DISTINCT tenant FROM groups")}
    assert tenants_written == {"acme-duo"}


def test_duplicate_record_in_a_duostation_listing(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path
) -> None:
    """A real vendor's (unpaged, streamed) listing that holds one device twice: the SQLite
    export no longer dies with IntegrityError; that tenant fails alone. (Whichever layer
    sees the repeat first says so: the transport's array reader, or the export.)"""
    clean, broken = duo_sim(devices=20, seed=43), duo_sim(devices=20, seed=44)
    with broken.app.lock:
        first_id = next(iter(broken.app.devices))
        broken.app.devices["a-second-key"] = dict(broken.app.devices[first_id])
    config = write_config(
        tmp_path / "tenants.toml", {"clean": duo_table(clean), "broken": duo_table(broken)}
    )
    output = tmp_path / "inventory.sqlite"
    code, _, err = run(capsys, "--config", str(config), "export", "-o", str(output))
    assert code == 1, err
    assert_one_line_errors(err)
    (line,) = [x for x in err.splitlines() if x.startswith("FAILED")]
    assert line.startswith("FAILED broken: ") and "devices" in line and repr(first_id) in line
    counts = tenants_in(read_output(output, "sqlite"))
    assert counts["devices"] == {"clean": 20}
    assert set(counts["users"]) == set(counts["groups"]) == {"clean"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_value_the_format_cannot_hold_fails_that_tenant_alone(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path, fmt: str
) -> None:
    """A lone surrogate in one user's payload (no UTF-8 output can hold it): any sink.add
    failure caused by a tenant's data takes that tenant's rows back out, all entities."""
    duo = duo_sim(devices=15, seed=45)
    config = write_config(
        tmp_path / "tenants.toml",
        {"bad-text": plug_table(mode="surrogate"), "acme-duo": duo_table(duo)},
    )
    output = output_path(tmp_path, fmt)
    before = make_previous(output, fmt)
    code, _, err = run(
        capsys, "--config", str(config), "export", "--format", fmt, "-o", str(output)
    )
    assert code == 1, err
    assert_one_line_errors(err)
    (line,) = [x for x in err.splitlines() if x.startswith("FAILED")]
    assert line.startswith("FAILED bad-text: ") and "users 'u1'" in line
    assert f"cannot be written to {fmt}" in line
    assert snapshot(output) != before
    counts = tenants_in(read_output(output, fmt))
    assert {entity: set(c) for entity, c in counts.items()} == {
        "devices": {"acme-duo"},
        "users": {"acme-duo"},
        "groups": {"acme-duo"},
    }
    assert counts["devices"]["acme-duo"] == 15
    assert not staging_leftovers(tmp_path)


def test_every_tenant_refused_by_the_sink_commits_nothing(tmp_path: Path) -> None:
    output = tmp_path / "keep.jsonl"
    before = make_previous(output, "jsonl")
    tenants = [
        parse_tenant("a", plug_table(mode="duplicate")),
        parse_tenant("b", plug_table(mode="surrogate")),
    ]
    report = export(tenants, output=output, format="jsonl")
    assert not report.committed and len(report.failed) == 2
    assert snapshot(output) == before
    assert not staging_leftovers(tmp_path)


def test_a_tenant_given_twice_is_refused(tmp_path: Path) -> None:
    tenant = parse_tenant("twice", plug_table())
    with pytest.raises(ConfigError, match="tenant 'twice' is given twice"):
        export([tenant, tenant], output=tmp_path / "x.sqlite", format="sqlite")
    assert not (tmp_path / "x.sqlite").exists() and not staging_leftovers(tmp_path)


# ------------------------------------------------------- 3. an output that cannot be written


def _unwritable(kind: str, tmp_path: Path, fmt: str) -> Path:
    name = "out" if fmt in DIRECTORY_FORMATS else f"out.{fmt}"
    if kind == "parent-is-a-file":
        (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
        return tmp_path / "afile" / name
    if kind == "below-a-file":
        (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
        return tmp_path / "afile" / "sub" / name
    if kind == "proc":
        return Path("/proc") / f"mdmbridge-test-{os.getpid()}-{name}"
    folder = Path("/sys")
    probe = folder / f"mdmbridge-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return folder / f"mdmbridge-test-{os.getpid()}-{name}"
    probe.rmdir()
    pytest.skip("/sys is writable here")


@pytest.mark.parametrize("kind", ["parent-is-a-file", "below-a-file", "proc", "sys"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_unwritable_output_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    duo_sim: Factory,
    tmp_path: Path,
    fmt: str,
    kind: str,
) -> None:
    """Unwritable even for root: no traceback, no 'internal error', one line naming the
    path, exit 2, and not one request sent (the output is checked before any tenant is
    read)."""
    duo = duo_sim(devices=5, seed=46)
    config = write_config(tmp_path / "tenants.toml", {"acme-duo": duo_table(duo)})
    output = _unwritable(kind, tmp_path, fmt)
    duo.reset_counts()
    code, _, err = run(
        capsys, "--config", str(config), "export", "--format", fmt, "-o", str(output)
    )
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mdmbridge: error: ") and str(output) in lines[0]
    assert_one_line_errors(err)
    assert duo.count() == 0
    if kind.endswith("file"):
        assert (tmp_path / "afile").read_text(encoding="utf-8") == "not a folder"
        assert "is a file, not a folder" in lines[0]
    assert not output.exists()


def test_unwritable_output_through_the_python_api(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    tenant = parse_tenant("t", plug_table())
    for fmt in FORMATS:
        with pytest.raises(ConfigError, match="is a file, not a folder"):
            export([tenant], output=_unwritable("parent-is-a-file", tmp_path, fmt), format=fmt)
        with pytest.raises(ConfigError, match="cannot write there"):
            export([tenant], output=_unwritable("proc", tmp_path, fmt), format=fmt)


@pytest.fixture
def small_fleet(duo_sim: Factory, tmp_path: Path) -> Path:
    """Six similar tenants: each tenant's part files are a sixth of the output, so a file
    size limit between them lets the parts be written and stops the output half-way."""
    servers = {f"t{n}": duo_sim(devices=30, seed=50 + n) for n in range(6)}
    return write_config(tmp_path / "tenants.toml", {n: duo_table(s) for n, s in servers.items()})


@pytest.fixture
def file_size_limit() -> Iterator[Callable[[int], None]]:
    """RLIMIT_FSIZE: a write past the limit fails with EFBIG, for root too (SIGXFSZ, which
    would kill the process, is ignored meanwhile)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def _size(path: Path) -> int:
    if path.is_dir():
        return max(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_failing_half_way_leaves_the_old_output_byte_identical(
    capsys: pytest.CaptureFixture[str],
    small_fleet: Path,
    tmp_path: Path,
    file_size_limit: Callable[[int], None],
    fmt: str,
) -> None:
    """The output grows past what the file system allows (EFBIG, as a full disk would be
    ENOSPC) while it is written: one line naming the output, exit 2, the previous output
    byte for byte as it was, and no staging file left."""
    scratch = output_path(tmp_path, fmt, "scratch")
    code, _, err = run(
        capsys, "--config", str(small_fleet), "export", "--format", fmt, "-o", str(scratch)
    )
    assert code == 0, err
    full = _size(scratch)
    output = output_path(tmp_path, fmt)
    before = make_previous(output, fmt)

    file_size_limit(full * 2 // 3)
    code, _, err = run(
        capsys, "--config", str(small_fleet), "export", "--format", fmt, "-o", str(output)
    )
    file_size_limit(resource.RLIM_INFINITY)

    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(output) in lines[0] and "could not be written" in lines[0]
    assert_one_line_errors(err)
    assert snapshot(output) == before
    assert not staging_leftovers(tmp_path)


def test_directory_swap_failing_puts_the_old_output_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last step of a directory export (renaming the new folder into place) fails: the
    old folder, including files of entities the new export did not write, is back whole."""
    output = tmp_path / "inventory"
    output.mkdir()
    (output / "devices.csv").write_bytes(b"old devices\n")
    (output / "tags.csv").write_bytes(b"old tags, not in this export\n")
    manifest = {"manifest": "mdmbridge-export", "files": ["devices.csv", "tags.csv"]}
    (output / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = snapshot(output)
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        staged = Path(src)
        if Path(dst) == output and ".partial-" in staged.name and (staged / "users.csv").exists():
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(sinks_module.os, "replace", replace)
    with pytest.raises(OSError, match="Input/output error"):
        export([parse_tenant("t", plug_table())], output=output, format="csv")
    monkeypatch.undo()
    assert snapshot(output) == before
    assert not staging_leftovers(tmp_path)


# --------------------------------------------------------------- 5. worker processes


def _plugin_tenants(tmp_path: Path, duo: SimServer) -> list[Tenant]:
    return [
        parse_tenant("plug-a", plug_table(devices=4)),
        parse_tenant("acme-duo", {**duo_table(duo), "password": DUO_PASSWORD}),
        parse_tenant("plug-b", plug_table(devices=2)),
    ]


def test_run_time_plugin_works_in_worker_processes(duo_sim: Factory, tmp_path: Path) -> None:
    """An adapter registered with register_plugin() (not an entry point) is known in the
    spawned workers: the export is the same as with threads."""
    duo = duo_sim(devices=12, seed=60)
    tenants = _plugin_tenants(tmp_path, duo)
    threads = export(tenants, output=tmp_path / "threads.jsonl", format="jsonl")
    procs = export(tenants, output=tmp_path / "procs.jsonl", format="jsonl", processes=2)
    assert not procs.failed, [str(t.error) for t in procs.failed]
    assert procs.written == threads.written
    assert procs.written["devices"] == 4 + 12 + 2
    assert (tmp_path / "procs.jsonl").read_bytes() == (tmp_path / "threads.jsonl").read_bytes()


def test_run_time_plugin_object_works_in_worker_processes(tmp_path: Path) -> None:
    """A plugin object of a module-level class is pickled into the workers."""
    plugins.reset()
    plugins.register_plugin(plugin_adapters.PicklablePlugin())
    tenants = [parse_tenant("plug-a", plug_table(devices=3))]
    report = export(tenants, output=tmp_path / "x.sqlite", format="sqlite", processes=1)
    assert not report.failed, [str(t.error) for t in report.failed]
    assert report.written["devices"] == 3


def test_run_time_plugin_through_the_cli_with_processes(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path
) -> None:
    duo = duo_sim(devices=8, seed=61)
    config = write_config(
        tmp_path / "tenants.toml",
        {"plug-a": plug_table(devices=5), "acme-duo": duo_table(duo)},
    )
    output = tmp_path / "out.sqlite"
    code, _, err = run(
        capsys, "--config", str(config), "export", "--processes", "2", "-o", str(output)
    )
    assert code == 0, err
    assert tenants_in(read_output(output, "sqlite"))["devices"] == {"plug-a": 5, "acme-duo": 8}


def test_plugin_a_worker_cannot_recreate_is_a_clear_config_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A plugin defined inside a function cannot be pickled into a worker: a ConfigError
    naming it, before anything is read; with threads the same export works."""

    class LocalAdapter(plugin_adapters.ReliabilityAdapter):
        vendor = "relilocal"

    class LocalPlugin:
        @mdmbridge.hookimpl
        def register_adapters(self, register: Any) -> None:
            register(LocalAdapter)

    plugins.register_plugin(LocalPlugin(), name="local-plugin")
    tenants = [parse_tenant("loc", {"vendor": "relilocal"}), parse_tenant("ok", plug_table())]
    with pytest.raises(ConfigError) as caught:
        export(tenants, output=tmp_path / "x.sqlite", format="sqlite", processes=2)
    message = str(caught.value)
    assert "'relilocal'" in message and "'local-plugin'" in message and "LocalPlugin" in message
    assert "unknown vendor" not in message and "\n" not in message
    assert not (tmp_path / "x.sqlite").exists() and not staging_leftovers(tmp_path)

    threads = export(tenants, output=tmp_path / "x.sqlite", format="sqlite")
    assert not threads.failed

    # Through the CLI: exit 2, one line.
    config = write_config(
        tmp_path / "tenants.toml", {"loc": {"vendor": "relilocal"}, "ok": plug_table()}
    )
    code, _, err = run(
        capsys,
        "--config",
        str(config),
        "export",
        "--processes",
        "2",
        "-o",
        str(tmp_path / "y.sqlite"),
    )
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "local-plugin" in err
    # A plugin a worker cannot re-create that no selected tenant needs is no obstacle.
    code, _, err = run(
        capsys,
        "--config",
        str(config),
        "export",
        "--processes",
        "1",
        "-t",
        "ok",
        "-o",
        str(tmp_path / "z.sqlite"),
    )
    assert code == 0, err


HAND_LOADED = """
import mdmbridge
from tests.plugin_adapters import ReliabilityAdapter


class HandAdapter(ReliabilityAdapter):
    vendor = "relihand"


@mdmbridge.hookimpl
def register_adapters(register):
    register(HandAdapter)
"""


def test_plugin_module_loaded_from_a_file_by_hand_is_a_clear_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module loaded by hand (not importable by its name) cannot be imported again in
    a worker: refused up front, naming it, instead of "unknown vendor" in the workers."""
    import importlib.util
    import sys

    source = tmp_path / "hand_loaded_plugin.py"
    source.write_text(HAND_LOADED, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("hand_loaded_plugin", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "hand_loaded_plugin", module)
    plugins.register_plugin(module)
    tenants = [parse_tenant("hand", {"vendor": "relihand"})]
    with pytest.raises(ConfigError, match="module hand_loaded_plugin") as caught:
        export(tenants, output=tmp_path / "x.sqlite", format="sqlite", processes=1)
    assert "cannot be imported by its name" in str(caught.value)
    assert not export(tenants, output=tmp_path / "x.sqlite", format="sqlite").failed


@pytest.mark.parametrize("how", ["die", "kill"])
def test_dead_worker_fails_only_its_tenant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, how: str
) -> None:
    """A worker process ends abruptly (os._exit; SIGKILL, as the OOM killer does) while it
    exports a tenant: that tenant fails with one line, the tenant that had finished is
    written, exit 1."""
    marker = tmp_path / "good-is-done"
    config = write_config(
        tmp_path / "tenants.toml",
        {
            "good": plug_table(devices=6, done_marker=str(marker)),
            "doomed": plug_table(devices=6, mode=how, wait_for=str(marker)),
        },
    )
    output = tmp_path / "out.sqlite"
    code, _, err = run(
        capsys, "--config", str(config), "export", "--processes", "2", "-o", str(output)
    )
    assert code == 1, err
    assert_one_line_errors(err)
    (line,) = [x for x in err.splitlines() if x.startswith("FAILED")]
    assert line == (
        f"FAILED doomed: [{VENDOR}:doomed] worker process died while exporting this tenant"
    )
    counts = tenants_in(read_output(output, "sqlite"))
    assert counts == {
        "devices": Counter({"good": 6}),
        "users": Counter({"good": 2}),
        "groups": Counter({"good": 2}),
    }


def test_dead_worker_through_the_python_api(tmp_path: Path) -> None:
    marker = tmp_path / "good-is-done"
    tenants = [
        parse_tenant("good", plug_table(devices=2, done_marker=str(marker))),
        parse_tenant("doomed", plug_table(mode="die", wait_for=str(marker))),
    ]
    report = export(tenants, output=tmp_path / "x.jsonl", format="jsonl", processes=2)
    assert report.committed
    assert [t.tenant for t in report.tenants if t.ok] == ["good"]
    (failed,) = report.failed
    assert failed.tenant == "doomed" and failed.error is not None
    assert "worker process died while exporting this tenant" in str(failed.error)
    assert report.written == {"devices": 2, "users": 2, "groups": 2}


def test_tenants_file_for_the_plugin_loads(tmp_path: Path) -> None:
    config = write_config(tmp_path / "t.toml", {"p": plug_table(mode="ok")})
    assert load_tenants(config)["p"].vendor == VENDOR


def test_recipe_that_fails_in_a_worker_names_the_plugin(tmp_path: Path) -> None:
    """What a worker does when a run-time plugin cannot be re-created there: the tenant
    fails with a ConfigError naming the plugin and why (not "unknown vendor")."""
    import mdmbridge.export.collect as collect

    tenant = parse_tenant("p", plug_table())
    plugins.reset()  # as in a fresh worker process: the plugin is not registered here
    ghost = plugins.PluginRecipe("ghost", "module no_such_plugin_xyz", module="no_such_plugin_xyz")
    recipe = plugins.PluginRecipe("reliability", "module x", module="tests.plugin_adapters")
    job = collect.CollectJob(("devices",), tmp_path, {"p": 0}, None, (ghost,))
    with pytest.raises(ConfigError) as caught:
        job(tenant)
    message = str(caught.value)
    assert "'relitest' is unknown in this worker process" in message
    assert "module no_such_plugin_xyz could not be re-created" in message
    assert "ModuleNotFoundError" in message and "\n" not in message
    # The same job with a recipe that works: registered here, once, and the tenant is read.
    job = collect.CollectJob(("devices",), tmp_path, {"p": 0, "q": 1}, None, (recipe, recipe))
    assert job(tenant).counts == {"devices": 3}
    second = Tenant(name="q", vendor=VENDOR, settings=tenant.settings)
    assert job(second).counts == {"devices": 3}  # the plugin is not registered twice
