"""A per-tenant pace: at most N sends a second (or minute, or hour), evenly spaced."""

from __future__ import annotations

import re
import threading
import time

from mdmbridge.errors import ValidationError

DEFAULT_RATE = "5/s"
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*$", re.I)
_PER = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(text: str) -> float | None:
    """``5/s``, ``120/min``, ``1000/h`` or a bare number (per second) -> sends a second;
    ``0``, ``none`` or ``unlimited`` -> None (no pace)."""
    if text.strip().lower() in ("0", "none", "unlimited"):
        return None
    match = _RATE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValidationError(
            f"--rate {text!r}: expected sends per time, such as 5/s, 120/min or 1000/h "
            "(or 'unlimited')"
        )
    return float(match.group(1)) / _PER[(match.group(2) or "s").lower()]


class Pacer:
    """Hands out evenly spaced send times; ``wait`` returns False when ``stop`` is set."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 0.0 if not per_second else 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> bool:
        if self.interval <= 0:
            return not stop.is_set()
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            return not stop.wait(delay)
        return not stop.is_set()
