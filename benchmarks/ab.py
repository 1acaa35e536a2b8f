"""This tree against another revision, interleaved: the honest comparison on a noisy machine.

    .venv/bin/python benchmarks/ab.py --base 4d948db            # the mixed export, 8 runs each
    .venv/bin/python benchmarks/ab.py --base HEAD~3 --what startup --runs 12

A shared machine's speed drifts (25% within one session here), so figures taken minutes
apart do not compare. This checks ``--base`` out into a temporary worktree and runs the
same workload on both trees alternately: the mixed ``mdmbridge export`` of ``export.py``
(wall and CPU of the whole process), or the CPU to its first request (``startup_probe.py``).

Each tree's code is what runs: the child starts in a neutral directory (the current one
comes first on ``sys.path``) with ``PYTHONPATH`` at the tree and this venv's editable
finder taken out of ``sys.meta_path``; the adapters are found through ``<tree>/.ab`` links
(``mdmbridge_<vendor>`` -> ``adapters/<vendor>``). Prints min and median for each, and the
ratio of medians; asserts only that every device arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import export as bench  # noqa: E402
from _sims import as_users_run_it  # noqa: E402

# The child: this venv's editable finder would import /work/main whatever PYTHONPATH says.
CLI = (
    "import sys, runpy\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
    "if sys.argv[1] == '--probe':\n"
    "    sys.argv = sys.argv[2:]\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
    "else:\n"
    "    from mdmbridge.cli import main\n"
    "    sys.exit(main(sys.argv[1:]))\n"
)


def worktree(base: str, folder: Path) -> Path:
    tree = folder / "base"
    done = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), base],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["git worktree add failed"])[-1]
        raise SystemExit(f"--base {base}: cannot check it out ({reason})")
    return tree


def links(tree: Path) -> Path:
    """``<tree>/.ab/mdmbridge_<vendor>`` -> ``<tree>/adapters/<vendor>``: the packages'
    import names, as the editable install maps them."""
    folder = tree / ".ab"
    folder.mkdir(exist_ok=True)
    for adapter in (tree / "adapters").iterdir():
        link = folder / f"mdmbridge_{adapter.name}"
        if adapter.is_dir() and not link.exists():
            link.symlink_to(adapter)
    return folder


def run(tree: Path, args: list[str], neutral: Path) -> os.struct_rusage:
    env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{links(tree)}")
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=neutral,
    )
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{tree}: the run failed: {error[-2000:]}")
    return usage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--what", choices=["export", "startup"], default="export")
    parser.add_argument("--runs", type=int, default=8, help="runs of each tree, after a warm-up")
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--devices", type=int, default=5000, help="devices per tenant")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    as_users_run_it()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ab-")))
        base = worktree(args.base, folder)
        stack.callback(
            subprocess.run,
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
            check=False,
        )
        trees = {f"base {args.base}": base, "this tree": ROOT}
        devices = 50 if args.what == "startup" else args.devices
        vendors = ["ezmdm"] if args.what == "startup" else bench._vendors("mixed", args.tenants)
        tenants = bench.start_tenants(stack, vendors, devices, args.latency_ms, 0)
        config = bench._tenants_file(folder, tenants)
        output, record = folder / "out.jsonl", folder / "probe.json"
        export = ["--config", str(config), "export", "--entities", "devices"]
        export += ["--format", "jsonl", "-o", str(output)]
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        for number in range(args.runs + 1):  # the first round warms both up, uncounted
            for name, tree in trees.items():
                output.unlink(missing_ok=True)
                if args.what == "startup":
                    probe = str(tree / "benchmarks" / "startup_probe.py")
                    run(tree, ["--probe", probe, str(record), *export], folder)
                    figure = (0.0, float(json.loads(record.read_text())["cpu_s"]))
                else:
                    started = time.perf_counter()
                    usage = run(tree, [*export, "--workers", str(args.tenants)], folder)
                    figure = (time.perf_counter() - started, usage.ru_utime + usage.ru_stime)
                    if bench._rows(output) != args.tenants * devices:
                        raise SystemExit(f"{name}: not every device was exported")
                if number:
                    figures[name].append(figure)
    what = "CPU to the first request" if args.what == "startup" else "mixed export"
    print(f"{what}, {args.runs} interleaved runs each (min / median):")
    medians = {}
    for name, values in figures.items():
        cpu = [c for _, c in values]
        medians[name] = statistics.median(cpu)
        line = f"  {name:22} CPU {min(cpu):.3f} / {medians[name]:.3f} s"
        if args.what == "export":
            wall = [w for w, _ in values]
            line += f"   wall {min(wall):.3f} / {statistics.median(wall):.3f} s"
        print(line)
    base_median, ours = medians[f"base {args.base}"], medians["this tree"]
    print(f"  this tree / base, median CPU: {ours / base_median:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
