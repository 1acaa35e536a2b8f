"""The same operation over many tenants, each isolated from the others.

One tenant failing (bad credentials, a 5xx storm, a timeout) never stops the rest: every
tenant ends in a :class:`TenantOutcome` holding either its value or its error. Work runs
on a ``concurrent.futures.Executor``: threads by default, or any executor you pass (a Dask
distributed client is one), with the same code. A worker process that dies (killed, or
``os._exit``) fails the tenants whose work it held, not the whole run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import BrokenExecutor, Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Generic, TypeVar

from mdmbridge.config import Tenant
from mdmbridge.errors import MDMError
from mdmbridge.redaction import redact_registered

log = logging.getLogger("mdmbridge.fleet")
T = TypeVar("T")


@dataclass(frozen=True)
class TenantOutcome(Generic[T]):
    tenant: str
    vendor: str
    value: T | None
    error: MDMError | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None


def run_for_each(
    tenants: Iterable[Tenant],
    work: Callable[[Tenant], T],
    *,
    workers: int = 4,
    executor: Executor | None = None,
    activity: str = "working on",
) -> Iterator[TenantOutcome[T]]:
    """Run ``work(tenant)`` for every tenant; yield outcomes as tenants finish.

    ``activity`` words the failure of a tenant whose worker process died ("worker process
    died while <activity> this tenant")."""
    tenants = list(tenants)
    own = executor is None
    pool = executor or ThreadPoolExecutor(
        max_workers=max(1, workers), thread_name_prefix="mdmbridge-tenant"
    )
    try:
        futures: dict[Future[TenantOutcome[T]], Tenant] = {
            pool.submit(_guarded, tenant, work): tenant for tenant in tenants
        }
        for future in as_completed(futures):
            yield _outcome(future, futures[future], activity)
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _outcome(future: Future[TenantOutcome[T]], tenant: Tenant, activity: str) -> TenantOutcome[T]:
    """The tenant's outcome; a future that failed outside ``_guarded`` (its worker process
    died, or the work could not be sent to it) is that tenant's failure alone."""
    try:
        return future.result()
    except BrokenExecutor:
        message = f"worker process died while {activity} this tenant"
    except Exception as exc:
        log.debug("tenant %s could not run", tenant.name, exc_info=True)
        text = " ".join(str(exc).split())
        message = redact_registered(
            f"could not run in the executor: {type(exc).__name__}{': ' + text if text else ''}"
        )
    error = MDMError(message, vendor=tenant.vendor, tenant=tenant.name)
    return TenantOutcome(tenant.name, tenant.vendor, None, error, 0.0)


def _guarded(tenant: Tenant, work: Callable[[Tenant], T]) -> TenantOutcome[T]:
    started = time.monotonic()
    try:
        value = work(tenant)
    except MDMError as error:
        if error.tenant is None:
            error.tenant = tenant.name
        if error.vendor is None:
            error.vendor = tenant.vendor
        return TenantOutcome(tenant.name, tenant.vendor, None, error, time.monotonic() - started)
    except Exception as exc:  # isolation: a bug in one tenant's path must not sink the others
        log.debug("tenant %s failed unexpectedly", tenant.name, exc_info=True)
        text = " ".join(str(exc).split())  # one line, whatever the exception says
        message = redact_registered(f"unexpected {type(exc).__name__}: {text}")
        wrapped = MDMError(message, vendor=tenant.vendor, tenant=tenant.name)
        return TenantOutcome(tenant.name, tenant.vendor, None, wrapped, time.monotonic() - started)
    return TenantOutcome(tenant.name, tenant.vendor, value, None, time.monotonic() - started)
