"""What the retry loop had to do: counters per transport, so a caller can say "ok, but only
after three 429s" instead of only "ok".

A tenant that answers every call only on the second try is healthy enough to use and
unhealthy enough to mention: the retries hide it from every result, so they are counted
where they happen (``Transport._call``, the one loop) and read from here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class TransportStats:
    """The retries a transport made so far, and why. ``retries`` is the sum of the three
    causes: ``rate_limited`` (HTTP 429), ``server_errors`` (5xx) and
    ``connection_errors`` (refused, dropped or cut-off connections, timeouts)."""

    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    connection_errors: int = 0


class RetryCounter:
    """The transport's live counters. Its pages are fetched from several threads at once,
    so every change holds a lock; :attr:`stats` is a consistent snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = TransportStats()

    def retried(self, status: int | None) -> None:
        """One retry is about to be made: after an answer with ``status``, or ``None``
        when no answer arrived (the connection failed)."""
        with self._lock:
            s = self._stats
            self._stats = TransportStats(
                retries=s.retries + 1,
                rate_limited=s.rate_limited + (status == 429),
                server_errors=s.server_errors + (status is not None and status >= 500),
                connection_errors=s.connection_errors + (status is None),
            )

    @property
    def stats(self) -> TransportStats:
        return self._stats
