"""Sync speed and cost: T tenants x D devices into SQLite and into PostgreSQL, a first run,
then a second run after 1% of the devices changed hands (their user reassigned).

    .venv/bin/python benchmarks/sync.py [--tenants 10] [--devices 10000] [--changed 0.01]
        [--databases sqlite,postgresql] [--repeat 1]

One DuoSTATION simulator subprocess per tenant (seed = tenant number); PostgreSQL is a
throw-away server started from the machine's binaries (tests/postgres.py). Prints wall
time, CPU seconds of this process, entity rows written and change rows per run; asserts
nothing about them. ``--repeat N`` runs it all N times (fresh databases, the same
simulators: each round reassigns another share of devices) and ends with the min and
median of each figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD", "1")

from _sims import simulator  # noqa: E402

from mdmbridge.config import Tenant, parse_tenant  # noqa: E402
from mdmbridge.export.schema import parse_entities  # noqa: E402
from mdmbridge.sync.run import run_sync  # noqa: E402
from mdmbridge.sync.store import open_store  # noqa: E402
from tests.postgres import running_postgres  # noqa: E402


def change_devices(tenants: list[Tenant], share: float) -> int:
    """Reassign ``share`` of each tenant's devices to another user, through the API."""
    changed = 0
    for tenant in tenants:
        with tenant.connect() as client:
            users = [u.id for u in client.users.list()]
            devices = list(client.devices.list())
            for index, device in enumerate(devices[: max(1, int(len(devices) * share))]):
                owner = next(u for u in users[index % len(users) :] + users if u != device.user_id)
                client.devices.assign_user(device.id, owner)
                changed += 1
    return changed


FIGURES = ("wall", "CPU", "writer wall", "writer CPU")


def measure(label: str, db: str, tenants: list[Tenant]) -> tuple[float, ...]:
    """One run; the writer is the main thread (it applies each tenant; readers are worker
    threads), so its CPU is this thread's and its wall time the report's writing time."""
    store = open_store(db)
    try:
        wall, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
        report = run_sync(store, tenants, entities=parse_entities("devices,users,groups"))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        own = time.thread_time() - own
    finally:
        store.close()
    records = sum(sum(t.counts.values()) for t in report.tenants)
    print(
        f"{label:<22} {wall:6.2f} s wall {cpu:6.2f} s CPU (writer {report.writing_seconds:5.2f} s "
        f"wall {own:5.2f} s CPU) {records:>7} records read {report.written:>7} rows written "
        f"{report.change_rows:>7} changes ({report.outcome})"
    )
    return wall, cpu, report.writing_seconds, own


def summary(figures: dict[str, list[tuple[float, ...]]]) -> None:
    for label, runs in figures.items():
        shown = []
        for number, name in enumerate(FIGURES):
            values = [run[number] for run in runs]
            shown.append(f"{name} {min(values):.2f}/{statistics.median(values):.2f}")
        print(f"{label:<22} min/median of {len(runs)} runs (s): {', '.join(shown)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        settings = [
            stack.enter_context(simulator("duostation", devices=args.devices, seed=n + 1))
            for n in range(args.tenants)
        ]
        tenants = [
            parse_tenant(f"t{n}", {"vendor": "duostation", **s}) for n, s in enumerate(settings)
        ]
        pg = stack.enter_context(running_postgres()) if "postgresql" in kinds else None
        print(f"{args.tenants} tenants x {args.devices} devices (+ users, groups)")
        figures: dict[str, list[tuple[float, ...]]] = {}
        for round_number in range(args.repeat):
            urls = {}
            if "sqlite" in kinds:
                urls["sqlite"] = str(Path(folder) / f"inventory{round_number}.db")
            if pg is not None:
                urls["postgresql"] = pg.new_database()
            for kind, url in urls.items():
                label = f"{kind}: first run"
                figures.setdefault(label, []).append(measure(label, url, tenants))
            changed = change_devices(tenants, args.changed)
            print(f"reassigned {changed} devices ({args.changed:.0%})")
            for kind, url in urls.items():
                label = f"{kind}: second run"
                figures.setdefault(label, []).append(measure(label, url, tenants))
        if args.repeat > 1:
            summary(figures)


if __name__ == "__main__":
    main()
