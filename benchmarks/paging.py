"""Listing speed and memory: does a lazy listing stay flat as the fleet grows, and what do
concurrent pages buy against a latency-bound vendor?

    .venv/bin/python benchmarks/paging.py [--sizes 10000,100000] [--latency-ms 20]

Each measurement runs in a fresh child process (peak RSS is per process), against a
simulator in its own process. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sims import simulator


def child(vendor: str, settings: dict[str, str], concurrency: int) -> None:
    import mdmbridge

    extra = {"page_concurrency": concurrency} if vendor == "ezmdm" else {}
    started = time.perf_counter()
    with mdmbridge.connect(vendor, tenant="bench", **settings, **extra) as mdm:
        count = sum(1 for _ in mdm.devices.list())
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"count": count, "seconds": elapsed, "peak_rss_mb": peak_mb}))


def measure(vendor: str, settings: dict[str, str], concurrency: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", vendor, json.dumps(settings), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--vendors", default="ezmdm,duostation")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]), int(args.child[2]))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"latency {args.latency_ms:g} ms a request; each row a fresh client process")
    print(
        f"{'vendor':<11} {'devices':>8} {'pages in flight':>15} {'seconds':>8} "
        f"{'devices/s':>10} {'peak RSS MB':>12}"
    )
    for vendor in args.vendors.split(","):
        for size in sizes:
            with simulator(vendor, devices=size, latency_ms=args.latency_ms) as settings:
                for concurrency in [1, 4, 8] if vendor == "ezmdm" else [1]:
                    r = measure(vendor, settings, concurrency)
                    assert r["count"] == size, f"listed {r['count']} of {size}"
                    print(
                        f"{vendor:<11} {size:>8} {concurrency:>15} {r['seconds']:>8.2f} "
                        f"{r['count'] / r['seconds']:>10.0f} {r['peak_rss_mb']:>12.1f}"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
