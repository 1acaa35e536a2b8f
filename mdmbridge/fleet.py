"""The same operation over many tenants, each isolated from the others.

One tenant failing (bad credentials, a 5xx storm, a timeout) never stops the rest: every
tenant ends in a :class:`TenantOutcome` holding either its value or its error. Work runs
on a ``concurrent.futures.Executor``: threads by default, or any executor you pass (a Dask
distributed client is one), with the same code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
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
) -> Iterator[TenantOutcome[T]]:
    """Run ``work(tenant)`` for every tenant; yield outcomes as tenants finish."""
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
            yield future.result()
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


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
        message = redact_registered(f"unexpected {type(exc).__name__}: {exc}")
        wrapped = MDMError(message, vendor=tenant.vendor, tenant=tenant.name)
        return TenantOutcome(tenant.name, tenant.vendor, None, wrapped, time.monotonic() - started)
    return TenantOutcome(tenant.name, tenant.vendor, value, None, time.monotonic() - started)
