"""Where an export's client CPU goes, stage by stage, for one tenant of each vendor (issue 10).

    .venv/bin/python benchmarks/stages.py [--devices 50000] [--runs 3]

One tenant, its simulator in its own process with no injected latency, this process's CPU
(``time.process_time``: every thread) divided by the devices. Each stage includes the ones
above it, so the differences are what each adds:

- ``read``: the listing read and decoded, nothing more (DuoSTATION: the streamed array,
  spooled then decoded a megabyte at a time; ezmdm: every page through the transport);
- ``rows``: + the export rows built from the payloads (``typed_rows.RowBuilder``);
- ``export_rows``: the adapter's own export path (its id checks, its page concurrency);
- ``collect``: the whole collect of one tenant as an export runs it (``CollectJob``: the
  tenant's id check, jsonl lines encoded, the part file written), connection included.

Start-up (``startup.py``) and the assembly of tenants into the output are not in these.
Prints min and median of ``--runs`` for each stage; asserts only that every device came.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sims import simulator  # type: ignore[import-not-found]

from mdmbridge.config import Tenant, parse_tenant
from mdmbridge.entities import ENTITIES
from mdmbridge.export.collect import CollectJob, index_of
from mdmbridge.typed_rows import RowBuilder

SPEC = ENTITIES["devices"]


def _duostation_payloads(client: Any) -> Callable[[], Iterator[Any]]:
    from mdmbridge_duostation import wire

    return lambda: client.adapter.http.stream_array(wire.path("devices"))


def _ezmdm_payloads(client: Any, devices: int) -> Callable[[], Iterator[Any]]:
    from mdmbridge_ezmdm import wire

    adapter = client.adapter
    path = wire.item_path(adapter._key, "device")
    size = adapter.settings.page_size

    def pages() -> Iterator[Any]:
        for page in range(1, -(-devices // size) + 1):
            envelope = adapter.http.request("GET", path, params={"limit": size, "page": page})
            yield from envelope.data["data"]

    return pages


def _table(vendor: str) -> Any:
    if vendor == "duostation":
        from mdmbridge_duostation import mapping
    else:
        from mdmbridge_ezmdm import mapping  # type: ignore[no-redef]
    return mapping.DEVICE


def measure(vendor: str, devices: int, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}

    def timed(stage: str, work: Callable[[], int]) -> None:
        for _ in range(runs):
            started = time.process_time()
            count = work()
            elapsed = time.process_time() - started
            if count != devices:
                raise SystemExit(f"{vendor} {stage}: {count} of {devices} devices")
            times.setdefault(stage, []).append(elapsed / devices * 1e6)

    with simulator(vendor, devices=devices) as settings:
        tenant: Tenant = parse_tenant("bench", {"vendor": vendor, **settings})
        with tenant.connect(read_only=True) as client:
            payloads = (
                _duostation_payloads(client)
                if vendor == "duostation"
                else _ezmdm_payloads(client, devices)
            )
            deque(payloads(), 0)  # warm-up: the simulator has served the listing once

            def rows() -> int:
                builder = RowBuilder(
                    SPEC.model, _table(vendor), SPEC.columns, tenant="bench", vendor=vendor
                )
                return sum(1 for _ in builder.rows(payloads()))

            timed("read", lambda: sum(1 for _ in payloads()))
            timed("rows", rows)
            timed("export_rows", lambda: sum(1 for _ in client.adapter.export_rows(client, SPEC)))
        with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
            job = CollectJob(
                ("devices",), Path(tmp), index_of([tenant]), None, (), None, encoding="jsonl"
            )

            def collect() -> int:
                count = job(tenant).counts["devices"]
                shutil.rmtree(job.folder(tenant.name), ignore_errors=True)
                return count

            timed("collect", collect)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--vendor", choices=["duostation", "ezmdm", "both"], default="both")
    args = parser.parse_args()
    vendors = ["duostation", "ezmdm"] if args.vendor == "both" else [args.vendor]
    print(f"client CPU µs per device, one tenant of {args.devices:,}, min / median of {args.runs}")
    for vendor in vendors:
        times = measure(vendor, args.devices, args.runs)
        before = 0.0
        for stage, values in times.items():
            low = min(values)
            print(
                f"  {vendor:10} {stage:12} {low:6.2f} / {statistics.median(values):6.2f}"
                f"   (+{low - before:5.2f})"
            )
            before = low
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
