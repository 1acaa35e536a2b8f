"""Tenants' work on a Dask distributed cluster: ``--executor dask://HOST:PORT``.

``fleet.run_for_each`` runs on any ``concurrent.futures.Executor``; a Dask client's
executor is one, so the cluster needs no code path of its own. Two things differ from
local threads and processes, and both are handled here or flagged for the caller:

- A worker's disk is not ours (:func:`shares_disk`): work for it must return its data as
  the task's result, never write it to a path the coordinator then reads.
- A worker that dies holding a task: Dask reschedules it on another worker (tenants' reads
  are read-only and idempotent, so that is safe) until it gives up with ``KilledWorker``.
  That is turned into ``BrokenExecutor``, which ``run_for_each`` reports as this tenant's
  failure alone, as it does for a dead worker process.

``distributed`` is optional (the ``[dask]`` extra) and imported only when a cluster is asked
for: it costs about a second of start-up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor, Future
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mdmbridge.errors import ConfigError

CONNECT_TIMEOUT_S = 10.0
SCHEMES = ("dask", "tcp")
# Exceptions of distributed's meaning "the worker holding the task is gone", by name, so
# this module needs no import of distributed to recognise them.
LOST_WORKER = frozenset({"KilledWorker", "CommClosedError", "FutureCancelledError"})
T = TypeVar("T")


def scheduler_address(url: str) -> str:
    """``dask://host:port`` or ``tcp://host:port`` as Dask's ``tcp://host:port``; anything
    else is a ConfigError naming what is wrong (and never echoing a password)."""
    text = url.strip()
    shown = text if "@" not in text else "(the URL given)"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(f"--executor {shown}: the port is not a number from 1 to 65535") from None
    if parts.scheme not in SCHEMES:
        raise ConfigError(
            f"--executor {shown}: expected dask://HOST:PORT (or tcp://HOST:PORT), "
            "the address of a Dask scheduler"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigError("--executor: a Dask scheduler address holds no user or password")
    if not parts.hostname or port is None or port == 0:
        raise ConfigError(f"--executor {shown}: give the scheduler's host and port, HOST:PORT")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"--executor {shown}: only dask://HOST:PORT, no path or query")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"tcp://{host}:{port}"


def shares_disk(executor: Executor | None) -> bool:
    """Whether work run by ``executor`` sees the coordinator's files: local threads and
    processes do; a cluster's workers (ours, or a Dask client's own executor) do not."""
    if executor is None:
        return True
    marked = getattr(executor, "shares_disk", None)
    if isinstance(marked, bool):
        return marked
    return not type(executor).__module__.startswith("distributed.")


class DaskExecutor(Executor):
    """A Dask client's executor whose lost workers end as ``BrokenExecutor``; shutting it
    down closes the client."""

    shares_disk = False

    def __init__(self, client: Any) -> None:
        self._client = client
        # pure=False: two runs of the same work are two tasks, never one cached result.
        self._executor: Executor = client.get_executor(pure=False)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        inner = self._executor.submit(fn, *args, **kwargs)
        outer: Future[T] = Future()

        def relay(done: Future[T]) -> None:
            if done.cancelled():
                outer.cancel()
                outer.set_running_or_notify_cancel()  # wakes as_completed()
                return
            error = done.exception()
            if error is None:
                outer.set_result(done.result())
            elif type(error).__name__ in LOST_WORKER:
                outer.set_exception(BrokenExecutor("the Dask worker holding it died"))
            else:
                outer.set_exception(error)

        inner.add_done_callback(relay)
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._executor.shutdown(wait=wait and not cancel_futures)
        finally:
            self._client.close()


def connect(url: str, *, timeout: float = CONNECT_TIMEOUT_S) -> DaskExecutor:
    """An executor on the Dask scheduler at ``url``; a ConfigError (one line) if
    ``distributed`` is missing or no scheduler answers within ``timeout`` seconds."""
    address = scheduler_address(url)
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            "--executor dask://... needs the Dask distributed client: pip install 'mdmbridge[dask]'"
        ) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(
            f"--executor {url.strip()}: no Dask scheduler answered at {address} ({reason})"
        ) from None
    return DaskExecutor(client)


@contextlib.contextmanager
def open_executor(url: str | None) -> Iterator[Executor | None]:
    """The executor ``--executor`` names (None: the default, local threads), shut down
    after the block."""
    if url is None:
        yield None
        return
    executor = connect(url)
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
