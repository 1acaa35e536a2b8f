"""The only package that talks HTTP. Everything about the wire that is not vendor-specific
lives here, once: pooling, timeouts and the per-call deadline, the retry loop, Retry-After,
redirects, body safety, error mapping, authentication strategies and redaction.

Modules: ``client`` (the Transport and its one retry loop), ``pools`` (urllib3's
connection pools, proxies and CA bundle from the environment), ``reading`` (what an
answer's bytes become), ``policy`` (retry policy,
timeouts, Retry-After), ``body`` (size, charset, depth, JSON), ``deadline`` (the watchdog),
``rules`` (a vendor's success and error reading), ``auth`` and ``oauth`` (how a
request proves who it is), ``reasons`` (one line of why a request failed).
"""

from mdmbridge.transport.auth import Auth, BasicAuth, SecretInPath
from mdmbridge.transport.body import MAX_JSON_DEPTH
from mdmbridge.transport.client import Transport
from mdmbridge.transport.policy import (
    DEFAULT_DEADLINE_S,
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    RetryPolicy,
    Timeouts,
)
from mdmbridge.transport.reading import HTTPResult
from mdmbridge.transport.rules import ErrorParser, ResponseRules, VendorError

__all__ = [
    "DEFAULT_DEADLINE_S",
    "IDEMPOTENT_METHODS",
    "MAX_JSON_DEPTH",
    "RETRY_STATUSES",
    "Auth",
    "BasicAuth",
    "ErrorParser",
    "HTTPResult",
    "ResponseRules",
    "RetryPolicy",
    "SecretInPath",
    "Timeouts",
    "Transport",
    "VendorError",
]
