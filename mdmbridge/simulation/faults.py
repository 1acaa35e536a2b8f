"""Switchable faults for the simulators.

Faults are rules consulted for every request, in the order they were added. A rule can be
limited to some methods or a path pattern, can let ``after`` matching requests through
first, and can fire ``times`` times (or forever). Tests script exact sequences with it
("the 3rd write drops the connection", "two 429s then success"); benchmarks use the
always-on ``latency``.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field


class FaultKind(enum.StrEnum):
    STATUS = "status"  # answer with an error status (429 with Retry-After, 500, 503, ...)
    HTML = "html"  # a proxy's HTML error page, text/html, with the given status
    DROP = "drop"  # close the connection without answering
    TRUNCATE = "truncate"  # send the real answer's headers but only part of its body
    DELAY = "delay"  # add latency to matching requests, then answer normally


@dataclass
class Fault:
    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    delay_s: float = 0.0
    methods: frozenset[str] | None = None
    path: str | None = None  # regular expression searched in the request path
    after: int = 0
    times: int | None = 1
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method.upper() not in self.methods:
            return False
        return self.path is None or re.search(self.path, path) is not None


class Faults:
    """Thread-safe list of fault rules plus a constant latency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self.latency_s = 0.0

    def add(
        self,
        kind: FaultKind | str,
        *,
        status: int = 503,
        retry_after: str | int | None = None,
        delay_s: float = 0.0,
        methods: Iterable[str] | None = None,
        path: str | None = None,
        after: int = 0,
        times: int | None = 1,
    ) -> Fault:
        """Add a rule; ``times=None`` keeps it firing for ever."""
        fault = Fault(
            kind=FaultKind(kind),
            status=status,
            retry_after=None if retry_after is None else str(retry_after),
            delay_s=delay_s,
            methods=None if methods is None else frozenset(m.upper() for m in methods),
            path=path,
            after=after,
            times=times,
        )
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.latency_s = 0.0

    def pick(self, method: str, path: str) -> list[Fault]:
        """The rules that fire for this request (delays first, then at most one failure)."""
        fired: list[Fault] = []
        failure_chosen = False
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.kind is not FaultKind.DELAY:
                    if failure_chosen:
                        continue
                    failure_chosen = True
                rule.fired += 1
                fired.append(rule)
        return fired

    def add_spec(self, spec: str) -> Fault:
        """Add a rule from its command-line form (see :meth:`parse_spec`)."""
        return self.add(**self.parse_spec(spec))  # type: ignore[arg-type]

    @staticmethod
    def parse_spec(spec: str) -> dict[str, object]:
        """Parse a command-line fault spec such as ``status:429:retry_after=2:times=3``.

        Returns keyword arguments for :meth:`add` (plus ``kind``), so ``mdmbridge simulate
        --faults`` and tests share one syntax.
        """
        parts = [p for p in spec.split(":") if p]
        if not parts:
            raise ValueError("empty fault spec")
        kind = FaultKind(parts[0])
        out: dict[str, object] = {"kind": kind}
        for part in parts[1:]:
            if part.isdigit() and "status" not in out:
                out["status"] = int(part)
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"fault spec part {part!r} is not key=value")
            if key in {"status", "after", "times"}:
                out[key] = None if (key == "times" and value in {"inf", "forever"}) else int(value)
            elif key == "delay_s":
                out[key] = float(value)
            elif key in {"retry_after", "path"}:
                out[key] = value
            elif key == "methods":
                out[key] = value.split(",")
            else:
                raise ValueError(f"unknown fault spec key {key!r}")
        return out
