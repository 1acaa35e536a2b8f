"""CPU seconds of ``mdmbridge devices list TENANT`` against one simulator of D devices.

    .venv/bin/python benchmarks/cli_list.py [--devices 5000] [--vendor duostation|ezmdm]
        [--columns 120] [--runs 3]

Each run is a fresh ``mdmbridge`` process; its CPU time (user + system, from ``wait4``)
covers start-up, the requests, parsing and writing the output. The table run gets a real
terminal (a pty of the given width, ``COLUMNS`` set, paging off) so it fits the width as a
person would see it; the csv run writes into a pipe. The simulator runs in its own process
and is not counted. Prints min and median of the runs; asserts nothing about them (only
that every device arrived).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sims import as_users_run_it, simulator

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MDMBRIDGE = str(Path(sys.executable).with_name("mdmbridge"))


def _config(folder: Path, vendor: str, settings: dict[str, str]) -> tuple[Path, dict[str, str]]:
    env = dict(os.environ)
    lines = ['[tenants."bench"]', f'vendor = "{vendor}"', f'base_url = "{settings["base_url"]}"']
    if vendor == "duostation":
        lines.append(f'username = "{settings["username"]}"')
        lines.append('password = "env:BENCH_SECRET"')
        env["BENCH_SECRET"] = settings["password"]
    else:
        lines.append('api_key = "env:BENCH_SECRET"')
        env["BENCH_SECRET"] = settings["api_key"]
    path = folder / "tenants.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, env


def _on_a_terminal(argv: list[str], env: dict[str, str], columns: int) -> tuple[float, bytes]:
    """Run ``argv`` with a pty of ``columns`` x 50 as its stdout; (CPU seconds, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    pid = os.fork()
    if pid == 0:  # the child: stdout and stderr on the terminal, stdin from /dev/null
        os.close(master)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(slave, 1)
        os.dup2(slave, 2)
        os.execve(argv[0], argv, env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {b''.join(chunks)[-500:]!r}")
    return usage.ru_utime + usage.ru_stime, b"".join(chunks)


def _into_a_pipe(argv: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    """Run ``argv`` with a pipe as its stdout; (CPU seconds, output)."""
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err)
        assert process.stdout is not None
        out = process.stdout.read()
        process.stdout.close()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if process.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed: {err.read()[-500:]!r}")
    return usage.ru_utime + usage.ru_stime, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--vendor", choices=("duostation", "ezmdm"), default="duostation")
    parser.add_argument("--columns", type=int, default=120, help="the terminal's width")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    as_users_run_it()

    with (
        simulator(args.vendor, devices=args.devices) as settings,
        tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp,
    ):
        config, env = _config(Path(tmp), args.vendor, settings)
        env.update(COLUMNS=str(args.columns), LINES="50", MDMBRIDGE_PAGER="cat", TERM="xterm")
        base = [MDMBRIDGE, "--config", str(config), "devices", "list", "bench"]
        _into_a_pipe([*base, "--format", "jsonl"], env)  # warm-up: the simulator builds records
        figures: dict[str, list[float]] = {"table (terminal)": [], "csv (pipe)": []}
        for _ in range(args.runs):
            cpu, out = _on_a_terminal(base, env, args.columns)
            lines = out.decode("utf-8", "replace").splitlines()
            widest = max(len(ANSI.sub("", line.rstrip("\r"))) for line in lines)
            if len(lines) < args.devices:
                raise RuntimeError(f"table: {len(lines)} lines for {args.devices} devices")
            figures["table (terminal)"].append(cpu)
            cpu, raw = _into_a_pipe([*base, "--format", "csv"], env)
            if raw.count(b"\n") < args.devices + 1:
                raise RuntimeError("csv: fewer rows than devices")
            figures["csv (pipe)"].append(cpu)
    print(
        f"mdmbridge devices list: {args.devices} {args.vendor} devices, "
        f"terminal {args.columns} columns ({len(lines)} table lines, widest {widest}), "
        f"{args.runs} runs, CPU seconds of the mdmbridge process"
    )
    print(f"{'output':<18} {'min s':>7} {'median s':>9}")
    for name, values in figures.items():
        print(f"{name:<18} {min(values):>7.2f} {statistics.median(values):>9.2f}")


if __name__ == "__main__":
    main()
