"""The README's Python examples run as written: every ```python block of README.md is run
verbatim in a fresh interpreter against live simulators on loopback, whose URLs and
credentials reach it only through the environment variables the examples read.

What each block did is read at the simulator (its request log), never through the
library: a block that printed the right lines but sent nothing would fail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mdmbridge_duostation.simulator import start_simulator as start_duo
from mdmbridge_ezmdm.simulator import start_simulator as start_ez
from mdmbridge_intune.simulator import start_simulator as start_intune

from mdmbridge.simulation import SimServer
from tests.support import DUO_PASSWORD, EZ_KEY, INTUNE_SECRET

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
BLOCKS = BLOCK.findall(README.read_text(encoding="utf-8"))
SERIAL = "5Q71M1PQC8MK"  # the README's serial: a device of the simulators' seed-1 fleet
# The README's Intune example names the simulator's default tenant and app (its defaults).
INTUNE_TENANT_ID = "5b1f4b0e-7c3d-4a8e-9f21-6d2c8a4e1b37"
INTUNE_CLIENT_ID = "3f8e2a61-94c7-4d0b-b5e2-1a7c9d3e6f40"


@dataclass
class Sims:
    duo: SimServer
    ez: SimServer
    intune: SimServer

    def environment(self) -> dict[str, str]:
        """What a user would export after ``mdmbridge simulate``: nothing more."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_")}
        env.update(
            ACME_DUO_URL=self.duo.base_url,
            ACME_DUO_PASSWORD=DUO_PASSWORD,
            ACME_EZ_URL=self.ez.base_url,
            ACME_EZ_KEY=EZ_KEY,
            ACME_INTUNE_AUTHORITY=self.intune.base_url,
            ACME_INTUNE_GRAPH=f"{self.intune.base_url}/v1.0",
            ACME_INTUNE_SECRET=INTUNE_SECRET,
        )
        return env


@pytest.fixture
def sims() -> Iterator[Sims]:
    started = Sims(
        duo=start_duo(devices=60, username="api", password=DUO_PASSWORD),
        ez=start_ez(devices=60, api_key=EZ_KEY),
        intune=start_intune(
            devices=60,
            tenant_id=INTUNE_TENANT_ID,
            client_id=INTUNE_CLIENT_ID,
            client_secret=INTUNE_SECRET,
        ),
    )
    yield started
    for server in (started.duo, started.ez, started.intune):
        server.stop()


def run_block(code: str, sims: Sims, cwd: Path) -> str:
    """Run ``code`` as a user would paste it into a file; its stdout, after exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=sims.environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"the example failed:\n{done.stderr}"
    assert done.stderr == ""
    return done.stdout


def vendor_of(code: str) -> str:
    found = re.search(r'mdmbridge\.connect\(\s*"(\w+)"', code)
    assert found, "every README example connects to a vendor"
    return found.group(1)


def posts(server: SimServer, fragment: str) -> list[int | None]:
    return [r.status for r in server.log if r.method == "POST" and fragment in r.path]


def test_the_readme_has_one_python_example_per_vendor() -> None:
    assert sorted(vendor_of(code) for code in BLOCKS) == ["duostation", "ezmdm", "intune"]


@pytest.mark.parametrize("code", BLOCKS, ids=[vendor_of(code) for code in BLOCKS])
def test_a_readme_example_runs_as_written(code: str, sims: Sims, tmp_path: Path) -> None:
    out = run_block(code, sims, tmp_path)
    lines = out.splitlines()
    vendor = vendor_of(code)
    if vendor == "duostation":
        assert any(line.split()[1:2] in (["ios"], ["android"]) for line in lines), out
        assert re.search(r"^created group \d+ Kiruna$", out, re.MULTILINE), out
        assert lines[-1] == f"locked {SERIAL}"
        assert posts(sims.duo, "/lockdevice") == [200]
        assert posts(sims.duo, "/api/groups") == [200]
    elif vendor == "ezmdm":
        counts = [int(line.rsplit(" ", 1)[1]) for line in lines]
        assert len(counts) > 1 and sum(counts) > 0, out
        # One listing per group, filtered by ezmdm itself (GET .../user/<group id>).
        by_group = [r for r in sims.ez.log if r.method == "GET" and "/user/" in r.path]
        assert len(by_group) >= len(counts)
    else:
        assert lines == [f"locked {SERIAL} ipados"], out
        assert posts(sims.intune, "/remoteLock") == [204]
