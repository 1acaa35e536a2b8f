"""Starting the ezmdm simulator: from Python (:func:`start_simulator`, what tests and
``mdmbridge simulate`` use) and from the command line (:func:`main`, behind
``python -m mdmbridge_ezmdm.simulator``).
"""

from __future__ import annotations

import argparse
from typing import Any, cast

from mdmbridge.simulation.faults import Faults
from mdmbridge.simulation.server import SimServer

from .app import EzmdmSimulator


def start_simulator(
    *,
    devices: int = 0,
    api_key: str = "ez-demo-key",
    seed: int = 1,
    host: str = "127.0.0.1",
    port: int = 0,
    max_page_size: int = 100,
) -> SimServer:
    """Build an :class:`EzmdmSimulator`, serve it on ``host:port`` (0 = any free port)."""
    app = EzmdmSimulator(api_key=api_key, devices=devices, seed=seed, max_page_size=max_page_size)
    return SimServer(app, host=host, port=port).start()


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until Ctrl-C; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m mdmbridge_ezmdm.simulator",
        description="Serve a fake ezmdm REST API on this machine.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--devices", type=int, default=0, help="seed a fleet of this size")
    parser.add_argument("--api-key", default="ez-demo-key")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-page-size", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="e.g. status:429:retry_after=2:times=3 (repeatable)",
    )
    args = parser.parse_args(argv)
    specs: list[dict[str, Any]] = []
    for text in args.fault:
        try:
            specs.append(cast(dict[str, Any], Faults.parse_spec(text)))
        except ValueError as exc:
            parser.error(f"--fault {text!r}: {exc}")
    sim = start_simulator(
        devices=args.devices,
        api_key=args.api_key,
        seed=args.seed,
        host=args.host,
        port=args.port,
        max_page_size=args.max_page_size,
    )
    for spec in specs:
        sim.faults.add(**spec)
    sim.faults.latency_s = max(0.0, args.latency_ms) / 1000.0
    base_url = f"http://{args.host}:{sim.port}"
    print(f"ezmdm simulator: {base_url}/api/v1/{args.api_key}/", flush=True)
    print(f"base URL: {base_url}", flush=True)
    print(f"API key: {args.api_key}", flush=True)
    sim.serve_until_interrupted()
    return 0
