"""The "ids seen" check of every listing: a plain set against ``SeenIds`` (issue 10).

    .venv/bin/python benchmarks/seen_ids.py [--sizes 10000,100000,1000000] [--runs 3]

Ids are GUID strings made page by page (1,000 a page, as a listing sees them) and dropped
after their page, so what stays in memory is what the check keeps. Each page is checked and
recorded the way the pagers do it: ``set``: ``isdisjoint`` then ``update`` (the cheapest
exact check a set allows, without positions); ``SeenIds``: ``find_repeat`` then ``add``.
Only those calls are timed, in the process's CPU time (user + system, so SQLite's
reads and writes count, and other load on the machine counts less). Every measurement runs
in a fresh child process, since peak RSS is per process. Prints min and median of
``--runs``; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAGE = 1000


def child(kind: str, count: int, seed: int) -> None:
    from mdmbridge.paging.seen import SeenIds

    rng = random.Random(seed)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timed = 0.0
    if kind == "set":
        seen: set[str] = set()
        for start in range(0, count, PAGE):
            ids = [
                str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(min(PAGE, count - start))
            ]
            began = time.process_time()
            if not seen.isdisjoint(ids) or len(set(ids)) != len(ids):
                raise SystemExit("unexpected repeat")
            seen.update(ids)
            timed += time.process_time() - began
        held = len(seen)
    else:
        with SeenIds() as ids_seen:
            for start in range(0, count, PAGE):
                ids = [
                    str(uuid.UUID(int=rng.getrandbits(128)))
                    for _ in range(min(PAGE, count - start))
                ]
                number = start // PAGE + 1
                began = time.process_time()
                if ids_seen.find_repeat(ids) is not None:
                    raise SystemExit("unexpected repeat")
                ids_seen.add(ids, number)
                timed += time.process_time() - began
            held = len(ids_seen)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"held": held, "us_per_id": timed / count * 1e6, "peak_mb": peak_mb, "base_mb": base_mb}
        )
    )


def measure(kind: str, count: int, seed: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(count), str(seed)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    if result["held"] != count:
        raise SystemExit(f"{kind} held {result['held']} ids, expected {count}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"GUID ids, {PAGE} a page; CPU us per id; min / median of {args.runs} fresh processes")
    print(
        f"{'ids':>9}  {'kind':<8} {'us/id min':>9} {'median':>7}"
        f"  {'peak RSS MB min':>15} {'median':>7}"
    )
    peaks: dict[tuple[str, int], float] = {}
    for count in sizes:
        for kind in ("set", "SeenIds"):
            runs = [measure(kind, count, seed) for seed in range(args.runs)]
            us = [r["us_per_id"] for r in runs]
            mb = [r["peak_mb"] for r in runs]
            peaks[kind, count] = statistics.median(mb)
            print(
                f"{count:>9,}  {kind:<8} {min(us):>9.3f} {statistics.median(us):>7.3f}"
                f"  {min(mb):>15.1f} {statistics.median(mb):>7.1f}"
            )
    small, large = min(sizes), max(sizes)
    if small != large:
        for kind in ("set", "SeenIds"):
            growth = peaks[kind, large] - peaks[kind, small]
            print(f"{kind}: median peak RSS at {large:,} is {growth:+.1f} MB over {small:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
