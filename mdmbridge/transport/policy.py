"""How hard to try and how long to wait: the retry policy, timeouts and Retry-After.

Kept apart from the request loop so the rules read as data: a tenant's settings build one
:class:`RetryPolicy` and one :class:`Timeouts`, and the loop in ``transport.client`` is the
only code that acts on them.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
# Statuses worth another try for a read: the vendor (or a proxy) may answer next time.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses whose Retry-After is honoured (as urllib3 does: the others carry none in practice).
RETRY_AFTER_STATUSES = frozenset({429, 503})
DEFAULT_DEADLINE_S = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` counts retries after the first try.

    Waits are capped exponential backoff with jitter; a vendor's Retry-After replaces the
    backoff but never exceeds ``max_retry_after``, so "come back in an hour" costs at most
    ``attempts`` capped waits and then a ``RateLimited`` error carrying the vendor's own
    value, never an hour's hang.
    """

    attempts: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 10.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def backoff(self, retry_number: int) -> float:
        """The wait before retry ``retry_number`` (1 for the first retry)."""
        delay = min(self.backoff_max, self.backoff_factor * 2.0 ** (retry_number - 1))
        return float(delay + random.uniform(0, self.jitter))

    def wait_before(
        self, retry_number: int, status: int | None, headers: Mapping[str, str] | None
    ) -> float:
        """Retry-After when the status carries one and it parses, else the backoff."""
        if status in RETRY_AFTER_STATUSES and headers is not None:
            told = parse_retry_after(headers.get("Retry-After"))
            if told is not None:
                return min(told, self.max_retry_after)
        return self.backoff(retry_number)


@dataclass(frozen=True)
class Timeouts:
    """``connect`` and ``read`` bound each socket wait; ``deadline`` bounds a whole call.

    A read timeout is the longest silence between two bytes, so a server that drips a byte
    every 0.4 s never trips it. The deadline is the wall-clock budget of one call: every
    attempt, every wait between attempts and every byte of the answer.
    """

    connect: float = 5.0
    read: float = 60.0
    deadline: float = DEFAULT_DEADLINE_S


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After value (delta-seconds or an HTTP-date), or None.

    An unparseable value ("soon", "-5", "1e999") means "no advice": the caller uses its
    backoff. It is never an error of its own: the answer it came with is what matters.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        seconds = float(int(text[:12]))  # 12 digits is ~30,000 years: plenty, and no bignum
        return seconds if math.isfinite(seconds) else None
    whole, dot, fraction = text.partition(".")
    if dot and whole.isascii() and whole.isdigit() and fraction.isascii() and fraction.isdigit():
        # Not RFC 9110's delta-seconds, but Microsoft Graph sends "0.249": rounded up.
        return float(math.ceil(float(f"{whole[:12]}.{fraction[:9]}")))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        return max(0.0, when.timestamp() - time.time())
    except (OverflowError, OSError, ValueError):
        return None
