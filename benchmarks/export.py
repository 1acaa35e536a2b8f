"""Export speed and memory: mdmbridge's export of T tenants x D devices against the naive
loop a user would write (plain requests, tenant after tenant, page after page, CSV rows).

    .venv/bin/python benchmarks/export.py [--tenants 10] [--devices 5000] [--latency-ms 20]
        [--vendor ezmdm|duostation|mixed] [--format sqlite] [--workers T]
        [--entities devices] [--skip-baseline] [--profile]
    .venv/bin/python benchmarks/export.py --memory-sizes 10000,200000 [--memory-tenants 2]

One simulator subprocess per tenant (seed = tenant number) answers with the injected latency.
Each measurement runs in a fresh child process, so peak RSS (``ru_maxrss``) is its own.
Besides wall time, devices/s and peak RSS, the table shows the CPU seconds of the measured
client process and of all the simulator processes during that run: on a small machine the
simulators share the cores with the client. Prints figures; asserts nothing about them
(only that every device was exported).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sims import simulator

# The baseline's view of each vendor: where a listing lives.
EZMDM_ITEMS = {"devices": "device", "users": "user", "groups": "group"}
DUO_PATHS = {"devices": "/api/devices", "users": "/api/users", "groups": "/api/groups"}
EZMDM_LIMIT = 100


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# children ------------------------------------------------------------------------------------


def child_mdmbridge(spec: dict[str, Any]) -> dict[str, Any]:
    from mdmbridge.config import parse_tenant
    from mdmbridge.export import export

    tenants = [
        parse_tenant(t["name"], {"vendor": t["vendor"], **t["settings"]}) for t in spec["tenants"]
    ]
    suffix = "" if spec["format"] in ("csv", "parquet") else f".{spec['format']}"
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        cpu0, started = _cpu_s(), time.perf_counter()
        report = export(
            tenants,
            output=Path(tmp) / f"out{suffix}",
            format=spec["format"],
            entities=spec["entities"],
            workers=spec["workers"],
            processes=spec.get("processes", 0),
        )
        elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu0
    failed = {t.tenant: str(t.error) for t in report.failed}
    return {
        "counts": report.written,
        "failed": failed,
        "collect_s": max((t.seconds for t in report.tenants), default=0.0),
        "seconds": elapsed,
        "cpu_s": cpu,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _baseline_items(session: Any, tenant: dict[str, Any], entity: str) -> Iterator[Any]:
    settings = tenant["settings"]
    base = settings["base_url"]
    if tenant["vendor"] == "ezmdm":
        url = f"{base}/api/v1/{settings['api_key']}/{EZMDM_ITEMS[entity]}"
        page = 1
        while True:
            response = session.get(url, params={"limit": EZMDM_LIMIT, "page": page}, timeout=60)
            response.raise_for_status()
            body = response.json()
            if not body.get("success"):
                raise RuntimeError(f"ezmdm error: {body.get('error')}")
            data = body["data"]
            yield from data
            if not data or page * EZMDM_LIMIT >= body["total"]:
                return
            page += 1
    else:
        session.auth = (settings["username"], settings["password"])
        response = session.get(f"{base}{DUO_PATHS[entity]}", timeout=60)
        response.raise_for_status()
        yield from response.json()


def child_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """What a user writes: one Session per tenant, tenant after tenant, page after page."""
    import requests

    entities = spec["entities"].split(",")
    counts = dict.fromkeys(entities, 0)
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp, ExitStack() as files:
        cpu0, started = _cpu_s(), time.perf_counter()
        writers = {
            entity: csv.writer(
                files.enter_context(
                    open(Path(tmp) / f"{entity}.csv", "w", newline="", encoding="utf-8")
                )
            )
            for entity in entities
        }
        for tenant in spec["tenants"]:
            with requests.Session() as session:
                for entity in entities:
                    writer = writers[entity]
                    for item in _baseline_items(session, tenant, entity):
                        writer.writerow([tenant["name"], *item.values()])
                        counts[entity] += 1
        files.close()
        elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu0
    return {
        "counts": counts,
        "failed": {},
        "seconds": elapsed,
        "cpu_s": cpu,
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_profile(spec: dict[str, Any]) -> None:
    """The mdmbridge export under cProfile, every thread profiled (cProfile alone sees only
    the thread that enabled it; tenant and page workers are threads), stats merged. The timer
    is each thread's own CPU time: wall time would charge the GIL waits and socket waits
    of 50 threads to whatever each was doing, and sum them."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main_profile = cProfile.Profile(time.thread_time)
    main_profile.enable()
    result = child_mdmbridge(spec)
    main_profile.disable()
    threading.Thread.run = original_run  # type: ignore[method-assign]
    print(
        f"profiled run: {result['seconds']:.2f} s wall, {result['cpu_s']:.2f} s CPU, "
        f"{len(profiles)} worker threads; times below are CPU seconds summed over threads"
    )
    stats = pstats.Stats(main_profile, *profiles)
    if spec.get("profile_out"):
        stats.dump_stats(spec["profile_out"])
        print(f"merged profile written to {spec['profile_out']} (open with pstats)")
    top = spec.get("profile_top", 25)
    for order in ("tottime", "cumulative"):
        print(f"\n--- top {top} by {order} ---")
        stats.sort_stats(order).print_stats(top)


# parent --------------------------------------------------------------------------------------


def _simulator_cpu_s() -> float:
    """CPU seconds so far of this process's simulator children (read from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me and b"simulator" in cmdline:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def run_child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    sim0 = _simulator_cpu_s()
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, json.dumps(spec)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["sim_cpu_s"] = _simulator_cpu_s() - sim0
    return result


def _vendors(kind: str, count: int) -> list[str]:
    if kind == "mixed":
        return ["ezmdm" if i % 2 == 0 else "duostation" for i in range(count)]
    return [kind] * count


def start_tenants(
    stack: ExitStack, vendors: list[str], devices: int, latency_ms: float, page_concurrency: int
) -> list[dict[str, Any]]:
    tenants = []
    for number, vendor in enumerate(vendors, start=1):
        settings = stack.enter_context(
            simulator(vendor, devices=devices, latency_ms=latency_ms, seed=number)
        )
        if vendor == "ezmdm" and page_concurrency:
            settings = {**settings, "page_concurrency": page_concurrency}
        tenants.append({"name": f"t{number:02d}", "vendor": vendor, "settings": settings})
    return tenants


HEADER = (
    f"{'mode':<10} {'tenants x devices':>18} {'wall s':>8} {'devices/s':>10} "
    f"{'peak RSS MB':>12} {'client CPU s':>13} {'sim CPU s':>10}"
)


def _row(mode: str, tenants: int, devices: int, r: dict[str, Any]) -> str:
    count = r["counts"].get("devices", 0)
    return (
        f"{mode:<10} {f'{tenants} x {devices}':>18} {r['seconds']:>8.2f} "
        f"{count / r['seconds']:>10.0f} {r['peak_rss_mb']:>12.1f} {r['cpu_s']:>13.2f} "
        f"{r['sim_cpu_s']:>10.2f}"
    )


def _check(mode: str, r: dict[str, Any], expected: int, entities: str) -> None:
    if r["failed"]:
        raise SystemExit(f"{mode}: tenants failed: {r['failed']}")
    if "devices" in entities.split(",") and r["counts"].get("devices") != expected:
        raise SystemExit(f"{mode}: exported {r['counts'].get('devices')} of {expected} devices")


def speed(args: argparse.Namespace) -> None:
    vendors = _vendors(args.vendor, args.tenants)
    workers = args.workers or args.tenants
    expected = args.tenants * args.devices
    baseline_ok = set(args.entities.split(",")) <= set(EZMDM_ITEMS)
    with ExitStack() as stack:
        started = time.perf_counter()
        tenants = start_tenants(
            stack, vendors, args.devices, args.latency_ms, args.page_concurrency
        )
        print(
            f"{args.tenants} simulators ({args.vendor}) up in "
            f"{time.perf_counter() - started:.1f} s; latency {args.latency_ms:g} ms a request; "
            f"entities {args.entities}; format {args.format}; workers {workers}; "
            f"{os.cpu_count()} CPUs; each row a fresh client process"
        )
        spec = {
            "tenants": tenants,
            "format": args.format,
            "entities": args.entities,
            "workers": workers,
            "processes": args.processes,
            "profile_top": args.profile_top,
            "profile_out": args.profile_out,
        }
        if args.warmup and baseline_ok:
            # The simulators build each record the first time they serve it, then cache it:
            # serve everything once, so neither measured run pays for that (or for the other).
            warm = run_child("baseline", spec)
            print(f"simulators warmed up (every listing served once, {warm['seconds']:.1f} s)")
        print(HEADER)
        ours = run_child("mdmbridge", spec)
        _check("mdmbridge", ours, expected, args.entities)
        print(_row("mdmbridge", args.tenants, args.devices, ours))
        if args.skip_baseline or not baseline_ok:
            if not baseline_ok:
                print(f"(no baseline: it covers only {', '.join(EZMDM_ITEMS)})")
        else:
            base = run_child("baseline", spec)
            _check("baseline", base, expected, args.entities)
            if base["counts"] != ours["counts"]:
                print(f"note: counts differ: mdmbridge {ours['counts']}, baseline {base['counts']}")
            print(_row("baseline", args.tenants, args.devices, base))
            print(
                f"ratio baseline/mdmbridge wall time: {base['seconds'] / ours['seconds']:.2f} "
                f"(mdmbridge peak RSS {ours['peak_rss_mb'] - base['peak_rss_mb']:+.1f} MB "
                "against the baseline)"
            )
        print(
            f"mdmbridge phases: collect {ours['collect_s']:.2f} s (slowest tenant; tenants in "
            f"parallel), then assemble into {args.format} "
            f"{ours['seconds'] - ours['collect_s']:.2f} s"
        )
        if args.profile:
            print()
            done = subprocess.run(
                [sys.executable, __file__, "--child", "profile", json.dumps(spec)],
                capture_output=True,
                text=True,
            )
            print(done.stdout if done.returncode == 0 else done.stderr)


def memory(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.memory_sizes.split(",")]
    count = args.memory_tenants
    print(
        f"memory: mdmbridge export alone, {count} {args.vendor} tenant(s) per size; "
        f"latency {args.latency_ms:g} ms; entities {args.entities}; format {args.format}; "
        "each row a fresh client process"
    )
    print(HEADER)
    results: list[tuple[int, dict[str, Any]]] = []
    for size in sizes:
        per_tenant = size // count
        with ExitStack() as stack:
            vendors = _vendors(args.vendor, count)
            tenants = start_tenants(
                stack, vendors, per_tenant, args.latency_ms, args.page_concurrency
            )
            spec = {
                "tenants": tenants,
                "format": args.format,
                "entities": args.entities,
                "workers": args.workers or count,
                "processes": args.processes,
            }
            r = run_child("mdmbridge", spec)
        _check("mdmbridge", r, per_tenant * count, args.entities)
        print(_row("mdmbridge", count, per_tenant, r))
        results.append((per_tenant * count, r))
    smallest = results[0]
    for size, r in results[1:]:
        print(
            f"peak RSS at {size} devices - at {smallest[0]}: "
            f"{r['peak_rss_mb'] - smallest[1]['peak_rss_mb']:+.1f} MB"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--devices", type=int, default=5000, help="devices per tenant")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--vendor", choices=["ezmdm", "duostation", "mixed"], default="ezmdm")
    parser.add_argument("--format", default="sqlite")
    parser.add_argument("--workers", type=int, default=0, help="default: one per tenant")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="collect tenants in this many worker processes (0: threads); see docs",
    )
    parser.add_argument("--entities", default="devices")
    parser.add_argument(
        "--page-concurrency", type=int, default=0, help="ezmdm pages in flight (0: default)"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="measure against cold simulators (the first run then pays their record building)",
    )
    parser.add_argument("--profile", action="store_true", help="also profile the export")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--profile-out", help="also save the merged profile (pstats) here")
    parser.add_argument(
        "--memory-sizes", help="memory mode: total devices per run, e.g. 10000,200000"
    )
    parser.add_argument("--memory-tenants", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, spec = args.child[0], json.loads(args.child[1])
        if mode == "profile":
            child_profile(spec)
        else:
            run = child_mdmbridge if mode == "mdmbridge" else child_baseline
            print(json.dumps(run(spec)))
        return 0
    if args.memory_sizes:
        memory(args)
    else:
        speed(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
