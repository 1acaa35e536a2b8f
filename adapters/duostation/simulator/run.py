"""Starting the DuoSTATION simulator: from Python (:func:`start_simulator`, what tests and
``mdmbridge simulate`` use) and from the command line (:func:`main`, behind
``python -m mdmbridge_duostation.simulator``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, cast

from mdmbridge.simulation.faults import Faults
from mdmbridge.simulation.server import SimServer

from .answers import ID_SHAPES
from .app import DuoStationSimulator


def start_simulator(
    *,
    devices: int = 0,
    username: str = "api",
    password: str = "secret",
    seed: int = 1,
    host: str = "127.0.0.1",
    port: int = 0,
    id_shape: str = "number",
) -> SimServer:
    """Build a DuoSTATION simulator, serve it on ``host:port`` (0 = any free port), start it.

    The caller stops it (``server.stop()``); ``server.app`` is the :class:`DuoStationSimulator`.
    """
    app = DuoStationSimulator(
        username=username, password=password, devices=devices, seed=seed, id_shape=id_shape
    )
    return SimServer(app, host=host, port=port).start()


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until Ctrl-C; returns the exit code (1: cannot listen)."""
    parser = argparse.ArgumentParser(
        prog="python -m mdmbridge_duostation.simulator",
        description="Run a fake DuoSTATION MDM server (REST API 4.8.49) for demos and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port (0 = any free port)")
    parser.add_argument("--devices", type=int, default=0, help="seed a fleet of N devices")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated fleet")
    parser.add_argument("--username", default="api")
    parser.add_argument("--password", default="secret")
    parser.add_argument(
        "--id-shape",
        choices=ID_SHAPES,
        default="number",
        help='how create calls return the new id: 123, "123" or {"Id":123}',
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency on every request")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a fault rule such as status:429:retry_after=2:times=3 (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.devices < 0:
        parser.error("--devices must be >= 0")
    specs: list[dict[str, object]] = []
    for spec in args.fault:
        try:
            specs.append(Faults.parse_spec(spec))
        except ValueError as exc:
            parser.error(f"--fault {spec!r}: {exc}")
    try:
        sim = start_simulator(
            devices=args.devices,
            username=args.username,
            password=args.password,
            seed=args.seed,
            host=args.host,
            port=args.port,
            id_shape=args.id_shape,
        )
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    for spec in specs:
        sim.faults.add(**cast(dict[str, Any], spec))
    sim.faults.latency_s = max(0.0, args.latency_ms) / 1000.0
    base_url = (
        sim.base_url
        if args.host in {"127.0.0.1", "0.0.0.0", "", "localhost"}
        else f"http://{args.host}:{sim.port}"
    )
    print(f"DuoSTATION simulator with {args.devices} devices listening on {base_url}")
    print(f"  base URL: {base_url}  (API under {base_url}/api)")
    print(f"  username: {args.username}")
    print(f"  password: {args.password}")
    print("Press Ctrl-C to stop.", flush=True)
    sim.serve_until_interrupted()
    return 0
