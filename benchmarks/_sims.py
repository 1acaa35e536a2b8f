"""Simulators in their own processes, so the client being measured does not share its
interpreter (GIL, memory) with the server it talks to."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

MODULES = {"duostation": "mdmbridge_duostation.simulator", "ezmdm": "mdmbridge_ezmdm.simulator"}
CREDENTIALS = {
    "duostation": {"username": "api", "password": "bench-password"},
    "ezmdm": {"api_key": "bench-key-0001"},
}


def as_users_run_it() -> None:
    """Child processes (the CLI, the simulators) run as on a user's machine, with Python's
    bytecode cache: a CI box may set PYTHONDONTWRITEBYTECODE, which makes every start-up
    compile each of mdmbridge's modules from source (~0.04 s CPU on this machine) and would
    charge that to a figure no user sees. The first (warm-up) run writes the cache."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def simulator(
    vendor: str, *, devices: int, latency_ms: float = 0.0, seed: int = 1
) -> Iterator[dict[str, str]]:
    """Start ``vendor``'s simulator in a subprocess; yield the connect() settings."""
    port = free_port()
    creds = CREDENTIALS[vendor]
    args = [
        sys.executable,
        "-m",
        MODULES[vendor],
        "--port",
        str(port),
        "--devices",
        str(devices),
        "--seed",
        str(seed),
        "--latency-ms",
        str(latency_ms),
    ]
    for key, value in creds.items():
        args += [f"--{key.replace('_', '-')}", value]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"{vendor} simulator exited: {process.poll()}")
            if re.search(r"https?://127\.0\.0\.1:\d+", line):
                break
        _wait_for_port(port, deadline)
        yield {"base_url": f"http://127.0.0.1:{port}", **creds}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")
