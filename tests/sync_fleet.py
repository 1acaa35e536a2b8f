"""A small live fleet for the sync tests (two DuoSTATION tenants, one ezmdm), and what they
ask of a sync database: a pytest plugin (``pytest_plugins = ["tests.sync_fleet"]``), so the
``fleet`` fixture is shared without importing it into each module."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import mdmbridge
from mdmbridge.cli import main
from mdmbridge.simulation import SimServer
from mdmbridge.sync import schema as s
from mdmbridge.sync.store import open_store
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

Factory = Callable[..., SimServer]
FAST = {"retries": 0, "connect_timeout_s": 2.0, "read_timeout_s": 5.0}
ENTITIES = ("devices", "users", "groups")


@dataclass
class Fleet:
    servers: dict[str, SimServer]
    vendors: dict[str, str]
    tmp: Path

    def config(self) -> Path:
        lines = []
        for name, server in self.servers.items():
            lines += [f'[tenants."{name}"]', f'vendor = "{self.vendors[name]}"']
            lines.append(f'base_url = "{server.base_url}"')
            if self.vendors[name] == "duostation":
                lines += [f'username = "{DUO_USER}"', 'password = "env:TEST_DUO_PASSWORD"']
            else:
                lines += ['api_key = "env:TEST_EZ_KEY"', "page_size = 25"]
            lines += [f"{k} = {v}" for k, v in FAST.items()] + [""]
        path = self.tmp / "tenants.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def client(self, name: str) -> mdmbridge.Client:
        server = self.servers[name]
        if self.vendors[name] == "duostation":
            return mdmbridge.connect(
                "duostation",
                tenant=name,
                base_url=server.base_url,
                username=DUO_USER,
                password=DUO_PASSWORD,
            )
        return mdmbridge.connect("ezmdm", tenant=name, base_url=server.base_url, api_key=EZ_KEY)


@pytest.fixture
def fleet(duo_sim: Factory, ez_sim: Factory, tmp_path: Path) -> Fleet:
    servers = {
        "acme-duo": duo_sim(devices=30, seed=31),
        "nordic-duo": duo_sim(devices=20, seed=32),
        "acme-ez": ez_sim(devices=40, seed=33),
    }
    vendors = {"acme-duo": "duostation", "nordic-duo": "duostation", "acme-ez": "ezmdm"}
    return Fleet(servers, vendors, tmp_path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def sync(capsys: pytest.CaptureFixture[str], fleet: Fleet, db: str) -> tuple[int, str, str]:
    return run(capsys, "--config", str(fleet.config()), "sync", "--db", db)


def changes_json(capsys: pytest.CaptureFixture[str], db: str, *extra: str) -> list[dict[str, Any]]:
    code, out, err = run(capsys, "changes", "--db", db, "--format", "json", *extra)
    assert code == 0, err
    found: list[dict[str, Any]] = json.loads(out)
    return found


def state_of(db: str) -> dict[str, Any]:
    """What a database says, without run ids and times: every entity row's data and whether
    it is removed, and the multiset of changes."""
    store = open_store(db)
    try:
        with store.engine.connect() as conn:
            tables = {}
            for name in ENTITIES:
                t = s.entity_tables[name]
                columns = [t.c[c] for c in s.data_columns(name)]
                rows = conn.execute(select(*columns, t.c.sync_removed_run.is_not(None)))
                tables[name] = sorted(tuple(row) for row in rows)
            c = s.changes.c
            found = conn.execute(
                select(c.tenant, c.entity, c.record_id, c.kind, c.field, c.old, c.new)
            )
            return {"tables": tables, "changes": Counter(tuple(row) for row in found)}
    finally:
        store.close()


def mutate(fleet: Fleet) -> dict[str, Any]:
    """Between two runs: acme-duo gains a user, loses a device, and a device changes hands;
    nordic-duo reassigns a device but fails to list (a 503 storm)."""
    with fleet.client("acme-duo") as client:
        devices = list(client.devices.list())
        users = list(client.users.list())
        added = client.users.create(name="Nia Newcomer", email="nia.newcomer@example.com")
        moved = next(d for d in devices if d.user_id is not None)
        new_owner = next(u for u in users if u.id != moved.user_id)
        after = client.devices.assign_user(moved.id, new_owner.id)
    app = fleet.servers["acme-duo"].app
    gone = devices[-1] if devices[-1].id != moved.id else devices[-2]
    with app.lock:
        held = app.devices.pop(next(k for k in app.devices if str(k) == gone.id))
    with fleet.client("nordic-duo") as client:
        nordic_users = list(client.users.list())
        reassigned = next(d for d in client.devices.list() if d.user_id is not None)
        other = next(u for u in nordic_users if u.id != reassigned.user_id)
        client.devices.assign_user(reassigned.id, other.id)
    fleet.servers["nordic-duo"].faults.add("status", status=503, times=None)
    return {
        "added": added,
        "moved": moved,
        "new_owner": new_owner,
        "gone": gone,
        "held": held,
        "reassigned": (reassigned.id, other.id),
        # DuoSTATION moves a device into its new user's group
        "moved_fields": {"user_id"} | ({"group_id"} if after.group_id != moved.group_id else set()),
    }
