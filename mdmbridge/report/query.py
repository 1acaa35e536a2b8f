"""What the fleet report shows, read from a sync database in one pass of small queries.

Counts are grouped in SQL (a fleet of 100,000 devices is a few hundred rows to Python),
except the "not seen for" buckets: ``last_seen`` is compared as a time in Python, because
text comparison in SQL would misorder ``...:00Z`` against ``...:00.5Z``. Removed devices
(``sync_removed_at`` set) are not current and are never counted. Readers never write: no
schema is created, no lock is taken, so a report can be made while a sync runs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter

from sqlalchemy import Connection, func, select

from mdmbridge.sync import schema as s
from mdmbridge.sync.store import Store

STALE_DAYS = (7, 30, 90)
UNSEEN_LISTED = 10  # devices listed per tenant under "longest unseen"
NEVER = "never seen"  # the bucket of devices whose vendor gives no last_seen


@dataclass(frozen=True)
class RunInfo:
    id: int
    started: str
    finished: str | None
    outcome: str


@dataclass(frozen=True)
class TenantRun:
    """One tenant's part in one run: its status, and how many records each kind of change
    touched (a record with three changed fields counts once under ``changed``)."""

    run_id: int
    started: str
    status: str
    error: str | None
    changes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Unseen:
    """A current device among those that checked in longest ago (its name is untrusted)."""

    name: str | None
    serial_number: str | None
    platform: str | None
    os_version: str | None
    last_seen: str


@dataclass
class TenantReport:
    name: str
    vendor: str
    devices: int = 0
    unassigned: int = 0
    platforms: Counter[str] = field(default_factory=Counter)
    os_versions: Counter[tuple[str, str]] = field(default_factory=Counter)
    stale: dict[str, int] = field(default_factory=dict)  # "7 days" ... and NEVER -> devices
    runs: list[TenantRun] = field(default_factory=list)  # oldest first
    longest_unseen: list[Unseen] = field(default_factory=list)  # oldest check-in first

    @property
    def last(self) -> TenantRun | None:
        return self.runs[-1] if self.runs else None


@dataclass
class FleetReport:
    """Everything the page shows; ``latest`` is None when the database holds no run."""

    source: str  # the database, as shown (never its password)
    latest: RunInfo | None
    reference: datetime | None  # "not seen for" is measured back from this
    tenants: list[TenantReport]

    @property
    def devices(self) -> int:
        return sum(t.devices for t in self.tenants)


def parse_time(text: str | None) -> datetime | None:
    """A stored time (ISO-8601, ``Z`` or an offset) as an aware UTC datetime; None when
    missing or unreadable (a vendor's odd value must not stop the report)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stale_buckets(
    last_seen: Iterable[str | None], reference: datetime, days: Iterable[int] = STALE_DAYS
) -> dict[str, int]:
    """Devices not seen for at least each number of days (cumulative: one not seen for 90
    days counts under 7 and 30 too), plus those with no usable ``last_seen``."""
    limits = [(f"{d} days", reference - timedelta(days=d)) for d in days]
    found = {label: 0 for label, _ in limits}
    never = 0
    for text in last_seen:
        seen = parse_time(text)
        if seen is None:
            never += 1
            continue
        for label, cutoff in limits:
            if seen <= cutoff:
                found[label] += 1
    found[NEVER] = never
    return found


def read_report(store: Store) -> FleetReport:
    """The report's figures; an empty database (no tables, or no run) gives no tenants."""
    if not store.has_schema():
        return FleetReport(store.shown, None, None, [])
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            # One snapshot for every query, so a sync committing meanwhile cannot make the
            # fleet summary disagree with the tenants' sections.
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        r = s.sync_runs.c
        row = conn.execute(
            select(r.id, r.started, r.finished, r.outcome).order_by(r.id.desc()).limit(1)
        ).first()
        if row is None:
            return FleetReport(store.shown, None, None, [])
        latest = RunInfo(int(row.id), row.started, row.finished, row.outcome)
        reference = parse_time(latest.started) or datetime.now(UTC)
        tenants = _tenants(conn)
        _devices(conn, tenants, reference)
        _runs(conn, tenants)
    ordered = sorted(tenants.values(), key=lambda t: t.name)
    return FleetReport(store.shown, latest, reference, ordered)


def _tenants(conn: Connection) -> dict[str, TenantReport]:
    """Every tenant any run recorded, with the vendor of its latest run."""
    t = s.sync_tenants.c
    found: dict[str, TenantReport] = {}
    for row in conn.execute(select(t.tenant, t.vendor).order_by(t.run_id)):
        found[row.tenant] = TenantReport(row.tenant, row.vendor)
    return found


def _devices(conn: Connection, tenants: dict[str, TenantReport], reference: datetime) -> None:
    d = s.entity_tables["devices"].c
    current = d.sync_removed_at.is_(None)
    counted = conn.execute(
        select(d.tenant, d.platform, d.os_version, func.count())
        .where(current)
        .group_by(d.tenant, d.platform, d.os_version)
    )
    for tenant, platform, version, count in counted:
        report = _tenant(tenants, tenant)
        report.devices += count
        report.platforms[platform or "unknown"] += count
        report.os_versions[(platform or "unknown", version or "unknown")] += count
    unassigned = conn.execute(
        select(d.tenant, func.count()).where(current, d.user_id.is_(None)).group_by(d.tenant)
    )
    for tenant, count in unassigned:
        _tenant(tenants, tenant).unassigned = count
    for report in tenants.values():
        report.stale = stale_buckets((), reference)
    # Streamed in the primary key's order and bucketed as it comes: memory stays flat
    # however many devices a tenant has.
    streamed = conn.execution_options(stream_results=True).execute(
        select(d.tenant, d.last_seen).where(current).order_by(d.tenant, d.id)
    )
    for tenant, rows in groupby(streamed, key=itemgetter(0)):
        _tenant(tenants, tenant).stale = stale_buckets((row[1] for row in rows), reference)
    for name, report in tenants.items():
        if report.devices:
            report.longest_unseen = _longest_unseen(conn, name)


def _longest_unseen(conn: Connection, tenant: str) -> list[Unseen]:
    """Text order of ``last_seen`` is time order here (all UTC ``...Z``, sub-second
    differences aside), which is enough to pick whom to list."""
    d = s.entity_tables["devices"].c
    rows = conn.execute(
        select(d.name, d.serial_number, d.platform, d.os_version, d.last_seen)
        .where(d.tenant == tenant, d.sync_removed_at.is_(None), d.last_seen.is_not(None))
        .order_by(d.last_seen, d.id)
        .limit(UNSEEN_LISTED)
    )
    return [Unseen(*row) for row in rows]


def _runs(conn: Connection, tenants: dict[str, TenantReport]) -> None:
    c = s.changes.c
    touched = (
        select(c.run_id, c.tenant, c.kind, c.entity, c.record_id).distinct().subquery("touched")
    )
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    grouped = conn.execute(
        select(touched.c.run_id, touched.c.tenant, touched.c.kind, func.count()).group_by(
            touched.c.run_id, touched.c.tenant, touched.c.kind
        )
    )
    for run_id, tenant, kind, count in grouped:
        counts[(int(run_id), tenant)][kind] = count
    t, r = s.sync_tenants.c, s.sync_runs.c
    rows = conn.execute(
        select(t.run_id, t.tenant, t.status, t.error, r.started)
        .join(s.sync_runs, r.id == t.run_id)
        .order_by(t.run_id)
    )
    for row in rows:
        run_id = int(row.run_id)
        _tenant(tenants, row.tenant).runs.append(
            TenantRun(
                run_id, row.started, row.status, row.error, counts.get((run_id, row.tenant), {})
            )
        )


def _tenant(tenants: dict[str, TenantReport], name: str) -> TenantReport:
    """A tenant met in the devices table but in no run row (an edited database)."""
    if name not in tenants:
        tenants[name] = TenantReport(name, "unknown")
    return tenants[name]
