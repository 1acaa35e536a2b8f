"""A wall-clock deadline for one call, enforced by closing its socket.

Socket timeouts bound each wait for a byte, not a whole answer: a server dripping a byte
every 0.4 s is read for as long as it drips. So each call arms a :class:`Deadline` with one
process-wide watchdog thread; the connection that carries the call is attached to the
deadline when our connection pools hand it out, and when time runs out
the watchdog shuts the socket down. The blocked read then fails at once and the transport,
seeing ``deadline.expired``, reports the deadline rather than a dropped connection.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any

from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()  # the deadline of the call running on this thread


class Deadline:
    """The budget of one call. ``extend`` lets a long, honest transfer earn more time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._connection: Any = None
        self._done = False

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def extend(self, seconds: float) -> None:
        with self._lock:
            self.expires_at += seconds

    def attach(self, connection: Any) -> None:
        """Called by the connection that is about to carry this call's request."""
        with self._lock:
            self._connection = connection
            fire = self.expired
        if fire:
            _shutdown(connection)

    def fire(self) -> bool:
        """The watchdog's call: True if the deadline has really passed (and was acted on)."""
        with self._lock:
            if self._done or self.expired:
                return True
            if time.monotonic() < self.expires_at:
                return False  # extended since it was scheduled
            self.expired = True
            connection = self._connection
        if connection is not None:
            _shutdown(connection)
        return True

    def __enter__(self) -> Deadline:
        _current.deadline = self
        _WATCHDOG.watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
            self._connection = None
        _current.deadline = None


def _shutdown(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(Exception):  # already closed, or a test double without a socket
        sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for the whole process: a heap of deadlines, woken when one is due."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.expires_at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mdmbridge-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                due, _, deadline = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if not deadline.fire():  # extended: schedule it again at its new time
                with self._cond:
                    heapq.heappush(self._heap, (deadline.expires_at, next(self._order), deadline))


_WATCHDOG = _Watchdog()


def _attach_current(connection: Any) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(connection)


class _DeadlineHTTPPool(HTTPConnectionPool):
    """Attaches each connection it hands out to the running call's deadline. Done when the
    connection is taken from the pool (not by a connection subclass), so a library that
    swaps the pool's connection class, as vcrpy does when replaying cassettes, still works."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)
        _attach_current(connection)
        return connection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)
        _attach_current(connection)
        return connection


# The transport's pool manager builds its pools from these (``transport.pools``).
POOL_CLASSES = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}
