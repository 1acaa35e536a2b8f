"""How long writing a plan file takes: a migration plan of N users (and a bulk plan of N
devices), saved with ``Plan.save`` as mdmbridge does, best of a few runs.

    .venv/bin/python benchmarks/plan_save.py            # 5,000 users
    .venv/bin/python benchmarks/plan_save.py --users 20000

Prints seconds per save and the file's size; asserts nothing but that the file loads back.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mdmbridge import documents
from mdmbridge.bulk.model import BulkPlan, SendAction, Target
from mdmbridge.bulk.model import load_plan as load_bulk
from mdmbridge.migrate.model import Note, Plan, Side, Step
from mdmbridge.migrate.model import load_plan as load_migration


def migration_plan(users: int) -> Plan:
    steps = [
        Step(
            id=f"user:{n}#create",
            ref=f"user:{n}",
            kind="user",
            action="create",
            reason="not in the target",
            fields={
                "name": f"Åsa Öberg {n}",
                "email": f"asa.oberg{n}@example.se",
                "account": f"asa{n}",
                "group_id": {"$ref": f"group:{n % 40}"},
                "phone": None,
            },
            match={"email": f"asa.oberg{n}@example.se"},
            depends_on=[f"group:{n % 40}"],
        )
        for n in range(users)
    ]
    notes = [
        Note(ref=f"user:{n}", kind="user", reason="no phone", fields=["phone"]) for n in range(50)
    ]
    return Plan(
        source=Side(tenant="old", vendor="ezmdm"),
        target=Side(tenant="new", vendor="intune"),
        created_at="2026-01-01T00:00:00Z",
        steps=steps,
        not_migrated=notes,
    )


def bulk_plan(devices: int) -> BulkPlan:
    targets = [
        Target(
            key=f"acme/{n:08x}",
            tenant="acme",
            vendor="duostation",
            device_id=f"{n:08x}",
            name=f"iPad {n}",
            serial=f"F2LX{n:06d}",
            user_id=str(n),
            user=f"Åsa Öberg {n}",
        )
        for n in range(devices)
    ]
    action = SendAction(command="message", params={"message": "Hej"})
    return BulkPlan(created_at="2026-01-01T00:00:00Z", action=action, targets=targets)


def best(save: Callable[[Path], object], path: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        save(path)
        times.append(time.perf_counter() - started)
    return min(times)


def json_dumps_save(plan: Plan | BulkPlan) -> Callable[[Path], None]:
    """How plans were saved before msgspec: the same document through ``json.dumps``."""

    def save(path: Path) -> None:
        document = plan.model_dump(mode="json")
        document["summary"] = plan.summary()
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        path.write_text(text, encoding="utf-8")

    return save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plan, path = migration_plan(args.users), Path(folder) / "plan.json"
        before = best(json_dumps_save(plan), path)
        seconds = best(plan.save, path)
        assert load_migration(path) == plan
        size = path.stat().st_size
        print(
            f"migrate plan, {args.users:,} users: {seconds:.4f} s "
            f"(json.dumps: {before:.4f} s; {size:,} bytes)"
        )
        bulk, path = bulk_plan(args.users), Path(folder) / "bulk.json"
        before = best(json_dumps_save(bulk), path)
        seconds = best(bulk.save, path)
        assert load_bulk(path) == bulk
        size = path.stat().st_size
        print(
            f"bulk plan, {args.users:,} devices: {seconds:.4f} s "
            f"(json.dumps: {before:.4f} s; {size:,} bytes)"
        )
        document = plan.model_dump(mode="json")
        dumps = best(lambda _: json.dumps(document, ensure_ascii=False, indent=2), path)
        fast = best(lambda _: documents.dump_bytes(document), path)
        print(f"serialising the migrate plan: json.dumps {dumps:.4f} s, msgspec {fast:.4f} s")


if __name__ == "__main__":
    main()
