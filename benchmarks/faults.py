"""The fault matrix as a report: every list endpoint of both adapters under every fault class
(the table in ``tests/test_fault_matrix.py``, run by the same code as the test suite).

    .venv/bin/python benchmarks/faults.py [--verbose] [--only SUBSTRING ...]

Prints how many cases were tried, how many ended in a complete and exact result, how many
in a typed error, and how many were wrong, each wrong one with its endpoint, fault and what
happened. Exits 1 if any case was wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD", "1")

from tests.test_fault_matrix import CASES, Matrix, Result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case")
    parser.add_argument(
        "--only", action="append", default=[], metavar="TEXT", help="cases whose id holds TEXT"
    )
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.only or any(text in c.id for text in args.only)]
    results: list[Result] = []
    started = time.monotonic()
    with Matrix() as matrix:
        for case in cases:
            result = matrix.run(case)
            results.append(result)
            if args.verbose:
                mark = "ok   " if result.ok else "WRONG"
                print(f"{mark} {result.case.id}: {result.outcome} [{result.seconds:.2f} s]")
    elapsed = time.monotonic() - started
    wrong = [r for r in results if not r.ok]
    complete = sum(1 for r in results if r.ok and r.error is None)
    typed = sum(1 for r in results if r.ok and r.typed_error)
    slowest = max(results, key=lambda r: r.seconds, default=None)
    print(f"fault matrix: {len(results)} cases in {elapsed:.1f} s")
    print(f"  complete and exact:  {complete}")
    print(f"  typed error:         {typed}")
    print(f"  wrong:               {len(wrong)}")
    if slowest is not None:
        print(f"  slowest case: {slowest.case.id} ({slowest.seconds:.2f} s)")
    if wrong:
        by_fault = Counter(r.case.fault.name for r in wrong)
        print("wrong cases, by fault class: " + ", ".join(f"{k} {v}" for k, v in by_fault.items()))
        for result in wrong:
            endpoint = result.case.endpoint
            print(
                f"- {endpoint.vendor} {endpoint.name} / {result.case.fault.name}: {result.outcome}"
            )
            for problem in result.problems:
                print(f"    {problem}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
