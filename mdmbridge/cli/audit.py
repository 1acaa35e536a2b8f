"""``mdmbridge audit``: read the audit log. The ``--audit-log`` option every run has lives
with the root group (``cli/app.py``), so a run that only writes never imports the reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from mdmbridge import audit
from mdmbridge.audit_read import AuditQuery, parse_instant, read_audit
from mdmbridge.cli.common import LIMIT, NO_PAGER
from mdmbridge.cli.exits import EXIT_OK
from mdmbridge.cli.options import complete_tenant_name
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.errors import ValidationError

TABLE_COLUMNS = ["at", "user", "tenant", "action", "target", "outcome", "error_class"]
FLAT_COLUMNS = [
    "at",
    "user",
    "host",
    "source",
    "tenant",
    "vendor",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "target_serial",
    "params",
    "outcome",
    "error_class",
    "error",
]


@click.command("audit")
@click.option(
    "--since",
    default=None,
    metavar="WHEN",
    help="only writes since: a duration (7d, 12h, 30m) or an ISO date/time",
)
@click.option(
    "-t",
    "--tenant",
    "tenants",
    multiple=True,
    metavar="TENANT",
    shell_complete=complete_tenant_name,
    help="only this tenant (repeatable; globs such as 'acme-*')",
)
@click.option(
    "--action",
    "actions",
    multiple=True,
    metavar="ACTION",
    help="only this action (repeatable): device.wipe, 'device.*', or just wipe",
)
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    type=click.Choice(audit.OUTCOMES),
    help="only this outcome (repeatable)",
)
@LIMIT
@NO_PAGER
@format_option()
@click.pass_obj
def audit_command(
    state: State,
    since: str | None,
    tenants: tuple[str, ...],
    actions: tuple[str, ...],
    outcomes: tuple[str, ...],
    limit: int | None,
    no_pager: bool,
    fmt: str,
) -> int:
    """Every write mdmbridge sent, oldest first: who, where, what, and how it ended."""
    try:
        after = None if since is None else parse_instant(since)
    except ValueError as exc:
        raise ValidationError(f"--since: {exc}") from None
    log = audit.active()
    path = log.path if log is not None else audit.audit_path()
    found = read_audit(path, AuditQuery(after, tenants, actions, outcomes))
    if found.skipped:
        click.echo(
            f"mdmbridge: {found.skipped} damaged line(s) in {path} skipped (a crash mid-write?)",
            err=True,
        )
    if fmt in ("json", "jsonl"):
        emit(state.out, [], found.entries, fmt, limit=limit)
    elif fmt == "csv":
        emit(state.out, FLAT_COLUMNS, _flat(found.entries), fmt, limit=limit)
    else:
        title = f"audit log {path} ({len(found.entries)} writes)"
        emit(
            state.out,
            TABLE_COLUMNS,
            _table(found.entries),
            fmt,
            title=title,
            limit=limit,
            page=not no_pager,
        )
    return EXIT_OK


def _target_text(target: Any) -> str:
    if not isinstance(target, dict):
        return ""
    bits = [str(target.get("type") or ""), str(target.get("id") or "")]
    extra = [str(target[k]) for k in ("name", "serial") if target.get(k)]
    text = " ".join(b for b in bits if b)
    return f"{text} ({', '.join(extra)})" if extra else text


def _table(entries: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for entry in entries:
        yield {**entry, "target": _target_text(entry.get("target"))}


def _flat(entries: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for entry in entries:
        target = entry.get("target") if isinstance(entry.get("target"), dict) else {}
        assert isinstance(target, dict)
        row = {c: entry.get(c) for c in FLAT_COLUMNS}
        row.update(
            target_type=target.get("type"),
            target_id=target.get("id"),
            target_name=target.get("name"),
            target_serial=target.get("serial"),
            params=json.dumps(entry.get("params") or {}, ensure_ascii=False),
        )
        yield row
