"""Per-device CPU cost of the export's decode-to-row layers, the plain way and ours (issue 10).

    .venv/bin/python benchmarks/decode.py [--devices 5000] [--repeat 5]

Each figure is the best of ``--repeat`` runs over one page of ``--devices`` DuoSTATION-shaped
device records, in microseconds per device: decoding the page's JSON, reading the fields
through the DuoSTATION device table, building the pydantic model, and the ``raw`` column's
JSON text. Prints figures; asserts only that both ways give the same results.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from mdmbridge_duostation import mapping as duo_map

from mdmbridge.export.schema import _json_text
from mdmbridge.mapping import _read_each, build
from mdmbridge.models import Device
from mdmbridge.transport.body import parse_json


def _record(number: int) -> dict[str, Any]:
    return {
        "Id": f"5f0c{number:08x}-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        "Name": f"iPhone tillhörande Åsa Lindqvist {number}",
        "SerialNumber": f"F2LX{number:08d}",
        "Model": "iPhone 15 Pro",
        "Platform": 0,
        "OsVersion": "17.4.1",
        "UserId": 1000 + number % 300,
        "GroupId": 40 + number % 12,
        "LastCheckIn": "2024-05-02T09:14:03Z",
        "Udid": f"00008110-{number:016X}",
        "Imei": f"35{number:013d}",
        "PhoneNumber": f"+4670{number:07d}",
        "BatteryLevel": number % 101,
        "Enrolled": True,
        "Supervised": number % 3 == 0,
        "Storage": {"total": 256.0, "free": 41.5},
        "Apps": [{"id": 3, "version": "2.1"}],
    }


def _best(repeat: int, count: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best / count * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.devices, args.repeat
    page = json.dumps([_record(i) for i in range(n)], ensure_ascii=False)
    table = duo_map.DEVICE
    items = json.loads(page)
    assert parse_json(page) == items
    reader, _ = table._reader(tuple(items[0]))
    assert [table.read(p) for p in items] == [_read_each(reader, p) for p in items]
    models = [build(Device, table, p, tenant="t", vendor="duostation") for p in items]

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    assert [_json_text(m.raw) for m in models] == [dumps(m.raw) for m in models]
    rows = [
        ("decode the page", lambda: json.loads(page), lambda: parse_json(page)),
        (
            "read the fields",
            lambda: [_read_each(reader, p) for p in items],
            lambda: [table.read(p) for p in items],
        ),
        (
            "raw as JSON text",
            lambda: [dumps(m.raw) for m in models],
            lambda: [_json_text(m.raw) for m in models],
        ),
    ]
    print(f"{n} DuoSTATION-shaped devices, best of {repeat}; CPU µs per device")
    print(f"{'layer':<22}{'plain':>10}{'ours':>10}")
    for name, plain, ours in rows:
        print(f"{name:<22}{_best(repeat, n, plain):>10.2f}{_best(repeat, n, ours):>10.2f}")
    whole = _best(
        repeat, n, lambda: [build(Device, table, p, tenant="t", vendor="duostation") for p in items]
    )
    print(f"{'build (read + model)':<22}{'':>10}{whole:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
