"""One tenant's part of a bulk apply: its targets sent by a few workers, paced and capped,
each write between a ``begin`` and an outcome in the ledger, and audited. A tenant that
cannot go on (credentials refused, rate-limited, the action unsupported) stops alone.
:mod:`mdmbridge.bulk.applier` runs one of these per tenant."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Literal

from mdmbridge import audit as audit_log
from mdmbridge.audit import AuditLog, AuditTarget
from mdmbridge.bulk.actions import build_command, command_word
from mdmbridge.bulk.ledger import BulkLedger
from mdmbridge.bulk.model import BulkPlan, EnsureAction, SendAction, Target
from mdmbridge.bulk.pace import Pacer
from mdmbridge.bulk.planner import find_existing
from mdmbridge.bulk.report import ItemResult, TenantResult
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.errors import (
    AuthError,
    ConfigError,
    DryRunViolation,
    MDMError,
    RateLimited,
    UnsupportedOperation,
)
from mdmbridge.models import Command

# (tenant, targets handled, targets of the tenant)
BulkProgress = Callable[[str, int, int], None]
# Errors after which every other send to the tenant would fail the same way.
_STOPS_TENANT = (AuthError, RateLimited, UnsupportedOperation, ConfigError)
SOURCE = "bulk apply"


class _TenantRun:
    def __init__(
        self,
        plan: BulkPlan,
        name: str,
        targets: list[Target],
        given: Tenant | Client,
        ledger: BulkLedger,
        log: AuditLog | None,
        stop: threading.Event,
        progress: BulkProgress | None,
    ) -> None:
        self.plan, self.name, self.targets, self.given = plan, name, targets, given
        self.ledger, self.log, self.stop, self.progress = ledger, log, stop, progress
        self.dry_run = False
        self.resend_unknown = False
        self.rate: float | None = None
        self.outcome = TenantResult(name, targets[0].vendor)
        self.results: list[ItemResult] = []
        self.sent = 0
        self._halt = threading.Event()  # this tenant only
        self._lock = threading.Lock()
        self._handled = 0
        self.command: Command | None = None

    # ------------------------------------------------------------------ the run

    def run(self) -> None:
        todo: list[Target] = []
        for target in self.targets:
            early = self.settled(target)
            if early is not None:
                self.add(early)
            else:
                todo.append(target)
        if not todo:
            return
        try:
            if isinstance(self.given, Client):
                self.work(self.given, todo)
            else:
                with self.given.connect(read_only=self.dry_run) as client:
                    self.work(client, todo)
        except MDMError as error:  # connecting failed: the tenant stops, its targets wait
            self.halt(error)
            done = {r.key for r in self.results}
            for target in todo:
                if target.key not in done:
                    self.add(self.result(target, "pending", f"not sent: {error}"))

    def work(self, client: Client, todo: list[Target]) -> None:
        if isinstance(self.plan.action, SendAction):  # a damaged plan: before any send
            self.command = build_command(self.plan.action.command, self.plan.action.params)
        pacer = Pacer(None if self.dry_run else self.rate)
        cap = client.adapter.settings.max_concurrency
        waiting: queue.SimpleQueue[Target] = queue.SimpleQueue()
        for target in todo:
            waiting.put(target)

        def worker(limit: int | None = None) -> None:
            while limit is None or limit > 0:
                if limit is not None:
                    limit -= 1
                try:
                    target = waiting.get_nowait()
                except queue.Empty:
                    return
                if self.stop.is_set() or self._halt.is_set():
                    why = self.outcome.stopped or "the run was stopped"
                    self.add(self.result(target, "pending", f"not sent: {why}"))
                    continue
                if not pacer.wait(self.stop):
                    self.add(self.result(target, "pending", "not sent: the run was stopped"))
                    continue
                try:
                    item = self.one(client, target)
                except Exception as exc:  # a bug: this target fails, the tenant stops
                    error = MDMError(f"internal error: {type(exc).__name__}: {exc}")
                    self.halt(error)
                    item = self.failed(target, error, "internal error")
                self.add(item)

        # One first, alone: refused credentials or a wrong command cost one request, not
        # one per worker. Then up to the tenant's concurrency cap.
        worker(limit=1)
        threads = [
            threading.Thread(target=worker, name=f"mdmbridge-bulk-{self.name}-{n}", daemon=True)
            for n in range(max(1, min(cap, len(todo) - 1)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def settled(self, target: Target) -> ItemResult | None:
        """What needs no request: done before, or unknown and not to be re-sent."""
        state = self.ledger.state(target.key)
        entry = self.ledger.entries.get(target.key)
        if state == "done":
            how = entry.how if entry is not None else None
            note = "reused: it already existed" if how == "reused" else "done in an earlier run"
            return self.result(target, "done", note, result_id=entry.result_id if entry else None)
        if target.op == "reuse" and self.dry_run:
            return self.result(target, "done", "reused: it already exists", target.existing_id)
        sends = isinstance(self.plan.action, SendAction)
        if state == "unknown" and sends and not self.resend_unknown:
            item = self.result(
                target,
                "unknown",
                "not re-sent: an earlier send's outcome is unknown "
                "(check the device; --resend-unknown sends it again)",
            )
            if entry is not None:
                item.error_class, item.error = entry.error_class, entry.error
            return item
        return None

    def one(self, client: Client, target: Target) -> ItemResult:
        action = self.plan.action
        if isinstance(action, EnsureAction):
            return self.ensure(client, target, action)
        return self.send(client, target, action)

    # ------------------------------------------------------------------ a command

    def send(self, client: Client, target: Target, action: SendAction) -> ItemResult:
        command = self.command
        assert command is not None, "work() builds the command first"
        device_id = str(target.device_id)
        if self.dry_run:
            try:
                client.devices.send(device_id, command)
            except DryRunViolation:
                return self.result(target, "would send", "dry run: nothing sent")
            except MDMError as error:
                return self.failed(target, error, "refused before sending")
            raise ConfigError("a dry run sent a command: the client is not read-only")
        self.ledger.begin(target.key)
        try:
            client.devices.send(device_id, command)
        except BaseException as error:
            return self.after_error(target, error)
        self.sent += 1
        self.ledger.finish(target.key, "done", how="sent")
        self.audit(target, None)
        return self.result(target, "done", "sent", sent=True)

    # ------------------------------------------------------------------ ensure-*

    def ensure(self, client: Client, target: Target, action: EnsureAction) -> ItemResult:
        entity = action.entity
        try:
            found, _ = find_existing(client, entity, action.name)
        except MDMError as error:
            if isinstance(error, _STOPS_TENANT):
                self.halt(error)
            return self.failed(target, error, f"could not look for the {entity}")
        if len(found) > 1:
            ids = ", ".join(r.id for r in found)
            return self.result(
                target, "failed", f"{len(found)} {entity}s are named {action.name!r} ({ids})"
            )
        if found:
            state = self.ledger.state(target.key)
            how = "reused" if state == "pending" or target.op == "reuse" else "adopted"
            if not self.dry_run:
                self.ledger.finish(target.key, "done", how=how, result_id=found[0].id)
            note = (
                "reused: it already exists"
                if how == "reused"
                else "an earlier run's create had landed"
            )
            return self.result(target, "done", note, found[0].id)
        namespace: Any = client.groups if entity == "group" else client.tags
        if self.dry_run:
            try:
                namespace.create(name=action.name)
            except DryRunViolation:
                return self.result(target, "would create", "dry run: nothing sent")
            except MDMError as error:
                return self.failed(target, error, "refused before sending")
            raise ConfigError("a dry run created a record: the client is not read-only")
        self.ledger.begin(target.key)
        try:
            record = namespace.create(name=action.name)
        except BaseException as error:
            return self.after_error(target, error)
        self.sent += 1
        self.ledger.finish(target.key, "done", how="created", result_id=record.id)
        self.audit(target, None, result_id=record.id)
        return self.result(target, "done", "created", record.id, sent=True)

    # ------------------------------------------------------------------ outcomes

    def after_error(self, target: Target, error: BaseException) -> ItemResult:
        """Record a send that did not end in a clean answer; re-raise what is not ours."""
        sent = audit_log.was_sent(error)
        outcome = audit_log.outcome_of(error) if sent else "failed"
        state: Literal["unknown", "failed"] = "unknown" if outcome == "unknown" else "failed"
        text = _error_text(error)
        self.ledger.finish(
            target.key, state, how=None, error_class=type(error).__name__, error=text
        )
        if sent:
            self.sent += 1
            self.audit(target, error)
        if not isinstance(error, Exception):
            raise error  # SystemExit and the like, after the ledger says so
        if isinstance(error, _STOPS_TENANT) and isinstance(error, MDMError):
            self.halt(error)
        note = "outcome unknown: it may have landed" if state == "unknown" else "refused"
        if not sent:
            note = "refused before sending"
        item = self.result(target, state, note, sent=sent)
        item.error_class, item.error = type(error).__name__, text
        return item

    def failed(self, target: Target, error: MDMError, note: str) -> ItemResult:
        item = self.result(target, "failed", note)
        item.error_class, item.error = type(error).__name__, _error_text(error)
        return item

    def halt(self, error: MDMError) -> None:
        with self._lock:
            if self.outcome.stopped is None:
                self.outcome.stopped = f"{type(error).__name__}: {_error_text(error)}"
                self.outcome.stopped_by = error
        self._halt.set()

    def audit(
        self, target: Target, error: BaseException | None, result_id: str | None = None
    ) -> None:
        if self.log is None:
            return
        audit_target = _audit_target(self.plan, target)
        if result_id is not None:
            audit_target = AuditTarget(audit_target.type, result_id, audit_target.name)
        self.log.record(
            tenant=target.tenant,
            vendor=target.vendor,
            action=_action_name(self.plan, target),
            target=audit_target,
            outcome=audit_log.outcome_of(error),
            params=_params(self.plan),
            error=error,
            source=SOURCE,
            extra={"plan": self.plan.digest()},
        )

    def result(
        self,
        target: Target,
        status: str,
        note: str = "",
        result_id: str | None = None,
        *,
        sent: bool = False,
    ) -> ItemResult:
        return ItemResult(
            key=target.key,
            tenant=target.tenant,
            vendor=target.vendor,
            op=target.op,
            device_id=target.device_id,
            name=target.name,
            serial=target.serial,
            status=status,
            note=note,
            attempts=self.ledger.attempts(target.key),
            result_id=result_id,
            sent=sent,
        )

    def add(self, item: ItemResult) -> None:
        with self._lock:
            self.results.append(item)
            self._handled += 1
            handled = self._handled
        if self.progress is not None:
            self.progress(self.name, handled, len(self.targets))


def _action_name(plan: BulkPlan, target: Target) -> str:
    action = plan.action
    if isinstance(action, SendAction):
        return command_word(action.command).action
    return f"{action.entity}.create"


def _audit_target(plan: BulkPlan, target: Target) -> AuditTarget:
    if isinstance(plan.action, SendAction):
        return AuditTarget("device", target.device_id, target.name, target.serial)
    return AuditTarget(plan.action.entity, target.existing_id, target.name)


def _params(plan: BulkPlan) -> dict[str, Any]:
    action = plan.action
    return dict(action.params) if isinstance(action, SendAction) else {"name": action.name}


def _error_text(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
