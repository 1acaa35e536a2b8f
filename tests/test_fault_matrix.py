"""The fault matrix: every list endpoint of both adapters under every fault class.

The promise under test: every vendor answer ends in a complete, exact result or in the
documented ``mdmbridge.MDMError`` subclass, with a one-line message and no secret (in any
encoding, in the error or in any log line), within a time bound; never a raw exception,
never a listing with a repeated id passed as complete, never a hang.

``FAULT_CLASSES`` below is the table "fault class -> expected outcome(s)"; it is data, so it
doubles as documentation, and ``benchmarks/faults.py`` runs the same table and prints a
summary. Each case runs against the live simulators (``mdmbridge_*.simulator``), with a
fault-free listing of the same endpoint taken first as the expected result.

Every fault is the simulators' own (``mdmbridge/simulation/faults.py``: ``server.faults.add``),
or one of the ezmdm simulator's paging hooks (``short_page``, ``drift_total``).

To keep the run short, retry *waits* are shortened on each client (``fast_backoff``): the
retry loop, the attempts and the statuses retried are the transport's own.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import json
import logging
import os
import re
import resource
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from mdmbridge_duostation.simulator import start_simulator as start_duo
from mdmbridge_ezmdm.simulator import start_simulator as start_ez

import mdmbridge
from mdmbridge import (
    IncompleteListing,
    MalformedResponse,
    MDMError,
    RateLimited,
    TransportError,
    VendorServerError,
)
from mdmbridge.simulation import SimServer
from mdmbridge.transport import RetryPolicy
from tests.fuzz_server import ScriptedServer
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

# ---------------------------------------------------------------------------------------
# Knobs
# ---------------------------------------------------------------------------------------

DEVICES = 30  # small fleets: 40 groups, 24 users, 30 devices per vendor
EZ_PAGE = 10  # several pages per ezmdm listing
RETRIES = 2
CASE_DEADLINE_S = 10.0  # request_deadline_s of every case (nothing may take longer)
DRIP_DEADLINE_S = 0.5  # request_deadline_s of the drip cases (a byte or two arrives)
CASE_BOUND_S = 15.0  # a case that takes longer is a hang, whatever its outcome
HANG_S = 40.0  # the case's thread is abandoned after this long
RSS_BOUND_MB = 50.0  # peak RSS growth allowed while a hostile body is read
HUGE_INT = "9" * 5000
REAL_BACKOFF_S = 1.4  # two retries with the default policy wait 0.5 s and 1 s (+ jitter)
# A string of brackets, quotes and backslashes (100 KB once JSON-escaped): structure for a
# careless depth check, text for a parser; it spans the transport's 64 KiB read chunks.
NASTY_STRING = '[[{"\\' * 15_000 + "]]}}"

# Passwords for the secret cases: ASCII, outside latin-1, and latin-1 with a colon.
PASSWORDS = {"ascii": DUO_PASSWORD, "cyrillic": "Пароль€-7319", "latin1-colon": "Lösen:123-Canary"}

# ---------------------------------------------------------------------------------------
# The table: fault class -> expected outcome(s)
# ---------------------------------------------------------------------------------------

COMPLETE = "complete"  # the listing is exactly the fault-free one
ANY_ERROR = "any MDMError"  # any documented error; the checks below still apply
Outcome = Any  # COMPLETE, ANY_ERROR or an MDMError subclass (MDMError itself: exactly it)

# Extra checks on an error (or on the run), by name:
#   names_id        the message names one of the listing's ids (as 'id')
#   deadline        the message names the per-request deadline
#   location        the message names the redirect's Location (secrets masked)
#   other_silent    the other origin received no request at all
#   sim_once        the simulator received exactly one request (a redirect was not followed)
#   retried         the GET was answered with the fault's status 1 + retries times
#   real_backoff    the retries waited the normal backoff (0.5 s, then 1 s, plus jitter)
#   no_header_gripe the message does not complain about the Retry-After header
#   retry_after_0   RateLimited.retry_after is 0 (the vendor's own value)
#   cut_off         the message says the body was cut off
#   timed_out       the message says the request timed out
#   write_once      the write reached the simulator exactly once (never re-sent)
#   created_nothing no group was created (the write was answered in the vendor's place)
#   memory          peak RSS grew by less than RSS_BOUND_MB while the answer was read
#
# A "body" fault answers a literal body built at run time from the endpoint's fault-free
# records: ``numeric_literal`` (one record, a number literal in a numeric field),
# ``total_literal`` (ezmdm: the page total), ``listing`` (the records themselves, spoiled
# one way), ``echo`` (an error page quoting the tenant's secrets), ``raw`` (as given).


@dataclass(frozen=True)
class FaultClass:
    name: str
    promise: str
    kind: str | None  # a simulator fault kind, an ezmdm hook ("short_page", ...), or None
    params: dict[str, Any] = field(default_factory=dict)
    expect: tuple[Outcome, ...] = (COMPLETE,)
    per_vendor: dict[str, tuple[Outcome, ...]] = field(default_factory=dict)
    if_one_page: tuple[Outcome, ...] | None = None  # the outcome when the listing is one page
    checks: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # connect() overrides
    vendors: tuple[str, ...] = ("duostation", "ezmdm")
    calls: tuple[str, ...] = ("list",)  # which calls it applies to: list, create, get
    only: tuple[str, ...] = ()  # endpoint names it runs on (all when empty)
    bound_s: float = CASE_BOUND_S
    fast_backoff: bool = True

    def expected(self, vendor: str, one_page: bool) -> tuple[Outcome, ...]:
        if one_page and self.if_one_page is not None:
            return self.if_one_page
        return self.per_vendor.get(vendor, self.expect)


S = FaultClass  # the table reads better short
GET_AND_WRITE = ("list", "get", "create")

# fmt: off
FAULT_CLASSES: tuple[FaultClass, ...] = (
    S("none", "no fault: the listing is complete", None),
    # -- repeated ids ---------------------------------------------------------------------
    S("duplicate", "a listing repeating an id is refused, naming the id", "duplicate",
      {"times": None}, (IncompleteListing,), checks=("names_id",)),
    S("duplicate-once", "ezmdm re-fetches the page once (cured); DuoSTATION's array is refused",
      "duplicate", {"times": 1}, per_vendor={"duostation": (IncompleteListing,),
                                             "ezmdm": (COMPLETE,)}, checks=("names_id",)),
    S("ignore-page", "a server ignoring ?page= repeats page 1: refused, naming the id",
      "ignore_page", {"times": None}, (IncompleteListing,), if_one_page=(COMPLETE,),
      checks=("names_id",), vendors=("ezmdm",)),
    S("same-id-other-form", "one id twice, once as a number and once as text (or a GUID in "
      "upper case): still one id", "body", {"listing": "same-id-other-form"},
      (IncompleteListing,), checks=("names_id",)),
    # -- bodies ---------------------------------------------------------------------------
    S("charset-unknown", "an unknown charset is read as UTF-8: exact result", "charset",
      {"charset": "x-bogus-charset", "times": None}),
    S("charset-unknown-quoted", "a quoted unknown charset", "charset",
      {"charset": '"x-bogus-charset"', "times": None}),
    S("charset-empty", "an empty charset parameter", "charset", {"charset": "", "times": None}),
    S("bom", "a UTF-8 byte-order mark before the JSON", "body", {"listing": "bom"}),
    S("brackets-in-strings", "100 KB of brackets, quotes and backslashes inside a string: "
      "not nesting", "body", {"listing": "brackets-in-strings"}),
    S("int-5000-digits", "an integer of 5000 digits in a numeric field", "body",
      {"numeric_literal": HUGE_INT}, (MalformedResponse,), checks=("memory",)),
    S("number-1e400", "1e400 in a numeric field", "body", {"numeric_literal": "1e400"},
      (MalformedResponse,)),
    S("number-Infinity", "Infinity in a numeric field", "body",
      {"numeric_literal": "Infinity"}, (MalformedResponse,)),
    S("number-minus-Infinity", "-Infinity in a numeric field", "body",
      {"numeric_literal": "-Infinity"}, (MalformedResponse,)),
    S("number-NaN", "NaN in a numeric field", "body", {"numeric_literal": "NaN"},
      (MalformedResponse,)),
    S("total-1e400", "1e400 as the page total", "body", {"total_literal": "1e400"},
      (MalformedResponse,), vendors=("ezmdm",)),
    S("total-5000-digits", "an integer of 5000 digits as the page total", "body",
      {"total_literal": HUGE_INT}, (MalformedResponse,), vendors=("ezmdm",)),
    S("total-NaN", "NaN as the page total", "body", {"total_literal": "NaN"},
      (MalformedResponse,), vendors=("ezmdm",)),
    S("nest-100000", "JSON nested 100,000 deep (200 KB): refused fast, bounded memory",
      "nest", {"depth": 100_000, "times": None}, (MalformedResponse,), checks=("memory",),
      bound_s=5.0),
    S("nest-5mb", "5 MB of nested arrays: refused at the first 65th level, memory bounded "
      "(not ~40 bytes per bracket)", "body", {"raw": b"[" * 2_500_000 + b"]" * 2_500_000},
      (MalformedResponse,), checks=("memory",), calls=("list", "get"), bound_s=5.0),
    S("nest-objects-100000", "objects nested 100,000 deep ({\"a\":{\"a\":...}})", "body",
      {"raw": b'{"a":' * 100_000 + b"1" + b"}" * 100_000}, (MalformedResponse,),
      checks=("memory",), bound_s=5.0),
    S("trailing-garbage", "the listing followed by garbage", "body",
      {"listing": "trailing-garbage"}, (MalformedResponse,)),
    S("two-documents", "the listing sent twice in one body", "body",
      {"listing": "two-documents"}, (MalformedResponse,)),
    S("json-cut", "a complete HTTP answer whose JSON stops half-way", "body",
      {"listing": "cut-half"}, (MalformedResponse,)),
    S("empty-200", "200 with an empty body", "body", {"raw": b""}, (MalformedResponse,)),
    S("json-null", "200 with null", "body", {"raw": b"null"}, (MalformedResponse,)),
    S("bad-gzip", "Content-Encoding: gzip on a body that is not", "bad_gzip",
      {"times": None}, (MalformedResponse,)),
    S("html-200", "an HTML page with 200 (a login page)", "html",
      {"status": 200, "times": None}, (MalformedResponse,)),
    # -- time -----------------------------------------------------------------------------
    S("drip", "one byte every 0.4 s: the per-request deadline ends it", "drip",
      {"delay_s": 0.4, "times": None}, (TransportError,), checks=("deadline",),
      settings={"request_deadline_s": DRIP_DEADLINE_S}, calls=("list", "get")),
    S("drip-after-page-1", "page 1 fine, every later page dripped", "drip",
      {"delay_s": 0.4, "times": None, "after": 1}, (TransportError,), if_one_page=(COMPLETE,),
      checks=("deadline",), settings={"request_deadline_s": DRIP_DEADLINE_S},
      vendors=("ezmdm",)),
    S("drip-write", "a write whose answer drips: the deadline ends it, never re-sent",
      "drip", {"delay_s": 0.4, "times": None}, (TransportError,),
      checks=("deadline", "write_once"), settings={"request_deadline_s": DRIP_DEADLINE_S},
      calls=("create",)),
    S("timeout", "no answer within the read timeout", "delay",
      {"delay_s": 0.3, "times": None}, (TransportError,), checks=("timed_out",),
      settings={"read_timeout_s": 0.08}),
    # -- statuses and connections ---------------------------------------------------------
    S("429-retry-after-soon", "Retry-After: soon is no advice: retried with the backoff",
      "status", {"status": 429, "retry_after": "soon", "times": None}, (RateLimited,),
      checks=("retried", "no_header_gripe")),
    S("429-retry-after-soon-real-backoff", "... and the waits are the normal backoff",
      "status", {"status": 429, "retry_after": "soon", "times": None}, (RateLimited,),
      checks=("retried", "no_header_gripe", "real_backoff"), only=("groups",),
      fast_backoff=False),
    S("429-retry-after-negative", "Retry-After: -5", "status",
      {"status": 429, "retry_after": "-5", "times": None}, (RateLimited,),
      checks=("retried", "no_header_gripe")),
    S("429-retry-after-huge", "Retry-After: 10^20 s: capped, then refused within the deadline",
      "status", {"status": 429, "retry_after": "9" * 20, "times": None}, (RateLimited,),
      checks=("no_header_gripe",), settings={"max_retry_after_s": 60.0}),
    S("503-retry-after-soon", "503 with Retry-After: soon", "status",
      {"status": 503, "retry_after": "soon", "times": None}, (VendorServerError,),
      checks=("retried", "no_header_gripe")),
    S("429-storm", "429 for ever: RateLimited carrying the vendor's Retry-After", "status",
      {"status": 429, "retry_after": 0, "times": None}, (RateLimited,),
      checks=("retried", "retry_after_0")),
    S("429-once", "one 429, then the answer", "status",
      {"status": 429, "retry_after": 0, "times": 1}),
    S("503-storm", "503 for ever", "status", {"status": 503, "times": None},
      (VendorServerError,), checks=("retried",)),
    S("503-after-page-1", "page 1 fine, 503 for every later page", "status",
      {"status": 503, "times": None, "after": 1}, (VendorServerError,),
      if_one_page=(COMPLETE,), vendors=("ezmdm",)),
    S("500-once", "one 500, then the answer", "status", {"status": 500, "times": 1}),
    S("status-999", "a status no one defined", "body",
      {"raw": b'{"Message":"?","error":"?"}', "status": 999}, (VendorServerError,)),
    S("status-304", "304 Not Modified to a request that asked for none", "body",
      {"raw": b"", "status": 304}, (MDMError,)),
    S("html-502", "a proxy's HTML 502 page for ever", "html", {"status": 502, "times": None},
      (VendorServerError,)),
    S("drop-storm", "the connection closed unanswered, for ever", "drop", {"times": None},
      (TransportError,)),
    S("drop-once", "one dropped connection, then the answer", "drop", {"times": 1}),
    S("truncate-storm", "the body cut off, for ever", "truncate", {"times": None},
      (MalformedResponse,), checks=("cut_off",)),
    S("truncate-once", "one cut-off body, then the answer", "truncate", {"times": 1}),
    # -- paging (ezmdm) -------------------------------------------------------------------
    S("short-page", "page 2 short twice (the re-fetch too)", "short_page",
      {"page": 2, "missing": 1, "times": 2}, (IncompleteListing,), if_one_page=(COMPLETE,),
      vendors=("ezmdm",)),
    S("short-page-once", "page 2 short once: the re-fetch cures it", "short_page",
      {"page": 2, "missing": 1, "times": 1}, vendors=("ezmdm",)),
    S("total-changes", "the total changes while listing", "drift_total",
      {"by": 1, "times": 1}, (IncompleteListing,), vendors=("ezmdm",)),
    # -- redirects ------------------------------------------------------------------------
    S("redirect-same-origin-once", "a GET redirected once to its own path is followed",
      "redirect", {"status": 302, "location": "{path}", "times": 1},
      vendors=("duostation",)),
    S("redirect-loop", "a GET redirected to itself for ever: refused, not a hang",
      "redirect", {"status": 302, "location": "{path}", "times": None}, (MDMError,),
      calls=("list", "get")),
    S("redirect-no-location", "a 302 without a Location", "status",
      {"status": 302, "times": None}, (MDMError,), calls=("list", "get")),
    S("redirect-other-origin", "a GET redirected to another origin: not followed",
      "redirect", {"status": 302, "location": "{other}/moved", "times": None}, (MDMError,),
      checks=("location", "other_silent"), calls=("list", "get")),
    S("redirect-protocol-relative", "a GET redirected to //other-host/...", "redirect",
      {"status": 301, "location": "{other_relative}/moved", "times": None}, (MDMError,),
      checks=("location", "other_silent"), calls=("list", "get")),
    S("redirect-other-host-name", "a GET redirected to the same server under another host "
      "name (localhost): another origin, not followed", "redirect",
      {"status": 307, "location": "{same_server_other_name}", "times": None}, (MDMError,),
      checks=("location", "sim_once"), calls=("list", "get")),
    S("redirect-https", "a GET redirected to https on the same host and port: another origin",
      "redirect", {"status": 308, "location": "{same_server_https}", "times": None},
      (MDMError,), checks=("location", "sim_once"), calls=("list", "get")),
    S("redirect-other-origin-secret", "... with the tenant's secret in the Location",
      "redirect", {"status": 302, "location": "{other_with_secret}", "times": None},
      (MDMError,), checks=("location", "other_silent"), calls=("list", "get")),
    S("redirect-write", "a write answered 302 (same origin): not followed, not re-sent",
      "redirect", {"status": 302, "location": "{path}", "times": None}, (MDMError,),
      checks=("location", "write_once", "created_nothing"), calls=("create",)),
    S("redirect-write-303", "a write answered 303 See Other: not turned into a GET",
      "redirect", {"status": 303, "location": "{path}", "times": None}, (MDMError,),
      checks=("location", "write_once", "created_nothing"), calls=("create",)),
    S("redirect-write-other-origin", "a write answered 307 to another origin",
      "redirect", {"status": 307, "location": "{other}/moved", "times": None}, (MDMError,),
      checks=("location", "write_once", "created_nothing", "other_silent"),
      calls=("create",)),
    S("redirect-write-308-other-origin", "a write answered 308 to another origin",
      "redirect", {"status": 308, "location": "{other}/moved", "times": None}, (MDMError,),
      checks=("location", "write_once", "created_nothing", "other_silent"),
      calls=("create",)),
    # -- secrets --------------------------------------------------------------------------
    # -- messages -------------------------------------------------------------------------
    S("error-text-multiline", "a vendor error text with line breaks: still one line", "body",
      {"raw": b'{"Message": "first line\\nsecond line\\r\\nthird", "success": false, '
              b'"error": "first line\\nsecond line\\r\\nthird"}', "status": 400},
      (mdmbridge.ValidationError,), calls=GET_AND_WRITE),
    S("envelope-error-multiline", "an ezmdm 200 envelope error with line breaks", "body",
      {"raw": b'{"success": false, "error": "Invalid value\\r\\nfor name"}', "status": 200},
      (mdmbridge.ValidationError,), vendors=("ezmdm",), calls=GET_AND_WRITE),
    S("echo-auth", "a proxy echoing the Authorization header in its error body",
      "echo_auth", {"times": None}, (ANY_ERROR,), calls=GET_AND_WRITE),
    S("echo-secret-forms", "an error body quoting the secret in every encoding", "body",
      {"echo": "forms", "status": 502}, (VendorServerError,), calls=GET_AND_WRITE),
    S("echo-secret-forms-200", "a 200 answer quoting the secret in every encoding", "body",
      {"echo": "forms", "status": 200}, (ANY_ERROR,), calls=GET_AND_WRITE),
    S("echo-secret-html", "an HTML error page whose <title> quotes the secret", "body",
      {"echo": "html", "status": 502}, (VendorServerError,), calls=GET_AND_WRITE),
    S("echo-secret-at-cut", "an error text with the secret where the excerpt is cut", "body",
      {"echo": "cut-plain", "status": 502}, (VendorServerError,), calls=GET_AND_WRITE),
    S("echo-token-at-cut", "an error text with the Basic token where the excerpt is cut",
      "body", {"echo": "cut-token", "status": 502}, (VendorServerError,),
      calls=GET_AND_WRITE, vendors=("duostation",)),
    S("echo-secret-in-bad-json", "a 200 answer whose broken JSON has the secret where the "
      "parser stops (parsers quote the text around the error)", "body",
      {"echo": "bad-json", "status": 200}, (MalformedResponse,), calls=GET_AND_WRITE),
)
# fmt: on

FAULTS_BY_NAME = {fault.name: fault for fault in FAULT_CLASSES}
# The fault classes every secret case runs, for each password in PASSWORDS (on the group
# list, or on a group create for the write-only classes).
SECRET_FAULTS = (
    "none",
    "echo-auth",
    "echo-secret-forms",
    "echo-secret-forms-200",
    "echo-secret-html",
    "echo-secret-at-cut",
    "echo-token-at-cut",
    "echo-secret-in-bad-json",
    "redirect-other-origin-secret",
    "redirect-write",
)

# ---------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    vendor: str
    name: str  # the client namespace ("device_tags") or "groups.create" / "groups.get"
    path: str  # the request path; {key} and {device} are filled in at run time
    numeric_key: str = ""  # the vendor key the numeric-literal bodies replace
    call: str = "list"
    settings: dict[str, Any] = field(default_factory=dict)


E = Endpoint
# fmt: off
LIST_ENDPOINTS: tuple[Endpoint, ...] = (
    E("duostation", "groups", "/api/groups", "ParentId"),
    E("duostation", "users", "/api/users", "GroupId"),
    E("duostation", "devices", "/api/devices", "BatteryLevel"),
    E("duostation", "tags", "/api/tags", "GroupId"),
    E("duostation", "device_tags", "/api/devicetags", "TagId"),
    E("duostation", "user_tags", "/api/usertags", "TagId"),
    E("duostation", "group_tags", "/api/grouptags", "TagId"),
    E("duostation", "apps", "/api/apps", "Size"),
    E("ezmdm", "groups", "/api/v1/{key}/group", "id"),
    E("ezmdm", "users", "/api/v1/{key}/user", "groupId"),
    E("ezmdm", "devices", "/api/v1/{key}/device", "batteryLevel"),
    # the device with the most locations, two per page so it has pages too
    E("ezmdm", "locations", "/api/v1/{key}/devicelocation/{device}", "latitude",
      settings={"page_size": 2}),
)
CALL_ENDPOINTS: tuple[Endpoint, ...] = (
    E("duostation", "groups.create", "/api/groups", call="create"),
    E("duostation", "groups.get", "/api/groups/{group}", call="get"),
    E("ezmdm", "groups.create", "/api/v1/{key}/group", call="create"),
    E("ezmdm", "groups.get", "/api/v1/{key}/group/{group}", call="get"),
)
# fmt: on


@dataclass(frozen=True)
class Case:
    endpoint: Endpoint
    fault: FaultClass
    target: str  # which simulator: "duostation", "ezmdm", or "duostation:<password label>"

    @property
    def id(self) -> str:
        label = self.target.partition(":")[2]
        suffix = f"-pw:{label}" if label in PASSWORDS else ""
        return f"{self.endpoint.vendor}-{self.endpoint.name}-{self.fault.name}{suffix}"


def _cases() -> list[Case]:
    # Writes go to simulators of their own, so the listed ones never change.
    cases = [
        Case(endpoint, fault, endpoint.vendor + (":writes" if endpoint.call == "create" else ""))
        for endpoint in (*LIST_ENDPOINTS, *CALL_ENDPOINTS)
        for fault in FAULT_CLASSES
        if endpoint.vendor in fault.vendors
        and endpoint.call in fault.calls
        and (not fault.only or endpoint.name in fault.only)
    ]
    duo_groups = next(e for e in LIST_ENDPOINTS if e.vendor == "duostation" and e.name == "groups")
    duo_create = next(e for e in CALL_ENDPOINTS if e.vendor == "duostation" and e.call == "create")
    for label in PASSWORDS:
        for name in SECRET_FAULTS:
            fault = FAULTS_BY_NAME[name]
            endpoint = duo_create if fault.calls == ("create",) else duo_groups
            cases.append(Case(endpoint, fault, f"duostation:{label}"))
            if name.startswith("echo-"):
                cases.append(Case(duo_create, fault, f"duostation:{label}"))
    return cases


CASES: tuple[Case, ...] = tuple(_cases())

# ---------------------------------------------------------------------------------------
# Running one case
# ---------------------------------------------------------------------------------------


@dataclass
class Target:
    """One running simulator and what it takes to reach it."""

    vendor: str
    server: SimServer
    settings: dict[str, Any]  # connect() credentials and base_url
    secrets: dict[str, str | None]  # secret -> the username it pairs with in Basic auth


@dataclass
class Result:
    case: Case
    outcome: str  # one line: "complete (40 records)", "IncompleteListing: ...", "hang", ...
    problems: list[str]
    seconds: float
    rss_growth_mb: float | None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def typed_error(self) -> bool:
        return isinstance(self.error, MDMError)

    def report(self) -> str:
        lines = [f"{self.case.id}: {self.outcome} [{self.seconds:.2f} s]"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


class Matrix:
    """The simulators, the other origin and the fault-free baselines; runs cases."""

    def __init__(self) -> None:
        self.other = ScriptedServer().start()
        self._targets: dict[str, Target] = {}
        self._baselines: dict[tuple[str, str], list[Any]] = {}
        self._lock = threading.Lock()
        self.location_device = ""
        self.group_ids: dict[str, str] = {}

    def close(self) -> None:
        for target in self._targets.values():
            target.server.stop()
        self.other.stop()

    def __enter__(self) -> Matrix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # simulators --------------------------------------------------------------------------

    def target(self, name: str) -> Target:
        with self._lock:
            if name not in self._targets:
                self._targets[name] = self._start(name)
            return self._targets[name]

    def _start(self, name: str) -> Target:
        vendor, _, label = name.partition(":")
        devices = 3 if label else DEVICES  # the secret and write targets list little
        if vendor == "duostation":
            password = PASSWORDS.get(label, DUO_PASSWORD)
            server = start_duo(devices=devices, username=DUO_USER, password=password)
            settings = {"base_url": server.base_url, "username": DUO_USER, "password": password}
            secrets: dict[str, str | None] = {password: DUO_USER}
        else:
            server = start_ez(devices=devices, api_key=EZ_KEY)
            settings = {"base_url": server.base_url, "api_key": EZ_KEY}
            secrets = {EZ_KEY: None}
        return Target(vendor, server, settings, secrets)

    def connect(
        self, target: Target, overrides: Mapping[str, Any], *, fast: bool = True
    ) -> mdmbridge.Client:
        settings: dict[str, Any] = {
            **target.settings,
            "retries": RETRIES,
            "connect_timeout_s": 2.0,
            "read_timeout_s": 5.0,
            "request_deadline_s": CASE_DEADLINE_S,
        }
        if target.vendor == "ezmdm":
            settings["page_size"] = EZ_PAGE
        settings.update(overrides)
        model = mdmbridge.adapters()[target.vendor].adapter_class.settings_model
        if "request_deadline_s" not in model.model_fields:
            settings.pop("request_deadline_s")
        client = mdmbridge.connect(target.vendor, tenant="matrix", **settings)
        if fast:
            fast_backoff(client)
        return client

    def reset(self, target: Target) -> None:
        target.server.faults.clear()
        reset_counters = getattr(target.server.app, "reset_counters", None)
        if reset_counters is not None:
            reset_counters()
        target.server.reset_counts()
        self.other.reset()

    # what the fault-free run gives -------------------------------------------------------

    def fill(self, text: str, endpoint: Endpoint, target: Target) -> str:
        """The path or Location template of a case, made concrete."""
        if "{device}" in endpoint.path and not self.location_device:
            self.location_device = self._busiest_device()
        if "{group}" in endpoint.path and target.vendor not in self.group_ids:
            groups = self.baseline(LIST_ENDPOINTS_BY[(target.vendor, "groups")])
            self.group_ids[target.vendor] = groups[0].id
        path = endpoint.path.format(
            key=EZ_KEY, device=self.location_device, group=self.group_ids.get(target.vendor, "")
        )
        other_with_secret = (
            f"{self.other.base_url}/api/v1/{EZ_KEY}/group?key={EZ_KEY}"
            if target.vendor == "ezmdm"
            else _userinfo_url(self.other.base_url, DUO_USER, target.settings["password"])
        )
        port = target.server.port
        return text.format(
            path=path,
            key=EZ_KEY,
            other=self.other.base_url,
            other_relative=f"//127.0.0.1:{self.other.port}",
            other_with_secret=other_with_secret,
            same_server_other_name=f"http://localhost:{port}{urllib.parse.quote(path)}",
            same_server_https=f"https://127.0.0.1:{port}{urllib.parse.quote(path)}",
        )

    def _busiest_device(self) -> str:
        app: Any = self.target("ezmdm").server.app
        counts: dict[str, int] = {}
        for location_id in app.ids("devicelocation"):
            record = app.record("devicelocation", location_id) or {}
            device = str(record.get("deviceId"))
            counts[device] = counts.get(device, 0) + 1
        return max(counts, key=lambda device: counts[device])

    def baseline(self, endpoint: Endpoint) -> list[Any]:
        key = (endpoint.vendor, endpoint.name)
        if key not in self._baselines:
            target = self.target(endpoint.vendor)
            self.fill("", endpoint, target)  # picks the device whose locations are listed
            self.reset(target)
            with contextlib.closing(self.connect(target, endpoint.settings)) as client:
                self._baselines[key] = list(list_call(endpoint, client, self))
        return self._baselines[key]

    def one_page(self, endpoint: Endpoint) -> bool:
        if endpoint.vendor != "ezmdm":
            return True
        size = endpoint.settings.get("page_size", EZ_PAGE)
        return len(self.baseline(endpoint)) <= int(size)

    # one case ----------------------------------------------------------------------------

    def run(self, case: Case) -> Result:
        endpoint, fault = case.endpoint, case.fault
        target = self.target(case.target)
        if endpoint.call == "list" and case.target == endpoint.vendor:
            expected: list[Any] | None = self.baseline(endpoint)
            one_page = self.one_page(endpoint)
        else:
            expected, one_page = None, True
        if endpoint.call == "get":
            self.fill("{path}", endpoint, target)  # learns a group id first
        self.reset(target)
        try:
            sent = self._add_fault(case, target)
        except Exception as exc:  # the fault itself could not be set up: a setup failure
            return Result(
                case,
                f"setup failed: {type(exc).__name__}: {exc}",
                [f"the fault could not be added ({type(exc).__name__}: {exc})"],
                0.0,
                None,
            )
        # A literal listing: its own records are the expected result (compared as raw).
        expected_raw = sent
        groups_before = _group_count(target)
        logs = _LogCapture()
        with logs, RssPeak(sample="memory" in fault.checks) as rss:
            started = time.monotonic()
            outcome = _run_bounded(lambda: self._call(case, target), HANG_S)
            seconds = time.monotonic() - started
        result = Result(case, "", [], seconds, rss.growth_mb)
        self._judge(
            result, outcome, target, (expected, expected_raw), one_page, logs.lines, groups_before
        )
        target.server.faults.clear()
        if fault.kind == "delay":  # let the server finish the requests the client gave up on
            time.sleep(float(fault.params.get("delay_s", 0)))
        return result

    def _call(self, case: Case, target: Target) -> Any:
        endpoint, fault = case.endpoint, case.fault
        overrides = {**endpoint.settings, **fault.settings}
        with contextlib.closing(self.connect(target, overrides, fast=fault.fast_backoff)) as client:
            if endpoint.call == "list":
                return list(list_call(endpoint, client, self))
            if endpoint.call == "create":
                return client.groups.create(name="Fault matrix")
            return client.groups.get(self.group_ids[target.vendor])

    def _add_fault(self, case: Case, target: Target) -> list[dict[str, Any]] | None:
        """Add the case's fault; for a literal listing, return the raw records it holds."""
        fault, endpoint = case.fault, case.endpoint
        if fault.kind is None:
            return None
        params = dict(fault.params)
        if fault.kind in ("short_page", "drift_total"):
            getattr(target.server.app, fault.kind)(**params)
            return None
        if "location" in params:
            params["location"] = self.fill(params["location"], endpoint, target)
        sent = None
        if fault.kind == "body":
            # Faults.add takes the literal body (the command-line form percent-encodes it).
            text, sent = self._literal_body(endpoint, target, params)
            params = {"text": text, "status": params.get("status", 200)}
        methods = ["POST", "PUT"] if endpoint.call == "create" else ["GET"]
        path = "^" + re.escape(self.fill("{path}", endpoint, target)) + "$"
        params.setdefault("times", None)
        target.server.faults.add(fault.kind, methods=methods, path=path, **params)
        return sent

    def _literal_body(
        self, endpoint: Endpoint, target: Target, params: Mapping[str, Any]
    ) -> tuple[bytes, list[dict[str, Any]] | None]:
        """The body of a "body" fault, and the raw records of a listing it holds whole."""
        if "raw" in params:
            return bytes(params["raw"]), None
        if "echo" in params:
            return echo_body(str(params["echo"]), target.secrets), None
        records = [dict(record.raw) for record in self.baseline(endpoint)]
        duo = endpoint.vendor == "duostation"
        if "listing" not in params:
            record = records[0]
            placeholder = "\u0000number\u0000"
            literal = params.get("numeric_literal")
            if literal is not None:
                record[endpoint.numeric_key] = placeholder
            text = json.dumps(record, ensure_ascii=False)
            text = text.replace(json.dumps(placeholder), literal or "")
            if duo:
                return f"[{text}]".encode(), None
            total = params.get("total_literal", "1")
            return f'{{"success":true,"data":[{text}],"page":1,"total":{total}}}'.encode(), None
        variant = params["listing"]
        if not duo:  # one page, all of it: the body answers every page request
            records = records[: endpoint.settings.get("page_size", EZ_PAGE)]
        if variant == "brackets-in-strings":
            records[0]["Comment"] = NASTY_STRING
        if variant == "same-id-other-form":
            records = [records[0], _same_id_other_form(records[0]), *records[1:-1]]

        def document(items: list[dict[str, Any]]) -> bytes:
            data: Any = items
            if not duo:
                data = {"success": True, "data": items, "page": 1, "total": len(items)}
            return json.dumps(data, ensure_ascii=False).encode()

        body = document(records)
        if variant == "bom":
            return b"\xef\xbb\xbf" + body, records
        if variant == "brackets-in-strings":
            return body, records
        if variant == "trailing-garbage":
            return body + b" garbage", None
        if variant == "two-documents":
            return body + b"\n" + body, None
        if variant == "cut-half":
            return body[: len(body) // 2], None
        return body, None

    # judging -----------------------------------------------------------------------------

    def _judge(
        self,
        result: Result,
        outcome: tuple[str, Any],
        target: Target,
        want: tuple[list[Any] | None, list[dict[str, Any]] | None],
        one_page: bool,
        log_lines: list[str],
        groups_before: int,
    ) -> None:
        """``want``: the fault-free records, and (for a literal listing) the raw records
        the answer held, which the result must then carry instead."""
        case, problems = result.case, result.problems
        expected = case.fault.expected(case.endpoint.vendor, one_page)
        expected_records, expected_raw = want
        status, value = outcome
        if status == "hang":
            result.outcome = f"no outcome within {HANG_S:.0f} s (hang)"
            problems.append(result.outcome)
        elif status == "value":
            self._judge_value(result, value, expected, expected_records, expected_raw)
        else:
            result.error = value
            self._judge_error(result, value, expected, target, expected_records)
        if result.seconds > case.fault.bound_s:
            problems.append(f"took {result.seconds:.1f} s (bound {case.fault.bound_s:.0f} s)")
        growth = result.rss_growth_mb
        if "memory" in case.fault.checks and growth is not None and growth > RSS_BOUND_MB:
            problems.append(f"peak RSS grew by {growth:.0f} MB")
        if "other_silent" in case.fault.checks and self.other.received:
            got = self.other.received[0]
            problems.append(
                f"the other origin received {len(self.other.received)} request(s), the first "
                f"{got.method} {got.path} (Authorization sent: {'Authorization' in got.headers})"
            )
        if "write_once" in case.fault.checks:
            writes = target.server.writes()
            if writes != 1:
                problems.append(f"the write reached the simulator {writes} times, not once")
        if "created_nothing" in case.fault.checks and _group_count(target) != groups_before:
            problems.append("a group was created although the write was answered by the fault")
        if "sim_once" in case.fault.checks and target.server.count() != 1:
            problems.append(
                f"the simulator received {target.server.count()} requests: the redirect was "
                "followed"
            )
        if "real_backoff" in case.fault.checks and result.seconds < REAL_BACKOFF_S:
            problems.append(
                f"the retries took {result.seconds:.2f} s, less than the normal backoff "
                f"({REAL_BACKOFF_S} s)"
            )
        leaks = find_leaks(log_lines, target.secrets)
        if leaks:
            problems.append(f"a secret in the logs: {leaks[0]}")

    def _judge_value(
        self,
        result: Result,
        value: Any,
        expected: tuple[Outcome, ...],
        expected_records: list[Any] | None,
        expected_raw: list[dict[str, Any]] | None,
    ) -> None:
        problems = result.problems
        if isinstance(value, list):
            result.outcome = f"complete ({len(value)} records)"
            ids = [record.id for record in value]
            if len(set(ids)) != len(ids):
                repeated = next(i for i in ids if ids.count(i) > 1)
                problems.append(f"a listing with a repeated id ({repeated!r}) passed as complete")
            elif expected_raw is not None:
                if [record.raw for record in value] != expected_raw:
                    problems.append("the records differ from the ones the answer held")
            elif COMPLETE in expected and expected_records not in (None, value):
                problems.append(_difference(value, expected_records or []))
        else:
            result.outcome = f"succeeded ({type(value).__name__})"
        if COMPLETE not in expected:
            problems.append(f"expected {_names(expected)}, got {result.outcome}")

    def _judge_error(
        self,
        result: Result,
        error: BaseException,
        expected: tuple[Outcome, ...],
        target: Target,
        expected_records: list[Any] | None,
    ) -> None:
        problems, checks = result.problems, result.case.fault.checks
        text = str(error)
        result.outcome = f"{type(error).__name__}: {_line(text)}"
        if not isinstance(error, MDMError):
            result.outcome = f"raw {type(error).__module__}.{result.outcome}"
            problems.append(f"a raw exception escaped: {result.outcome}")
            return
        if not _matches(error, expected):
            problems.append(f"expected {_names(expected)}, got {result.outcome}")
        if "\n" in text or "\r" in text:
            problems.append("the message is more than one line")
        chained = _raw_in_chain(error)
        if chained:
            problems.append(f"a raw exception is chained to the error: {chained}")
        leaks = find_leaks(error_texts(error), target.secrets)
        if leaks:
            problems.append(f"a secret in the error: {leaks[0]}")
        if not _matches(error, expected):
            return  # the extra checks are about the expected error
        lowered = text.lower()
        ids = [record.id for record in expected_records or ()]
        if "names_id" in checks and ids and not any(f"'{i}'" in text for i in ids):
            problems.append("the message names none of the listing's ids")
        if "deadline" in checks and "deadline" not in lowered:
            problems.append("the message does not name the per-request deadline")
        if "location" in checks:
            fragment = self._location_fragment(result.case, target)
            if fragment not in text:
                problems.append(f"the message does not name the Location ({fragment})")
        if "retried" in checks:
            # Counted by the fault's status, so a late request of an earlier case cannot count.
            status = result.case.fault.params.get("status")
            sent = sum(
                1 for r in list(target.server.log) if r.method == "GET" and r.status == status
            )
            if sent != RETRIES + 1:
                problems.append(f"{sent} GETs were answered {status}, expected {RETRIES + 1}")
        if "no_header_gripe" in checks and "retry-after" in lowered:
            problems.append("the message complains about the Retry-After header")
        if "retry_after_0" in checks and getattr(error, "retry_after", None) != 0:
            problems.append(f"retry_after is {getattr(error, 'retry_after', None)!r}, not 0")
        if "cut_off" in checks and "cut off" not in lowered:
            problems.append("the message does not say the body was cut off")
        if "timed_out" in checks and "timed out" not in lowered:
            problems.append("the message does not say the request timed out")

    def _location_fragment(self, case: Case, target: Target) -> str:
        """What of the Location the message must show: its scheme, host and port when it is
        absolute (userinfo and secrets aside), else the path with its secrets masked."""
        location = self.fill(str(case.fault.params["location"]), case.endpoint, target)
        parts = urllib.parse.urlsplit(location)
        if parts.hostname:
            where = f"{parts.hostname}:{parts.port}"
            return f"https://{where}" if parts.scheme == "https" else where
        for secret in target.secrets:
            location = location.replace(secret, "***")
        return location


LIST_ENDPOINTS_BY = {(e.vendor, e.name): e for e in LIST_ENDPOINTS}


def list_call(endpoint: Endpoint, client: mdmbridge.Client, matrix: Matrix) -> Iterator[Any]:
    if endpoint.name == "locations":
        return iter(client.locations.list(device_id=matrix.location_device))
    return iter(getattr(client, endpoint.name).list())


def fast_backoff(client: mdmbridge.Client) -> None:
    """Shorten the waits between retries (not the retries themselves) to keep runs short."""
    http = getattr(client.adapter, "http", None)
    policy = getattr(http, "retry", None)
    if isinstance(policy, RetryPolicy):
        http.retry = dataclasses.replace(  # type: ignore[union-attr]
            policy, backoff_factor=0.01, backoff_max=0.05, jitter=0.01
        )


def _group_count(target: Target) -> int:
    app: Any = target.server.app
    return app.count("group") if target.vendor == "ezmdm" else len(app.groups)


def _userinfo_url(base_url: str, user: str, password: str) -> str:
    host = base_url.split("://", 1)[1]
    secret = urllib.parse.quote(password, safe="")
    return f"http://{user}:{secret}@{host}/moved?password={secret}"


def _same_id_other_form(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` whose id is the same id in another JSON form: 7 <-> "7", and a
    GUID in upper case (DuoSTATION device ids)."""
    key = next(k for k in record if k.lower() == "id")
    value = record[key]
    if isinstance(value, int):
        other: Any = str(value)
    elif isinstance(value, str) and value.isdigit():
        other = int(value)
    else:
        other = str(value).upper()
    return {**record, key: other}


def echo_body(kind: str, secrets: Mapping[str, str | None]) -> bytes:
    """An error page quoting the tenant's secrets: ``forms`` (every encoding, inside a JSON
    error), ``html`` (in an HTML <title>), ``cut-plain`` / ``cut-token`` (the secret, or
    the Basic token, where a 160-character excerpt of the text is cut)."""
    forms = sorted(set().union(*(secret_forms(s, u) for s, u in secrets.items())), key=len)
    if kind == "forms":
        quoted = " | ".join(forms)  # raw: the JSON-escaped form is an escape in the JSON text
        return (
            '{"Message": "proxy echo: '
            + quoted
            + '", "error": "proxy echo: '
            + quoted
            + '", "success": false}'
        ).encode()
    if kind == "html":
        title = " ".join(forms)
        return f"<html><head><title>Proxy: {title}</title></head><body>x</body></html>".encode()
    secret = next(iter(secrets))
    if kind == "bad-json":
        # inside the first record, so a streaming parser meets it before any record is built
        return f'[{{"Id":1 {secret}}}]'.encode()
    if kind == "cut-token":
        user = secrets[secret] or ""
        secret = base64.b64encode(f"{user}:{secret}".encode()).decode()
    prefix = "proxy-error:" + "." * 138  # the secret starts at character 150
    return f"{prefix}{secret} and more text after it".encode()


def _matches(error: BaseException, expected: tuple[Outcome, ...]) -> bool:
    for outcome in expected:
        if outcome == ANY_ERROR and isinstance(error, MDMError):
            return True
        if outcome is MDMError and type(error) is MDMError:
            return True
        if isinstance(outcome, type) and outcome is not MDMError and isinstance(error, outcome):
            return True
    return False


def _names(expected: tuple[Outcome, ...]) -> str:
    return " or ".join(o if isinstance(o, str) else o.__name__ for o in expected)


def _line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _difference(got: list[Any], want: list[Any]) -> str:
    if len(got) != len(want):
        return f"a listing of {len(got)} records passed as complete; the fault-free one has {len(want)}"
    for mine, theirs in zip(got, want, strict=True):
        if mine != theirs:
            fields = [
                name
                for name in type(theirs).model_fields
                if getattr(mine, name, None) != getattr(theirs, name, None)
            ]
            return (
                f"record {theirs.id!r} differs from the fault-free listing in {', '.join(fields)}"
                f" (got {_line(repr({f: getattr(mine, f) for f in fields if f != 'raw'}), 120)})"
            )
    return "the listing differs from the fault-free one"


def _raw_in_chain(error: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if not isinstance(current, MDMError):
            return f"{type(current).__module__}.{type(current).__name__}"
        cause = current.__cause__
        if cause is None and not current.__suppress_context__:
            cause = current.__context__
        current = cause
    return None


def _run_bounded(work: Callable[[], Any], seconds: float) -> tuple[str, Any]:
    """("value", result), ("error", exception) or ("hang", None) after ``seconds``."""
    box: list[tuple[str, Any]] = []

    def run() -> None:
        try:
            box.append(("value", work()))
        except BaseException as exc:  # what escapes is exactly what is judged
            box.append(("error", exc))

    thread = threading.Thread(target=run, name="fault-case", daemon=True)
    thread.start()
    thread.join(seconds)
    return box[0] if box else ("hang", None)


# ---------------------------------------------------------------------------------------
# Secrets, logs and memory
# ---------------------------------------------------------------------------------------


def secret_forms(secret: str, username: str | None = None) -> set[str]:
    """A secret in every encoding it could leak in: plain, percent-encoded (UTF-8 and
    latin-1, quote and quote_plus), JSON-escaped, HTML-escaped, and, with a username,
    the base64 Basic token in UTF-8 and latin-1."""
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
    }
    encodings = ["utf-8"]
    with contextlib.suppress(UnicodeEncodeError):
        secret.encode("latin-1")
        encodings.append("latin-1")
        forms |= {
            urllib.parse.quote(secret, safe="", encoding="latin-1"),
            urllib.parse.quote_plus(secret, encoding="latin-1"),
        }
    if username is not None:
        for encoding in encodings:
            pair = f"{username}:{secret}".encode(encoding)
            forms.add(base64.b64encode(pair).decode("ascii"))
    return {form for form in forms if len(form) >= 6}


def find_leaks(texts: list[str], secrets: Mapping[str, str | None]) -> list[str]:
    """Each leak found: a whole secret form, or one cut off by an excerpt's '…'."""
    forms = set().union(*(secret_forms(s, u) for s, u in secrets.items())) if secrets else set()
    found = []
    for text in texts:
        for form in forms:
            if form in text:
                found.append(f"{form!r} in {_line(text, 160)!r}")
                continue
            for match in re.finditer("…", text):
                before = text[max(0, match.start() - len(form)) : match.start()]
                if any(before.endswith(form[:k]) for k in range(8, len(form))):
                    found.append(f"the start of {form!r}, cut off, in {_line(text, 160)!r}")
                    break
    return found


def error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for name in ("message", "body", "url"):
        value = getattr(error, name, None)
        if isinstance(value, str):
            texts.append(value)
    return texts


class _LogCapture(logging.Handler):
    """Every log line of every logger while a case runs, as a handler would see it."""

    LOGGERS = ("urllib3", "requests", "mdmbridge")

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self._levels: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))

    def __enter__(self) -> _LogCapture:
        root = logging.getLogger()
        self._levels[""] = root.level
        root.addHandler(self)
        root.setLevel(logging.DEBUG)
        for name in self.LOGGERS:
            self._levels[name] = logging.getLogger(name).level
            logging.getLogger(name).setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)
        for name, level in self._levels.items():
            logging.getLogger(name or None).setLevel(level)


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class RssPeak:
    """This process's RSS growth while a block runs: ``growth_mb`` is the peak seen minus
    the start. The peak is sampled every 2 ms (``sample=True``) and also read from the
    kernel's high-water mark, which catches a spike between two samples when it is the
    process's highest yet."""

    def __init__(self, *, sample: bool = True, interval_s: float = 0.002) -> None:
        self.interval_s = interval_s
        self.sample = sample
        self.growth_mb: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start: int | None = None
        self._peak = 0
        self._high_water = 0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._peak = max(self._peak, _rss_bytes() or 0)

    def __enter__(self) -> RssPeak:
        self._high_water = _max_rss_bytes()
        self._start = _rss_bytes()
        self._peak = self._start or 0
        if self._start is not None and self.sample:
            self._thread = threading.Thread(target=self._sample, name="rss", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._start is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._peak = max(self._peak, _rss_bytes() or 0)
        high_water = _max_rss_bytes()
        if high_water > self._high_water:  # this block set the process's record
            self._peak = max(self._peak, high_water)
        self.growth_mb = (self._peak - self._start) / (1024 * 1024)


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


# ---------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with Matrix() as running:
        yield running


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_fault_case(matrix: Matrix, case: Case) -> None:
    result = matrix.run(case)
    assert result.ok, result.report()


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=lambda e: f"{e.vendor}-{e.name}")
def test_fault_free_listing_is_the_simulators_state(matrix: Matrix, endpoint: Endpoint) -> None:
    """The baseline every case is compared with is itself right: the simulator's own ids,
    each once, over several pages where the vendor pages."""
    ids = [record.id for record in matrix.baseline(endpoint)]
    app: Any = matrix.target(endpoint.vendor).server.app
    if endpoint.vendor == "ezmdm":
        item = {"groups": "group", "users": "user", "devices": "device"}.get(endpoint.name)
        if item is None:
            want = [
                i
                for i in app.ids("devicelocation")
                if (app.record("devicelocation", i) or {}).get("deviceId") == matrix.location_device
            ]
        else:
            want = app.ids(item)
        assert ids == want
        assert len(ids) > endpoint.settings.get("page_size", EZ_PAGE)  # several pages
    else:
        table = getattr(app, endpoint.name)
        assert sorted(ids) == sorted(str(key) for key in table)
    assert len(ids) == len(set(ids)) and ids


def test_every_list_endpoint_meets_every_fault_class() -> None:
    pairs = {(c.endpoint.vendor, c.endpoint.name, c.fault.name) for c in CASES}
    for endpoint in LIST_ENDPOINTS:
        for fault in FAULT_CLASSES:
            applies = not fault.only or endpoint.name in fault.only
            if endpoint.vendor in fault.vendors and "list" in fault.calls and applies:
                assert (endpoint.vendor, endpoint.name, fault.name) in pairs
    assert {c.endpoint.name for c in CASES if c.endpoint.vendor == "duostation"} >= {
        "groups",
        "users",
        "devices",
        "tags",
        "device_tags",
        "user_tags",
        "group_tags",
        "apps",
    }
    assert {c.endpoint.name for c in CASES if c.endpoint.vendor == "ezmdm"} >= {
        "groups",
        "users",
        "devices",
        "locations",
    }


def test_secret_forms_cover_every_encoding() -> None:
    forms = secret_forms("Lösen:123-Canary", "api-tester")
    assert "L%C3%B6sen%3A123-Canary" in forms and "L%F6sen%3A123-Canary" in forms
    assert "L\\u00f6sen:123-Canary" in forms
    assert base64.b64encode("api-tester:Lösen:123-Canary".encode("latin-1")).decode() in forms
    assert base64.b64encode("api-tester:Lösen:123-Canary".encode()).decode() in forms
    assert find_leaks(["x: L%C3%B6sen%3A12…"], {"Lösen:123-Canary": None})
    assert not find_leaks(["x: L%C3%B6s***"], {"Lösen:123-Canary": None})
