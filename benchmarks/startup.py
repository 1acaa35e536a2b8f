"""CPU seconds from process start to the first HTTP request of ``mdmbridge export``.

    .venv/bin/python benchmarks/startup.py                 # 3 runs: min and median
    .venv/bin/python benchmarks/startup.py --runs 7 --importtime

An ezmdm simulator runs in its own process (``_sims.py``); the CLI runs in a fresh child
process through ``startup_probe.py``, which reads ``getrusage`` CPU (user + system) at the
child's first ``socket.connect``: interpreter start, imports, the tenants file and
building the transport, everything a person waits for before anything is asked of a
vendor. The budget is 0.2 s (issue 10). ``--importtime`` adds the slowest imports of one
run (``python -X importtime``), cumulative, for finding what to cut.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sims import as_users_run_it, simulator

HERE = Path(__file__).resolve().parent
PROBE = HERE / "startup_probe.py"
# What an export must not have imported before its first request.
UNWANTED = ("rich", "mdmbridge.migrate", "mdmbridge.cli.resources", "mdmbridge.cli.records")


def run_once(config: Path, workdir: Path, *, importtime: bool = False) -> dict[str, object]:
    record = workdir / "probe.json"
    output = workdir / "out.jsonl"
    output.unlink(missing_ok=True)
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), str(PROBE)]
    args += [str(record), "--config", str(config), "export", "--format", "jsonl", "-o", str(output)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not record.exists():
        raise SystemExit(f"export failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(record.read_text(encoding="utf-8"))
    result["stderr"] = done.stderr
    return result


def slowest_imports(stderr: str, count: int = 25) -> list[tuple[float, str]]:
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match[2]) <= 3:  # top-level imports and their direct children
            rows.append((int(match[1]) / 1e6, match[2] + match[3]))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--importtime", action="store_true")
    options = parser.parse_args()
    as_users_run_it()
    with (
        simulator("ezmdm", devices=options.devices) as settings,
        tempfile.TemporaryDirectory() as tmp,
    ):
        workdir = Path(tmp)
        config = workdir / "tenants.toml"
        lines = ["[tenants.bench-ez]", 'vendor = "ezmdm"']
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        run_once(config, workdir)  # warm the file-system cache; not counted
        runs = [run_once(config, workdir) for _ in range(options.runs)]
        cpu = sorted(float(r["cpu_s"]) for r in runs)  # type: ignore[arg-type]
        modules = list(runs[-1]["modules"])  # type: ignore[call-overload]
        print(
            f"mdmbridge export, CPU seconds from process start to the first request "
            f"({options.runs} runs): min {cpu[0]:.3f}, median {statistics.median(cpu):.3f} "
            f"(budget 0.200)"
        )
        print(f"modules imported by then: {len(modules)}")
        for prefix in UNWANTED:
            hit = [m for m in modules if m == prefix or m.startswith(prefix + ".")]
            said = f"imported ({len(hit)} modules)" if hit else "not imported"
            print(f"  {prefix}: {said}")
        if options.importtime:
            print("slowest imports of one run (cumulative seconds, -X importtime):")
            for seconds, name in slowest_imports(
                str(run_once(config, workdir, importtime=True)["stderr"])
            ):
                print(f"  {seconds:7.3f}  {name}")


if __name__ == "__main__":
    main()
