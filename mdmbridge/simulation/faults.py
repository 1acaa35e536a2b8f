"""Switchable faults for the simulators.

Faults are rules consulted for every request, in the order they were added. A rule can be
limited to some methods or a path pattern, can let ``after`` matching requests through
first, and can fire ``times`` times (or forever). Tests script exact sequences with it
("the 3rd write drops the connection", "two 429s then success"); benchmarks use the
always-on ``latency``.

Kinds fall into four families, because each needs a different part of the server to act:

- **delay**: stacks with anything; every firing delay adds up.
- **replacing** (``status``, ``html``, ``drop``, ``nest``, ``body``, ``redirect``,
  ``echo_auth``): the server answers in the vendor app's place; the app never runs, so a
  refused write changes nothing.
- **wire** (``truncate``, ``drip``, ``charset``, ``bad_gzip``): the app answers and the
  server spoils how that real answer goes out.
- **shaping** (``duplicate``, ``ignore_page``): only the vendor app knows what a list or a
  page is, so the server offers these rules to the app on ``SimRequest.faults``
  (:class:`RequestFaults`) and the app applies them in its listing code. They fire (and
  count against ``times``) only on a request they change, so ``times=1`` means "one
  spoiled page", not "one request of any kind".

At most one replacing-or-wire rule fires per request; shaping rules combine with a wire rule
(a duplicated page can also drip).
"""

from __future__ import annotations

import enum
import re
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field


class FaultKind(enum.StrEnum):
    STATUS = "status"  # answer with an error status (429 with Retry-After, 500, 503, ...)
    HTML = "html"  # a proxy's HTML error page, text/html, with the given status
    DROP = "drop"  # close the connection without answering
    TRUNCATE = "truncate"  # send the real answer's headers but only part of its body
    DELAY = "delay"  # add latency to matching requests, then answer normally
    DUPLICATE = "duplicate"  # a list answer repeats a record (vendor app applies it)
    IGNORE_PAGE = "ignore_page"  # ezmdm: ?page= ignored, page 1 served (no effect elsewhere)
    DRIP = "drip"  # the real answer, one byte every delay_s seconds
    CHARSET = "charset"  # the real answer labelled application/json; charset=<bogus>
    BAD_GZIP = "bad_gzip"  # the real answer with Content-Encoding: gzip, body left plain
    NEST = "nest"  # a body of `depth` nested JSON arrays
    BODY = "body"  # a literal body (hostile numbers, a BOM, ...) as application/json
    REDIRECT = "redirect"  # a 3xx with a Location header and an empty body
    ECHO_AUTH = "echo_auth"  # a proxy error page that echoes the Authorization header


DELAYS = frozenset({FaultKind.DELAY})
SHAPING = frozenset({FaultKind.DUPLICATE, FaultKind.IGNORE_PAGE})
REPLACING = frozenset(
    {
        FaultKind.STATUS,
        FaultKind.HTML,
        FaultKind.DROP,
        FaultKind.NEST,
        FaultKind.BODY,
        FaultKind.REDIRECT,
        FaultKind.ECHO_AUTH,
    }
)
WIRE = frozenset({FaultKind.TRUNCATE, FaultKind.DRIP, FaultKind.CHARSET, FaultKind.BAD_GZIP})

# Defaults that depend on the kind: a fault that imitates a success answers 200, a redirect
# 302, the echoing proxy 502; everything else keeps the historical 503.
DEFAULT_STATUS: dict[FaultKind, int] = {
    FaultKind.NEST: 200,
    FaultKind.BODY: 200,
    FaultKind.REDIRECT: 302,
    FaultKind.ECHO_AUTH: 502,
}
DEFAULT_DELAY_S: dict[FaultKind, float] = {FaultKind.DRIP: 0.4}
DEFAULT_CHARSET = "x-bogus-charset"
DEFAULT_DEPTH = 100_000

_INT_KEYS = frozenset({"status", "after", "times", "depth"})
_TEXT_KEYS = frozenset({"retry_after", "path", "charset"})
# Values that may themselves hold ':' (a URL, a JSON body): a following part that is not a
# known key=value continues them, so `location=http://h:9/x` needs no escaping.
_OPEN_KEYS = frozenset({"text", "location"})
SPEC_KEYS = _INT_KEYS | _TEXT_KEYS | _OPEN_KEYS | {"delay_s", "methods"}


@dataclass
class Fault:
    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    delay_s: float = 0.0  # delay: the added wait; drip: the wait between two bytes
    charset: str = DEFAULT_CHARSET  # charset: the label put on the answer
    depth: int = DEFAULT_DEPTH  # nest: how many arrays deep
    text: bytes = b""  # body: the literal body
    location: str = "/"  # redirect: the Location header
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

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times


class RequestFaults:
    """The shaping rules offered to one request, for the vendor app to apply.

    An app asks only where the rule would change its answer, e.g. ``if page > 1 and
    request.faults.take(FaultKind.IGNORE_PAGE): page = 1``; ``take`` then counts the rule
    as fired (under the switchboard's lock, so ``times=1`` spoils exactly one answer even
    with concurrent requests). An empty instance (the default) never offers anything.
    """

    __slots__ = ("_offered", "_owner")

    def __init__(self, owner: Faults | None = None, offered: Iterable[Fault] = ()) -> None:
        self._owner = owner
        self._offered = tuple(offered)

    @property
    def offered(self) -> tuple[Fault, ...]:
        return self._offered

    def take(self, kind: FaultKind | str) -> Fault | None:
        """The first offered rule of ``kind`` that may still fire, now counted as fired."""
        wanted = FaultKind(kind)
        for rule in self._offered:
            if rule.kind is wanted and self._owner is not None and self._owner.claim(rule):
                return rule
        return None

    def __bool__(self) -> bool:
        return bool(self._offered)

    def __repr__(self) -> str:
        return f"RequestFaults({[rule.kind.value for rule in self._offered]})"


@dataclass(frozen=True)
class Selection:
    """What the switchboard decided for one request."""

    delays: tuple[Fault, ...] = ()
    failure: Fault | None = None  # at most one replacing or wire rule
    shaping: RequestFaults = field(default_factory=RequestFaults)


def _header_safe(name: str, value: str) -> str:
    """Header values go out as latin-1 and must not split the header block."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} must not contain a line break")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be latin-1 text (percent-encode the rest)") from None
    return value


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
        status: int | None = None,
        retry_after: str | int | None = None,
        delay_s: float | None = None,
        charset: str = DEFAULT_CHARSET,
        depth: int = DEFAULT_DEPTH,
        text: str | bytes = b"",
        location: str = "/",
        methods: Iterable[str] | None = None,
        path: str | None = None,
        after: int = 0,
        times: int | None = 1,
    ) -> Fault:
        """Add a rule; ``times=None`` keeps it firing for ever.

        ``status`` and ``delay_s`` default by kind (see ``DEFAULT_STATUS`` and
        ``DEFAULT_DELAY_S``); ``text`` as ``str`` is sent UTF-8 encoded.
        """
        fault_kind = FaultKind(kind)
        if depth < 1:
            raise ValueError("depth must be >= 1")
        if delay_s is not None and delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        fault = Fault(
            kind=fault_kind,
            status=DEFAULT_STATUS.get(fault_kind, 503) if status is None else status,
            retry_after=None if retry_after is None else str(retry_after),
            delay_s=DEFAULT_DELAY_S.get(fault_kind, 0.0) if delay_s is None else delay_s,
            charset=_header_safe("charset", charset),
            depth=depth,
            text=text.encode("utf-8") if isinstance(text, str) else bytes(text),
            location=_header_safe("location", location),
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

    def select(self, method: str, path: str) -> Selection:
        """Decide one request: its delays, at most one failure, the shaping rules offered.

        Shaping rules are only offered here (``fired`` untouched); the app counts them when
        it applies them. They are not offered when a replacing rule keeps the app from running.
        """
        delays: list[Fault] = []
        offered: list[Fault] = []
        failure: Fault | None = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or rule.spent:
                    continue
                if rule.kind in DELAYS:
                    rule.fired += 1
                    delays.append(rule)
                elif rule.kind in SHAPING:
                    offered.append(rule)
                elif failure is None:
                    rule.fired += 1
                    failure = rule
        if failure is not None and failure.kind in REPLACING:
            offered.clear()
        return Selection(tuple(delays), failure, RequestFaults(self, offered))

    def pick(self, method: str, path: str) -> list[Fault]:
        """The rules for this request (delays first, then at most one failure, then the
        shaping rules offered to the app); see :meth:`select`."""
        selection = self.select(method, path)
        failure = [] if selection.failure is None else [selection.failure]
        return [*selection.delays, *failure, *selection.shaping.offered]

    def claim(self, rule: Fault) -> bool:
        """Count one firing of an offered rule, unless it is spent or was cleared meanwhile."""
        with self._lock:
            if rule.spent or not any(r is rule for r in self._rules):
                return False
            rule.fired += 1
            return True

    def add_spec(self, spec: str) -> Fault:
        """Add a rule from its command-line form (see :meth:`parse_spec`)."""
        return self.add(**self.parse_spec(spec))  # type: ignore[arg-type]

    @staticmethod
    def parse_spec(spec: str) -> dict[str, object]:
        """Parse a command-line fault spec such as ``status:429:retry_after=2:times=3``.

        Returns keyword arguments for :meth:`add` (plus ``kind``), so ``mdmbridge simulate
        --fault`` and tests share one syntax. A bare number is the status. ``text=`` and
        ``location=`` are percent-decoded (``text=`` to bytes, so ``%EF%BB%BF`` is a BOM and
        ``%FF`` an invalid byte) and run on past a ``:`` until the next known ``key=``, so
        ``redirect:location=http://127.0.0.2:9/steal`` and ``body:text={"x":1e400}`` work
        as typed; put the status before them.
        """
        kind_text, _, rest = spec.lstrip(":").partition(":")
        if not kind_text:
            raise ValueError("empty fault spec")
        kind = FaultKind(kind_text)
        out: dict[str, object] = {"kind": kind}
        open_values: dict[str, str] = {}
        open_key: str | None = None
        for part in rest.split(":") if rest else []:
            key, sep, value = part.partition("=")
            if open_key is not None and not (sep and key in SPEC_KEYS):
                open_values[open_key] += ":" + part
                continue
            open_key = None
            if not part:
                continue
            if part.isdigit() and "status" not in out:
                out["status"] = int(part)
                continue
            if not sep:
                raise ValueError(f"fault spec part {part!r} is not key=value")
            if key in _INT_KEYS:
                out[key] = None if (key == "times" and value in {"inf", "forever"}) else int(value)
            elif key == "delay_s":
                out[key] = float(value)
            elif key in _TEXT_KEYS:
                out[key] = value
            elif key in _OPEN_KEYS:
                open_values[key] = value
                open_key = key
            elif key == "methods":
                out[key] = value.split(",")
            else:
                raise ValueError(f"unknown fault spec key {key!r}")
        if "text" in open_values:
            out["text"] = urllib.parse.unquote_to_bytes(open_values["text"])
        if "location" in open_values:
            out["location"] = urllib.parse.unquote(open_values["location"])
        return out
