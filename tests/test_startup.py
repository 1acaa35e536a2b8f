"""Start-up to the first request imports only what the command needs (issue 10).

Asserted by structure, never by time: ``mdmbridge export`` runs in a child process under
``benchmarks/startup_probe.py``, which snapshots ``sys.modules`` at the first
``socket.connect`` (the first request to the simulator). Speed itself is measured by
``benchmarks/startup.py``, which prints figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import EZ_KEY
from tests.test_cli import Factory, write_config

PROBE = Path(__file__).resolve().parent.parent / "benchmarks" / "startup_probe.py"
# Not needed for an export's first request: the migration engine, the resource commands,
# rich (only for a terminal's progress bar and the summary printed at the end), the
# built-in adapters of vendors no selected tenant uses, and what other formats and options
# need.
UNWANTED = (
    "rich",
    "mdmbridge.migrate",
    "mdmbridge.cli.resources",
    "mdmbridge.cli.records",
    "mdmbridge.cli.migrate",
    "mdmbridge_intune",
    "mdmbridge_duostation",
    "mdmbridge.cli.audit",  # the audit reader; --audit-log lives with the root group
    "sqlite3",  # only a SQLite export (or the sync) needs it
    "multiprocessing",  # only --processes
)


def modules_at_first_request(tmp_path: Path, config: Path, *args: str) -> list[str]:
    record = tmp_path / "probe.json"
    done = subprocess.run(
        [sys.executable, str(PROBE), str(record), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert record.exists(), "the command never opened a connection"
    modules: list[str] = json.loads(record.read_text(encoding="utf-8"))["modules"]
    return modules


def loaded(modules: list[str], prefix: str) -> list[str]:
    return [m for m in modules if m == prefix or m.startswith(prefix + ".")]


@pytest.fixture
def ez_config(ez_sim: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    server = ez_sim(devices=5)
    return write_config(
        tmp_path / "tenants.toml",
        {"acme-ez": {"vendor": "ezmdm", "base_url": server.base_url, "api_key": "env:TEST_EZ_KEY"}},
    )


def test_export_imports_only_what_it_needs_before_its_first_request(
    tmp_path: Path, ez_config: Path
) -> None:
    out = tmp_path / "out.jsonl"
    modules = modules_at_first_request(
        tmp_path, ez_config, "export", "--format", "jsonl", "-o", str(out)
    )
    assert loaded(modules, "mdmbridge_ezmdm")  # the probe saw the real thing
    assert loaded(modules, "mdmbridge.export")
    for name in UNWANTED:
        assert loaded(modules, name) == [], f"{name} imported before the first request"
    assert out.exists()  # and the export itself finished


def test_check_needs_no_rich_when_piped(tmp_path: Path, ez_config: Path) -> None:
    modules = modules_at_first_request(tmp_path, ez_config, "check", "--format", "json")
    assert loaded(modules, "mdmbridge.cli.check")
    assert loaded(modules, "rich") == [] and loaded(modules, "mdmbridge.migrate") == []


def test_import_mdmbridge_alone_loads_no_models_and_no_transport() -> None:
    code = (
        "import sys, mdmbridge, mdmbridge.errors;"
        "print(any(m.startswith(('pydantic', 'requests', 'mdmbridge.models', "
        "'mdmbridge.transport')) for m in sys.modules));"
        "print(mdmbridge.Device.__name__, mdmbridge.connect.__name__, mdmbridge.hookimpl.project_name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "Device", "connect", "mdmbridge"]  # and the names still work


def test_a_piped_export_never_loads_rich(tmp_path: Path, ez_config: Path) -> None:
    """Not only before the first request: the whole run, summary and failure lines too,
    when nothing is a terminal (rich is for progress bars at one)."""
    out = tmp_path / "out.jsonl"
    code = (
        "import sys; from mdmbridge.cli import main\n"
        "try:\n"
        f"    code = main(['--config', {str(ez_config)!r}, 'export', '--format', 'jsonl', "
        f"'-o', {str(out)!r}])\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "print('EXIT', code, 'RICH', any(m.startswith('rich') for m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.split()[-4:] == ["EXIT", "0", "RICH", "False"], done.stderr
    assert "wrote " in done.stderr and "devices 5" in done.stderr  # the summary was printed
    assert out.exists()
