"""The main job on the embedded default: no network, no config.

Starts every installed adapter's simulator on a free loopback port, seeded with a
realistic fleet, reads its whole inventory through the public library API exactly as a
user would against a real tenant, prints a summary and a sample, and stops the simulators.
(The export issue turns this into the unified export demo.)
"""

from __future__ import annotations

import argparse
import collections
import sys
import time

import mdmbridge
from mdmbridge.errors import MDMError, UnsupportedOperation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mdmbridge.demo", description=__doc__)
    parser.add_argument("--devices", type=int, default=500, help="devices per simulated tenant")
    parser.add_argument("--sample", type=int, default=8, help="devices to show per tenant")
    args = parser.parse_args(argv)
    if args.devices < 0:
        parser.error("--devices must be 0 or more")

    failed = 0
    for vendor, info in mdmbridge.adapters().items():
        try:
            sim = info.adapter_class.start_simulator(devices=args.devices)
        except UnsupportedOperation:
            continue
        with sim, mdmbridge.connect(vendor, tenant=f"demo-{vendor}", **sim.settings) as mdm:
            print(f"\n== {vendor} simulator at {sim.base_url} (tenant {mdm.tenant})")
            try:
                failed += _summarise(mdm, args.sample)
            except MDMError as error:
                print(f"   failed: {error}", file=sys.stderr)
                failed += 1
    return 1 if failed else 0


def _summarise(mdm: mdmbridge.Client, sample: int) -> int:
    started = time.perf_counter()
    platforms: collections.Counter[str] = collections.Counter()
    shown = 0
    header = f"{'serial':<13} {'platform':<8} {'model':<28} {'os':<8} {'battery':>7}  name"
    print("   " + header)
    for device in mdm.devices.list():
        platforms[device.platform.value] += 1
        if shown < sample:
            shown += 1
            battery = "" if device.battery_level is None else f"{device.battery_level}%"
            model = (device.model or "")[:28]
            print(
                f"   {device.serial_number or '':<13} {device.platform.value:<8} {model:<28} "
                f"{device.os_version or '':<8} {battery:>7}  {device.name or ''}"
            )
    elapsed = time.perf_counter() - started
    users = sum(1 for _ in mdm.users.list())
    groups = sum(1 for _ in mdm.groups.list())
    total = sum(platforms.values())
    by_platform = ", ".join(f"{name} {count}" for name, count in platforms.most_common())
    print(
        f"   {total} devices ({by_platform}) read in {elapsed:.2f}s; {users} users; {groups} groups"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
