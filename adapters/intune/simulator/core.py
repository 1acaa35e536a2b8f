"""The simulator's frame: state and the request cycle (token endpoint, bearer check,
routing, Graph's error body and headers on every answer).

The answers and the one listing engine every collection uses are in ``engine.py``, the
directory lookups and memberships in ``lookups.py`` (both mixins of :class:`SimCore`); the
routes themselves in ``directory.py`` (users, groups, members) and ``devices.py`` (managed
devices, mobile apps).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mdmbridge.simulation.server import BadRequest, SimRequest, SimResponse

from .auth import TokenService
from .engine import GRAPH_JSON, GraphEngine, Listing
from .lookups import DirectoryLookups, canonical_guid
from .odata import GraphError, SkipTokens, project
from .seed import IntuneSeed
from .state import Collection, OrderedIds

Record = dict[str, Any]

DEFAULT_TENANT_ID = "5b1f4b0e-7c3d-4a8e-9f21-6d2c8a4e1b37"
DEFAULT_CLIENT_ID = "3f8e2a61-94c7-4d0b-b5e2-1a7c9d3e6f40"
DEFAULT_CLIENT_SECRET = "sim8Q~intune.demo-Secret_0123456789"
DEFAULT_DOMAIN = "contoso.onmicrosoft.com"
DEFAULT_MAIL_DOMAIN = "example.se"
_TOKEN_PATH = ("oauth2", "v2.0", "token")
_FAULT_CODES = {
    400: ("BadRequest", None),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("ResourceNotFound", None),
    409: ("Conflict", None),
    429: ("TooManyRequests", "Too many requests."),
    500: ("generalException", "An unspecified error has occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Try again later."),
    504: ("GatewayTimeout", "The gateway timed out."),
}


@dataclass(frozen=True)
class DeviceAction:
    """One action POSTed to a managed device, as the simulator received it."""

    device_id: str
    action: str
    parameters: dict[str, Any]
    at: str


@dataclass(frozen=True)
class GraphWrite:
    """One Graph request that could change state (not GET/HEAD), as received: its JSON body
    (None when empty or unreadable), a password in it replaced by ``***``."""

    method: str
    path: str
    body: Any


def now_iso(*, fraction: bool = False) -> str:
    moment = datetime.now(UTC)
    if fraction:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SimCore(GraphEngine, DirectoryLookups):
    """State plus the request cycle; see the module docstring. Subclassed by the routes."""

    def __init__(
        self,
        *,
        devices: int = 0,
        seed: int = 1,
        tenant_id: str = DEFAULT_TENANT_ID,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_lifetime_s: float = 3600.0,
        domain: str = DEFAULT_DOMAIN,
        mail_domain: str = DEFAULT_MAIL_DOMAIN,
        device_page_size: int = 1000,
        directory_page_size: int = 100,
        device_patch_status: int = 200,
    ) -> None:
        if devices < 0:
            raise ValueError("devices must be >= 0")
        if device_page_size < 1 or directory_page_size < 1:
            raise ValueError("page sizes must be >= 1")
        if device_patch_status not in (200, 204):
            raise ValueError("device_patch_status must be 200 or 204")
        self.seed = seed
        self.domain = domain
        self.mail_domain = mail_domain
        self.device_page_size = device_page_size
        self.directory_page_size = min(directory_page_size, 999)
        self.device_patch_status = device_patch_status
        self.tokens = TokenService(
            tenant_id=tenant_id,
            domains=(domain, mail_domain),
            client_id=client_id,
            client_secret=client_secret,
            lifetime_s=token_lifetime_s,
        )
        self.lock = threading.RLock()
        self.seeder = IntuneSeed(seed, domain)
        self.users = Collection("users", self._make_user)
        self.groups = Collection("groups")
        self.devices = Collection("devices", self._make_device)
        self.apps = Collection("apps")
        self.members: dict[str, OrderedIds] = {}  # group id -> member ids
        self.member_of: dict[str, set[str]] = {}  # member id -> group ids
        self.passwords: dict[str, str] = {}  # user id -> sha256 of the password (never served)
        self.actions: list[DeviceAction] = []
        self.writes: list[GraphWrite] = []
        self.list_requests = 0
        self._upn_index: dict[str, str] | None = None
        self._forbidden: list[re.Pattern[str]] = []
        self._empty_pages = 0
        self._skiptokens = SkipTokens(secrets.token_bytes(32))
        self._request_id = ""
        if devices:
            self._seed_tenant(devices)

    # ------------------------------------------------------------------ test hooks

    def forbid(self, path_pattern: str) -> None:
        """Graph requests whose path matches get 403 ``Authorization_RequestDenied`` (an app
        registration without that permission)."""
        with self.lock:
            self._forbidden.append(re.compile(path_pattern))

    def serve_empty_pages(self, times: int = 1) -> None:
        """The next ``times`` list answers that have records serve an empty page instead,
        with a nextLink that resumes at the same place ("a page may contain zero results")."""
        with self.lock:
            self._empty_pages += times

    def reset_hooks(self) -> None:
        with self.lock:
            self._forbidden.clear()
            self._empty_pages = 0
            self.actions.clear()
            self.writes.clear()
            self.list_requests = 0

    # ------------------------------------------------------------------ VendorApp protocol

    def error_response(self, status: int, message: str) -> SimResponse:
        """Graph's error body, for the fault switchboard and the server's own failures."""
        code, text = _FAULT_CODES.get(status, ("UnknownError", None))
        request_id = str(uuid.uuid4())
        response = self._error_body(
            GraphError(status, code, text or message), request_id, request_id
        )
        response.headers.update(_graph_headers(request_id, request_id))
        return response

    def handle(self, request: SimRequest) -> SimResponse:
        request_id = str(uuid.uuid4())
        client_request_id = request.headers.get("client-request-id") or request_id
        segments = [part for part in request.path.strip("/").split("/")]
        if len(segments) == 4 and tuple(s.lower() for s in segments[1:]) == _TOKEN_PATH:
            return self.tokens.token_endpoint(request, segments[0])
        with self.lock:
            self._request_id = request_id
            if request.method not in {"GET", "HEAD"}:
                self.writes.append(GraphWrite(request.method, request.path, _logged(request)))
            try:
                response = self._graph(request, segments)
            except GraphError as exc:
                response = self._error_body(exc, request_id, client_request_id)
            except BadRequest:
                response = self._error_body(
                    self._unreadable_json(segments), request_id, client_request_id
                )
        response.headers.update(_graph_headers(request_id, client_request_id))
        return response

    # ------------------------------------------------------------------ routing

    def _graph(self, request: SimRequest, segments: list[str]) -> SimResponse:
        if not segments or segments[0] != "v1.0":
            version = segments[0] if segments else ""
            raise GraphError(404, "ResourceNotFound", f"Invalid version: {version}")
        self.tokens.check(request.headers.get("Authorization"))
        if any(pattern.search(request.path) for pattern in self._forbidden):
            raise GraphError(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        rest = segments[1:]
        if not rest or not rest[0]:
            raise self.segment_error("")
        head = rest[0].lower()
        if head == "users":
            return self._users(request, rest[1:])
        if head == "groups":
            return self._groups(request, rest[1:])
        if head == "devicemanagement":
            if len(rest) >= 2 and rest[1].lower() == "manageddevices":
                return self._devices(request, rest[2:])
            raise self.segment_error(rest[1] if len(rest) > 1 else rest[0])
        if head == "deviceappmanagement":
            if len(rest) >= 2 and rest[1].lower() == "mobileapps":
                return self._apps(request, rest[2:])
            raise self.segment_error(rest[1] if len(rest) > 1 else rest[0])
        raise self.segment_error(rest[0])

    def _users(self, request: SimRequest, rest: list[str]) -> SimResponse:
        raise NotImplementedError

    def _groups(self, request: SimRequest, rest: list[str]) -> SimResponse:
        raise NotImplementedError

    def _devices(self, request: SimRequest, rest: list[str]) -> SimResponse:
        raise NotImplementedError

    def _apps(self, request: SimRequest, rest: list[str]) -> SimResponse:
        raise NotImplementedError

    def _user_devices(self, request: SimRequest, user_id: str) -> SimResponse:
        raise NotImplementedError

    def _make_user(self, user_id: str, index: Any) -> Record:
        raise NotImplementedError

    def _make_device(self, device_id: str, seed: Any) -> Record:
        raise NotImplementedError

    def _seed_tenant(self, devices: int) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ errors

    @staticmethod
    def segment_error(segment: str) -> GraphError:
        return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")

    @staticmethod
    def method_not_allowed(request: SimRequest) -> GraphError:
        return GraphError(
            405,
            "BadRequest",
            f"The HTTP method '{request.method}' is not allowed on this resource.",
        )

    def _unreadable_json(self, segments: list[str]) -> GraphError:
        directory = len(segments) > 1 and segments[1].lower() in {"users", "groups"}
        return GraphError(
            400,
            "Request_BadRequest" if directory else "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format.",
        )

    @staticmethod
    def _error_body(exc: GraphError, request_id: str, client_request_id: str) -> SimResponse:
        body = {
            "error": {
                "code": exc.code,
                "message": exc.message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                },
            }
        }
        response = SimResponse.json(body, status=exc.status)
        response.content_type = "application/json"
        response.headers.update(exc.headers)
        return response


def _logged(request: SimRequest) -> Any:
    try:
        body = json.loads(request.body.decode("utf-8")) if request.body else None
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(body, dict) and isinstance(body.get("passwordProfile"), dict):
        body["passwordProfile"] = {**body["passwordProfile"], "password": "***"}
    return body


def _graph_headers(request_id: str, client_request_id: str) -> dict[str, str]:
    diagnostic = {"ServerInfo": {"DataCenter": "Sweden Central", "Slice": "E", "Ring": "3",
                                 "ScaleUnit": "000", "RoleInstance": "SIM0001"}}  # fmt: skip
    return {
        "request-id": request_id,
        "client-request-id": client_request_id,
        "x-ms-ags-diagnostic": json.dumps(diagnostic, separators=(",", ":")),
        "Strict-Transport-Security": "max-age=31536000",
        "Cache-Control": "no-cache",
    }


def project_with_type(
    record: Record, names: Mapping[str, None] | tuple[str, ...], odata_type: str
) -> Record:
    return {"@odata.type": odata_type, **project(record, names)}


__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_DOMAIN",
    "DEFAULT_MAIL_DOMAIN",
    "DEFAULT_TENANT_ID",
    "GRAPH_JSON",
    "DeviceAction",
    "GraphWrite",
    "Listing",
    "SimCore",
    "canonical_guid",
    "now_iso",
    "project_with_type",
]
