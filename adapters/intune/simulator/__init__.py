"""A faithful subset of Microsoft Graph v1.0 for Intune, on loopback, built on the shared
simulator framework (``mdmbridge.simulation``).

One server answers both the identity platform's token endpoint and Graph, so one base URL
serves as ``authority_url`` and ``graph_url``:

- ``POST /{tenant}/oauth2/v2.0/token``: client credentials (``auth.py``);
- ``/v1.0/users``, ``/v1.0/groups``, ``/v1.0/groups/{id}/members[/$ref]`` (``directory.py``);
- ``/v1.0/deviceManagement/managedDevices[/{id}[/{action}]]``,
  ``/v1.0/deviceAppManagement/mobileApps[/{id}]`` (``devices.py``);
- OData ``$filter``/``$select``/``$top``/``$orderby``/``$count`` and server-driven paging
  with an opaque ``$skiptoken`` (``odata.py``, ``core.py``).

The contract it follows, with every source page, is ``docs/intune-contract.md``.

Run it by hand with::

    python -m mdmbridge_intune.simulator --port 8083 --devices 500 \
        --fault status:429:retry_after=2:times=3

Seeded tenants are materialised lazily (``state.py``): seeding draws ids and memberships only,
and a user or device record is generated the first time it is served, so a page costs
O(page) whatever the fleet size. A ``$filter`` scans, and so builds, every record once.
"""

from __future__ import annotations

import argparse
from typing import Any, cast

from mdmbridge.simulation.faults import Faults
from mdmbridge.simulation.server import SimServer

from .core import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_DOMAIN,
    DEFAULT_MAIL_DOMAIN,
    DEFAULT_TENANT_ID,
    DeviceAction,
    GraphWrite,
)
from .devices import DeviceRoutes
from .directory import DirectoryRoutes, seeded_group
from .seed import ALL_STAFF, iso

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_DOMAIN",
    "DEFAULT_MAIL_DOMAIN",
    "DEFAULT_TENANT_ID",
    "DeviceAction",
    "GraphWrite",
    "IntuneSimulator",
    "main",
    "start_simulator",
]

Record = dict[str, Any]


class IntuneSimulator(DirectoryRoutes, DeviceRoutes):
    """Graph v1.0 for one tenant and one app registration, as a ``VendorApp``.

    Public state for tests: ``tokens`` (``issued``, ``refused``, ``expire_all()``,
    ``revoke_all()``), ``actions`` (every device action received, in order),
    ``writes`` (every Graph POST/PATCH/DELETE with its JSON body, passwords masked),
    ``list_requests``; hooks ``forbid(path_regex)`` and ``serve_empty_pages(times)``;
    read-only helpers ``user``, ``group``, ``device``, ``app``, ``group_ids_of``,
    ``member_ids``, ``password_matches``.
    """

    # ------------------------------------------------------------------ read-only helpers

    def user(self, user_id: str) -> Record | None:
        with self.lock:
            record = self.users.get(user_id)
            return None if record is None else dict(record)

    def group(self, group_id: str) -> Record | None:
        with self.lock:
            record = self.groups.get(group_id)
            return None if record is None else dict(record)

    def device(self, device_id: str) -> Record | None:
        with self.lock:
            record = self.devices.get(device_id)
            return None if record is None else dict(record)

    def app(self, app_id: str) -> Record | None:
        with self.lock:
            record = self.apps.get(app_id)
            return None if record is None else dict(record)

    def ids(self, kind: str) -> list[str]:
        """All ids of ``users``, ``groups``, ``devices`` or ``apps``, in listing order."""
        with self.lock:
            return list(cast(Any, getattr(self, kind)).ids)

    def password_matches(self, user_id: str, password: str) -> bool:
        import hashlib

        with self.lock:
            return self.passwords.get(user_id) == hashlib.sha256(password.encode()).hexdigest()

    # ------------------------------------------------------------------ seeding

    def _make_user(self, user_id: str, seed: Any) -> Record:
        index, office = seed
        record = self.seeder.user(int(index), user_id)
        record["officeLocation"] = office  # [sim decision] where the user's team group sits
        return record

    def _make_device(self, device_id: str, seed: Any) -> Record:
        index, owner_id = seed
        owner = self.users.get(owner_id) if owner_id else None
        record = self.seeder.device(int(index), device_id, owner)
        if owner_id and owner is None:  # the owner was deleted before the device was first read
            record["userId"] = owner_id
        return record

    def _seed_tenant(self, devices: int) -> None:
        seeder = self.seeder
        created = iso(seeder.now.replace(year=seeder.now.year - 3))
        by_path: dict[tuple[str, ...], str] = {}
        paths = seeder.gen.group_tree()
        names = seeder.group_names()
        for index, (name, description) in enumerate(names):
            group_id = seeded_group(self, index, name, description, created)
            if index < len(paths):
                by_path[paths[index]] = group_id
        all_staff = self.groups.get(seeder.group_id(len(names) - 1))
        assert all_staff is not None and all_staff["displayName"] == ALL_STAFF
        leaves = [(path, group_id) for path, group_id in by_path.items() if len(path) == 3]
        user_count = max(1, int(devices * 0.8))
        user_ids = seeder.ids("users", user_count)
        all_staff_id = str(all_staff["id"])
        for index, user_id in enumerate(user_ids):
            path, leaf = leaves[(index * 7) % len(leaves)]
            self.users.add_lazy(user_id, (index, path[0]))
            self.add_member(leaf, user_id)
            if index % 3 == 0:  # some people are in their city's group too
                self.add_member(by_path[path[:1]], user_id)
            self.add_member(all_staff_id, user_id)
        linked = 0
        for index, device_id in enumerate(seeder.ids("devices", devices)):
            owner_id = None
            if index % 10 != 9:  # about 90% belong to someone, as in the other simulators
                owner_id = user_ids[linked % user_count]
                linked += 1
            self.devices.add_lazy(device_id, (index, owner_id))
        for app in seeder.apps():
            self.apps.add(str(app["id"]), app)


def start_simulator(
    *,
    devices: int = 0,
    seed: int = 1,
    host: str = "127.0.0.1",
    port: int = 0,
    tenant_id: str = DEFAULT_TENANT_ID,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    token_lifetime_s: float = 3600,
    domain: str = DEFAULT_DOMAIN,
    device_page_size: int = 1000,
    directory_page_size: int = 100,
    device_patch_status: int = 200,
) -> SimServer:
    """Build an :class:`IntuneSimulator`, serve it on ``host:port`` (0 = any free port).

    The returned server's ``base_url`` is both the authority
    (``{base_url}/{tenant_id}/oauth2/v2.0/token``) and Graph (``{base_url}/v1.0``).
    """
    app = IntuneSimulator(
        devices=devices,
        seed=seed,
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=client_secret,
        token_lifetime_s=token_lifetime_s,
        domain=domain,
        device_page_size=device_page_size,
        directory_page_size=directory_page_size,
        device_patch_status=device_patch_status,
    )
    return SimServer(app, host=host, port=port).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mdmbridge_intune.simulator",
        description="Serve a fake Microsoft Graph v1.0 (Intune, users, groups) on this machine.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--devices", type=int, default=0, help="seed a fleet of this size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tenant-id", default=DEFAULT_TENANT_ID)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--token-lifetime-s", type=float, default=3600.0)
    parser.add_argument("--domain", default=DEFAULT_DOMAIN)
    parser.add_argument("--device-page-size", type=int, default=1000)
    parser.add_argument("--directory-page-size", type=int, default=100)
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
        seed=args.seed,
        host=args.host,
        port=args.port,
        tenant_id=args.tenant_id,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_lifetime_s=args.token_lifetime_s,
        domain=args.domain,
        device_page_size=args.device_page_size,
        directory_page_size=args.directory_page_size,
    )
    for spec in specs:
        sim.faults.add(**spec)
    sim.faults.latency_s = max(0.0, args.latency_ms) / 1000.0
    base_url = f"http://{args.host}:{sim.port}"
    print(
        f"intune (Microsoft Graph v1.0) simulator with {args.devices} devices at {base_url}",
        flush=True,
    )
    print(f"  authority_url: {base_url}", flush=True)
    print(f"  graph_url: {base_url}/v1.0", flush=True)
    print(f"  token endpoint: {base_url}/{args.tenant_id}/oauth2/v2.0/token", flush=True)
    print(f"  tenant_id: {args.tenant_id}", flush=True)
    print(f"  client_id: {args.client_id}", flush=True)
    print(f"  client_secret: {args.client_secret}", flush=True)
    print("Ctrl-C stops it.", flush=True)
    sim.serve_until_interrupted()
    return 0
