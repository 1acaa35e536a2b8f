"""Every figure of issue 10, each on one labelled line with its target and PASS or MISS
(printed, never asserted), repeated ``--runs`` times (min and median).

    .venv/bin/python benchmarks/export.py                 # the whole issue-10 run (~15 min)
    .venv/bin/python benchmarks/export.py --quick         # a smoke run (~2 min)
    .venv/bin/python benchmarks/export.py --runs 3 --only export,bound,cpu
    .venv/bin/python benchmarks/export.py --profile       # adds a per-thread CPU profile

The workload (issue 10): T tenants x D devices (10 x 5,000), half DuoSTATION and half ezmdm
(``--vendor mixed``; the export figure is also printed for all-ezmdm and all-DuoSTATION), one
simulator subprocess per tenant (seed = tenant number) with ``--latency-ms`` (20) on every
request. ``mdmbridge export`` runs as a whole process (the real CLI, a tenants file,
start-up included) against the naive loop a user would write (plain requests, tenant after
tenant, page after page, CSV rows). See benchmarks/README.md for every figure and the bound.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sims import as_users_run_it, simulator

HERE = Path(__file__).resolve().parent

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


def _check(mode: str, r: dict[str, Any], expected: int, entities: str) -> None:
    if r["failed"]:
        raise SystemExit(f"{mode}: tenants failed: {r['failed']}")
    if "devices" in entities.split(",") and r["counts"].get("devices") != expected:
        raise SystemExit(f"{mode}: exported {r['counts'].get('devices')} of {expected} devices")


# parent --------------------------------------------------------------------------------------

EZMDM_PAGE = 100  # the vendor's page size (what the adapter asks for)
EZMDM_IN_FLIGHT = 8  # the ezmdm adapter's default page_concurrency
PASS = "PASS"
MISS = "MISS"


def _verdict(ok: bool | None) -> str:
    """PASS or MISS against the figure's target; nothing for a figure only printed."""
    return "" if ok is None else (PASS if ok else MISS)


def _stats(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def _line(
    label: str, values: list[float], unit: str, target: str, ok: bool | None, extra: str = ""
) -> None:
    low, mid = _stats(values)
    print(
        f"{label:<44} min {low:>9.3f} {unit:<6} median {mid:>9.3f} {unit:<6} "
        f"target {target:<14} {_verdict(ok)}{extra}"
    )


def _tenants_file(directory: Path, tenants: list[dict[str, Any]]) -> Path:
    lines = []
    for tenant in tenants:
        lines.append(f"[tenants.{tenant['name']}]")
        lines.append(f'vendor = "{tenant["vendor"]}"')
        for key, value in tenant["settings"].items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    path = directory / "tenants.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def cli_export(
    config: Path, output: Path, workers: int, entities: str, fmt: str = "sqlite"
) -> dict[str, float]:
    """``mdmbridge export`` as a whole process: wall seconds and its CPU (from wait4)."""
    output.unlink(missing_ok=True)
    args = [
        str(Path(sys.executable).with_name("mdmbridge")),
        "--config",
        str(config),
        "export",
        "--entities",
        entities,
        "--format",
        fmt,
        "--workers",
        str(workers),
        "-o",
        str(output),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"mdmbridge export failed ({process.returncode}): {stderr[-2000:]}")
    return {
        "seconds": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def _rows(output: Path, table: str = "devices") -> int:
    """Rows of ``table`` in an export: a SQLite file, or JSON Lines (one object a line)."""
    if output.suffix == ".jsonl":
        with open(output, "rb") as lines:
            wanted = b'{"entity":"%s",' % table.encode()
            return sum(1 for line in lines if line.startswith(wanted))
    return _sqlite_rows(output, table)


def _sqlite_rows(database: Path, table: str) -> int:
    import sqlite3

    with sqlite3.connect(database) as db:
        return int(db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def latency_bound(
    vendors: list[str], devices: int, latency_s: float, workers: int
) -> tuple[float, int]:
    """The wall time latency alone forces, and the requests it counts.

    A DuoSTATION tenant is one request (its API does not page); an ezmdm tenant is its
    first page (which tells the total), then the other pages with EZMDM_IN_FLIGHT in
    flight: 1 + ceil((pages - 1) / in-flight) round trips. Tenants run ``workers`` at a
    time, longest first; the bound is when the last one can finish.
    """
    per_tenant: list[float] = []
    requests = 0
    for vendor in vendors:
        if vendor == "duostation":
            trips, made = 1, 1
        else:
            pages = max(1, math.ceil(devices / EZMDM_PAGE))
            trips, made = 1 + math.ceil((pages - 1) / EZMDM_IN_FLIGHT), pages
        per_tenant.append(trips * latency_s)
        requests += made
    slots = [0.0] * max(1, min(workers, len(per_tenant)))
    for seconds in sorted(per_tenant, reverse=True):
        slots[slots.index(min(slots))] += seconds
    return max(slots), requests


def figure_export(args: argparse.Namespace, kind: str, tmp: Path, results: dict[str, Any]) -> None:
    vendors = _vendors(kind, args.tenants)
    workers = args.workers or args.tenants
    expected = args.tenants * args.devices
    with ExitStack() as stack:
        tenants = start_tenants(stack, vendors, args.devices, args.latency_ms, 0)
        config = _tenants_file(tmp, tenants)
        spec = {"tenants": tenants, "format": "csv", "entities": "devices", "workers": workers}
        run_child("baseline", spec)  # warm-up: every listing served once, by the simulators
        ours: list[dict[str, float]] = []
        base: list[dict[str, Any]] = []
        for _ in range(args.runs):
            out = tmp / f"export.{args.format}"
            sim0 = _simulator_cpu_s()
            run = cli_export(config, out, workers, "devices", args.format)
            run["sim_cpu_s"] = _simulator_cpu_s() - sim0
            rows = _rows(out)
            if rows != expected:
                raise SystemExit(f"mdmbridge export ({kind}): {rows} of {expected} devices")
            ours.append(run)
            baseline = run_child("baseline", spec)
            _check("baseline", baseline, expected, "devices")
            base.append(baseline)
    ratios = [b["seconds"] / o["seconds"] for o, b in zip(ours, base, strict=True)]
    _line(
        f"export {kind} {args.tenants}x{args.devices} {args.format}: naive/mdmbridge",
        ratios,
        "x",
        ">= 10x" if kind == "mixed" else "(printed)",
        min(ratios) >= 10 if kind == "mixed" else None,
        f"  (mdmbridge {statistics.median([o['seconds'] for o in ours]):.2f} s wall, "
        f"naive {statistics.median([b['seconds'] for b in base]):.2f} s, "
        f"simulators {statistics.median([o['sim_cpu_s'] for o in ours]):.2f} s CPU)",
    )
    results[kind] = {"ours": ours, "workers": workers, "vendors": vendors}


def figure_cpu_and_bound(args: argparse.Namespace, results: dict[str, Any]) -> None:
    mixed = results.get("mixed")
    if mixed is None:
        print("client CPU / latency bound: skipped (they come from the mixed export run)")
        return
    devices = args.tenants * args.devices
    per_device = [o["cpu_s"] / devices * 1e6 for o in mixed["ours"]]
    _line(
        f"client CPU per device at {devices:,} devices",
        per_device,
        "us",
        "<= 10 us",
        min(per_device) <= 10,
        f"  (the whole mdmbridge process: start-up, requests, parsing, {args.format})",
    )
    bound, requests = latency_bound(
        mixed["vendors"], args.devices, args.latency_ms / 1000, mixed["workers"]
    )
    ratios = [o["seconds"] / bound for o in mixed["ours"]]
    _line(
        "mixed export wall / latency bound",
        ratios,
        "x",
        "<= 1.5x",
        min(ratios) <= 1.5,
        f"  (bound {bound:.3f} s: {requests} requests, {args.latency_ms:g} ms each, "
        f"{mixed['workers']} tenants and {EZMDM_IN_FLIGHT} ezmdm pages in flight)",
    )


def _script(name: str, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, str(HERE / name), *extra], capture_output=True, text=True, timeout=1800
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr[-1500:]}")
    return done.stdout


def figure_startup(args: argparse.Namespace) -> None:
    if not (HERE / "startup.py").exists():
        print("start-up CPU to first request: skipped (benchmarks/startup.py is missing)")
        return
    said = _script("startup.py", "--runs", str(args.runs))
    found = re.search(r"min ([0-9.]+), median ([0-9.]+)", said)
    if found is None:
        print(f"start-up CPU to first request: could not read startup.py's output: {said!r}")
        return
    low, mid = float(found[1]), float(found[2])
    print(
        f"{'start-up CPU to the first request':<44} min {low:>9.3f} {'s':<6} median "
        f"{mid:>9.3f} {'s':<6} target {'<= 0.2 s':<14} {_verdict(low <= 0.2)}  (startup.py)"
    )


def figure_memory(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.memory_sizes.split(",")]
    count = args.memory_tenants
    peaks: dict[int, list[float]] = {}
    for size in sizes:
        per_tenant = size // count
        with ExitStack() as stack:
            tenants = start_tenants(
                stack, _vendors(args.memory_vendor, count), per_tenant, args.latency_ms, 0
            )
            spec = {
                "tenants": tenants,
                "format": "sqlite",
                "entities": "devices",
                "workers": count,
                "processes": 0,
            }
            for _ in range(args.runs):
                r = run_child("mdmbridge", spec)
                _check("mdmbridge", r, per_tenant * count, "devices")
                peaks.setdefault(size, []).append(r["peak_rss_mb"])
    small = sizes[0]
    for size in sizes[1:]:
        deltas = [b - a for a, b in zip(peaks[small], peaks[size], strict=True)]
        _line(
            f"peak RSS at {size:,} - at {small:,} devices",
            deltas,
            "MB",
            "<= 50 MB",
            max(deltas) <= 50,
            f"  ({count} {args.memory_vendor} tenants; {statistics.median(peaks[small]):.1f} MB "
            f"at {small:,}, {statistics.median(peaks[size]):.1f} MB at {size:,})",
        )


def figure_big_duostation(args: argparse.Namespace, tmp: Path) -> None:
    size = args.big_duostation
    with ExitStack() as stack:
        tenants = start_tenants(stack, ["duostation"], size, args.latency_ms, 0)
        config = _tenants_file(tmp, tenants)
        walls, rows = [], []
        for _ in range(args.runs):
            out = tmp / "big.sqlite"
            run = cli_export(config, out, 1, "devices")
            walls.append(run["seconds"])
            rows.append(_rows(out))
    ok = all(r == size for r in rows)
    print(
        f"{f'DuoSTATION tenant of {size:,} devices':<44} rows {min(rows):>9,}        "
        f"wall median {statistics.median(walls):>7.2f} s      target {'every row':<14} "
        f"{_verdict(ok)}"
    )


def figure_devices_list(args: argparse.Namespace) -> None:
    if not (HERE / "cli_list.py").exists():
        print("devices list 5,000 on a terminal: skipped (benchmarks/cli_list.py is missing)")
        return
    said = _script("cli_list.py", "--devices", "5000", "--runs", str(args.runs))
    found = re.search(r"table \(terminal\)\s+([0-9.]+)\s+([0-9.]+)", said)
    if found is None:
        print(f"devices list: could not read cli_list.py's output: {said!r}")
        return
    low, mid = float(found[1]), float(found[2])
    print(
        f"{'devices list TENANT (5,000) on a terminal':<44} min {low:>9.3f} {'s CPU':<6} median "
        f"{mid:>9.3f} {'s CPU':<6} target {'< 1 s CPU':<14} {_verdict(low < 1)}  (cli_list.py)"
    )


def figure_plan(args: argparse.Namespace) -> None:
    if not (HERE / "plan_save.py").exists():
        print("migrate plan write: skipped (benchmarks/plan_save.py is missing)")
        return
    values = []
    for _ in range(args.runs):
        found = re.search(r"migrate plan, 5,000 users: ([0-9.]+) s", _script("plan_save.py"))
        if found is None:
            print("migrate plan write: could not read plan_save.py's output")
            return
        values.append(float(found[1]) * 1000)
    _line(
        "migrate plan write, 5,000 users",
        values,
        "ms",
        "a few ms (<=10)",
        min(values) <= 10,
        "  (plan_save.py: Plan.save as the CLI does)",
    )


FIGURES = ("export", "cpu", "bound", "startup", "memory", "big", "list", "plan")


def figures(args: argparse.Namespace) -> None:
    wanted = set(args.only.split(",")) if args.only else set(FIGURES)
    print(
        f"issue 10 figures: {args.tenants} tenants x {args.devices:,} devices, "
        f"{args.latency_ms:g} ms a request, {os.cpu_count()} CPUs, {args.runs} run(s) each; "
        "simulators in their own processes"
    )
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-issue10-") as name:
        tmp = Path(name)
        if wanted & {"export", "cpu", "bound"}:
            kinds = ["mixed", "ezmdm", "duostation"] if "export" in wanted else ["mixed"]
            for kind in kinds:
                figure_export(args, kind, tmp, results)
            if wanted & {"cpu", "bound"}:
                figure_cpu_and_bound(args, results)
        if "startup" in wanted:
            figure_startup(args)
        if "memory" in wanted:
            figure_memory(args)
        if "big" in wanted:
            figure_big_duostation(args, tmp)
        if "list" in wanted:
            figure_devices_list(args)
        if "plan" in wanted:
            figure_plan(args)


def profile(args: argparse.Namespace) -> None:
    vendors = _vendors(args.vendor, args.tenants)
    with ExitStack() as stack:
        tenants = start_tenants(stack, vendors, args.devices, args.latency_ms, 0)
        spec = {
            "tenants": tenants,
            "format": args.format,
            "entities": "devices",
            "workers": args.workers or args.tenants,
            "profile_top": args.profile_top,
            "profile_out": args.profile_out,
        }
        run_child("baseline", {**spec, "format": "csv"})
        done = subprocess.run(
            [sys.executable, __file__, "--child", "profile", json.dumps(spec)],
            capture_output=True,
            text=True,
        )
        print(done.stdout if done.returncode == 0 else done.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--devices", type=int, default=5000, help="devices per tenant")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=1, help="repeat each measurement")
    parser.add_argument(
        "--format",
        default="jsonl",
        choices=("jsonl", "sqlite"),
        help="the export's output (the issue's command: --entities devices --format jsonl)",
    )
    parser.add_argument("--workers", type=int, default=0, help="tenants at once (default: all)")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(FIGURES)}")
    parser.add_argument("--memory-sizes", default="10000,1000000")
    parser.add_argument("--memory-tenants", type=int, default=2)
    parser.add_argument(
        "--memory-vendor", choices=["ezmdm", "duostation", "mixed"], default="mixed"
    )
    parser.add_argument("--big-duostation", type=int, default=500_000)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 4 x 2,500 devices, memory 10k vs 200k, 100k DuoSTATION",
    )
    parser.add_argument(
        "--vendor",
        choices=["ezmdm", "duostation", "mixed"],
        default="mixed",
        help="the workload --profile uses",
    )
    parser.add_argument("--profile", action="store_true", help="profile the export instead")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--profile-out", help="also save the merged profile (pstats) here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    as_users_run_it()
    if args.child:
        mode, spec = args.child[0], json.loads(args.child[1])
        if mode == "profile":
            child_profile(spec)
        else:
            run = child_mdmbridge if mode == "mdmbridge" else child_baseline
            print(json.dumps(run(spec)))
        return 0
    if args.quick:
        args.tenants, args.devices = 4, 2500
        args.memory_sizes, args.big_duostation = "10000,200000", 100_000
    if args.profile:
        profile(args)
    else:
        figures(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
