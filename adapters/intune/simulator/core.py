"""The simulator's frame: state, the request cycle (token endpoint, bearer check, routing,
Graph's error body and headers on every answer) and the one listing engine every
collection uses (``$filter``, ``$select``, ``$top``, ``$orderby``, ``$count``,
``@odata.nextLink`` with an opaque ``$skiptoken``).

The routes themselves are in ``directory.py`` (users, groups, members) and ``devices.py``
(managed devices, mobile apps).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mdmbridge.simulation.faults import FaultKind
from mdmbridge.simulation.server import BadRequest, SimRequest, SimResponse

from .auth import TokenService
from .odata import (
    DIRECTORY,
    Cursor,
    GraphError,
    Resource,
    SkipTokens,
    check_filter,
    matches,
    parse_filter,
    parse_orderby,
    parse_select,
    parse_top,
    project,
    query_fingerprint,
    sort_key,
)
from .seed import IntuneSeed
from .state import Collection, OrderedIds

Record = dict[str, Any]

DEFAULT_TENANT_ID = "5b1f4b0e-7c3d-4a8e-9f21-6d2c8a4e1b37"
DEFAULT_CLIENT_ID = "3f8e2a61-94c7-4d0b-b5e2-1a7c9d3e6f40"
DEFAULT_CLIENT_SECRET = "sim8Q~intune.demo-Secret_0123456789"
DEFAULT_DOMAIN = "contoso.onmicrosoft.com"
DEFAULT_MAIL_DOMAIN = "example.se"

GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
_OPTIONS = frozenset(
    {
        "filter",
        "select",
        "top",
        "count",
        "orderby",
        "skiptoken",
        "skip",
        "search",
        "expand",
        "format",
    }
)
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


@dataclass(frozen=True)
class Listing:
    """How one collection is listed: where its records come from and how they look."""

    key: str  # binds skiptokens to this collection
    resource: Resource
    context: str  # "users", "deviceManagement/managedDevices", "directoryObjects", ...
    iterate: Callable[[int], Iterator[tuple[int, Record]]]
    serialize: Callable[[Record, tuple[str, ...] | None], Record]
    page_default: int
    page_max: int
    extra: Callable[[Record], bool] | None = None


def now_iso(*, fraction: bool = False) -> str:
    moment = datetime.now(UTC)
    if fraction:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_guid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


class SimCore:
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

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def base_url(request: SimRequest) -> str:
        host = request.headers.get("Host")
        return f"http://{host}" if host else "https://graph.microsoft.com"

    def context(self, request: SimRequest, path: str, select: tuple[str, ...] | None = None) -> str:
        suffix = f"({','.join(select)})" if select else ""
        if path.endswith("/$entity"):
            path = path[: -len("/$entity")] + suffix + "/$entity"
        else:
            path += suffix
        return f"{self.base_url(request)}/v1.0/$metadata#{path}"

    @staticmethod
    def json_answer(payload: Any, status: int = 200) -> SimResponse:
        response = SimResponse.json(payload, status=status)
        response.content_type = GRAPH_JSON
        return response

    @staticmethod
    def no_content() -> SimResponse:
        return SimResponse(status=204, body=b"", content_type="")

    @staticmethod
    def read_body(request: SimRequest, resource: Resource) -> dict[str, Any]:
        """A JSON object body; ``BadRequest`` (from ``SimRequest.json``) for invalid JSON."""
        if request.body and request.content_type not in {"application/json", ""}:
            raise resource.bad_request(
                "Unable to read JSON request payload. Please ensure Content-Type header is set "
                "and payload is of valid JSON format."
            )
        payload = request.json()
        if payload is None:
            return {}
        if not isinstance(payload, dict):
            raise resource.bad_request("The request body must be a JSON object.")
        return payload

    @staticmethod
    def option(request: SimRequest, name: str) -> str | None:
        """``$name`` (or, as v1.0 also accepts, ``name``)."""
        value = request.arg("$" + name)
        return value if value is not None else request.arg(name)

    @staticmethod
    def consistency_eventual(request: SimRequest) -> bool:
        return (request.headers.get("ConsistencyLevel") or "").strip().lower() == "eventual"

    def count_flag(self, request: SimRequest, resource: Resource) -> bool:
        raw = self.option(request, "count")
        if raw is None:
            return False
        if raw.lower() not in {"true", "false"}:
            raise resource.bad_request(f"Invalid value '{raw}' for query option '$count'.")
        return raw.lower() == "true"

    def check_options(
        self, request: SimRequest, resource: Resource, *, allow: frozenset[str]
    ) -> None:
        """Refuse ``$`` options this endpoint does not take, and the ones not simulated."""
        for key in request.query:
            if not key.startswith("$"):
                continue
            name = key[1:].lower()
            if name not in _OPTIONS:
                raise resource.bad_request(f"Query option '{key}' is not allowed.")
            if name == "search":
                if resource.dialect == DIRECTORY and not self.consistency_eventual(request):
                    raise resource.unsupported(
                        "Request with $search query parameter only works through MSGraph with a "
                        "special request header: 'ConsistencyLevel: eventual'"
                    )
                raise resource.unsupported("$search is not part of the simulated Graph subset.")
            if name == "expand":
                raise resource.unsupported("$expand is not part of the simulated Graph subset.")
            if name == "skip" and resource.dialect == DIRECTORY:
                raise resource.bad_request("'$skip' is not supported by the service.")
            if name not in allow:
                raise resource.bad_request(f"Query option '{key}' is not allowed here.")

    # ------------------------------------------------------------------ the listing engine

    def list_page(self, request: SimRequest, listing: Listing) -> SimResponse:
        resource = listing.resource
        self.check_options(
            request,
            resource,
            allow=frozenset(
                {"filter", "select", "top", "count", "orderby", "skiptoken", "skip", "format"}
            ),
        )
        count = self.count_flag(request, resource)
        eventual = self.consistency_eventual(request)
        directory = resource.dialect == DIRECTORY
        advanced = directory and count and eventual
        # Directory: "silently ignores the $count query parameter" without the header.
        count_served = count and (eventual or not directory)
        node = None
        filter_text = self.option(request, "filter")
        if filter_text is not None:
            node = parse_filter(filter_text, resource)
            check_filter(node, resource, advanced=advanced)
        orderby = parse_orderby(self.option(request, "orderby"), resource)
        if directory and orderby is not None and node is not None and not advanced:
            raise resource.unsupported("Sorting not supported for current query.")
        select = parse_select(self.option(request, "select"), resource)
        top = parse_top(
            self.option(request, "top"),
            resource,
            default=listing.page_default,
            maximum=listing.page_max,
        )
        skip = 0
        skip_text = self.option(request, "skip")
        if skip_text is not None:
            if not skip_text.isascii() or not skip_text.isdigit():
                raise resource.bad_request(f"Invalid value '{skip_text}' for query option '$skip'.")
            skip = int(skip_text)
        fingerprint = query_fingerprint(request.query)
        cursor: Cursor | None = None
        token = self.option(request, "skiptoken")
        if token is not None:
            cursor = self._skiptokens.decode(token, resource)
            if cursor.collection != listing.key or cursor.query != fingerprint:
                raise resource.bad_request(f"The $skiptoken '{token[:40]}' is invalid.")

        def wanted(record: Record) -> bool:
            if listing.extra is not None and not listing.extra(record):
                return False
            return node is None or matches(node, record)

        page: list[Record] = []
        next_position: int | None = None
        total: int | None = None
        if orderby is not None:
            everything = [record for _, record in listing.iterate(0) if wanted(record)]
            everything.sort(key=sort_key(orderby[0]), reverse=orderby[1])
            offset = cursor.position if cursor is not None else skip
            page = everything[offset : offset + top]
            if offset + top < len(everything):
                next_position = offset + top
            total = len(everything)
            resume_at = offset
        else:
            resume_at = cursor.position if cursor is not None else 0
            to_skip = 0 if cursor is not None else skip
            for position, record in listing.iterate(resume_at):
                if not wanted(record):
                    continue
                if to_skip:
                    to_skip -= 1
                    continue
                if len(page) == top:
                    next_position = position
                    break
                page.append(record)
            if count_served and cursor is None:
                total = sum(1 for _, record in listing.iterate(0) if wanted(record))
        if page and self._empty_pages > 0:
            self._empty_pages -= 1
            page, next_position = [], resume_at
        self.list_requests += 1
        values = [listing.serialize(record, select) for record in page]
        if len(values) > 1 and request.faults.take(FaultKind.DUPLICATE):
            values[-1] = values[0]
        body: dict[str, Any] = {"@odata.context": self.context(request, listing.context, select)}
        if count_served and cursor is None and total is not None:
            body["@odata.count"] = total
        next_link = None
        if next_position is not None:
            next_link = self._next_link(
                request, Cursor(listing.key, next_position, fingerprint), drop_skip=True
            )
        if directory and next_link:
            body["@odata.nextLink"] = next_link
        body["value"] = values
        if not directory and next_link:
            body["@odata.nextLink"] = next_link
        return self.json_answer(body)

    def count_segment(self, request: SimRequest, listing: Listing) -> SimResponse:
        """``GET …/$count``: digits as text/plain; directory objects need ConsistencyLevel."""
        resource = listing.resource
        self.check_options(request, resource, allow=frozenset({"filter"}))
        if resource.dialect == DIRECTORY and not self.consistency_eventual(request):
            raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
        node = None
        filter_text = self.option(request, "filter")
        if filter_text is not None:
            node = parse_filter(filter_text, resource)
            check_filter(node, resource, advanced=True)
        total = 0
        for _, record in listing.iterate(0):
            if listing.extra is not None and not listing.extra(record):
                continue
            if node is None or matches(node, record):
                total += 1
        return SimResponse(
            status=200, body=str(total).encode(), content_type="text/plain; charset=utf-8"
        )

    def _next_link(self, request: SimRequest, cursor: Cursor, *, drop_skip: bool) -> str:
        """The request's own URL with every option kept and a fresh opaque ``$skiptoken``."""
        pairs: list[tuple[str, str]] = []
        for key, values in request.query.items():
            name = key.lstrip("$").lower()
            if name == "skiptoken" or (drop_skip and name == "skip"):
                continue
            pairs.extend((key, value) for value in values)
        pairs.append(("$skiptoken", self._skiptokens.encode(cursor)))
        query = urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote, safe="$'(),")
        return f"{self.base_url(request)}{request.raw_path}?{query}"

    # ------------------------------------------------------------------ lookups

    def user_by_key(self, key: str) -> Record | None:
        """A user by id or by ``userPrincipalName`` (case-insensitive), as Graph allows."""
        guid = canonical_guid(key)
        if guid is not None:
            return self.users.get(guid)
        user_id = self.upn_index().get(key.lower())
        return None if user_id is None else self.users.get(user_id)

    def upn_index(self) -> dict[str, str]:
        """``userPrincipalName`` (lower case) -> id, built on first use (it materialises the
        seeded users once), kept current by creates, updates and deletes afterwards."""
        if self._upn_index is None:
            self._upn_index = {
                str(record["userPrincipalName"]).lower(): str(record["id"])
                for record in self.users.all()
            }
        return self._upn_index

    def directory_object(self, object_id: str) -> tuple[str, Record] | None:
        guid = canonical_guid(object_id)
        if guid is None:
            return None
        user = self.users.get(guid)
        if user is not None:
            return "user", user
        group = self.groups.get(guid)
        if group is not None:
            return "group", group
        return None

    def add_member(self, group_id: str, member_id: str) -> bool:
        ids = self.members.setdefault(group_id, OrderedIds())
        if member_id in ids:
            return False
        ids.add(member_id)
        self.member_of.setdefault(member_id, set()).add(group_id)
        return True

    def remove_member(self, group_id: str, member_id: str) -> bool:
        ids = self.members.get(group_id)
        if ids is None or not ids.remove(member_id):
            return False
        self.member_of.get(member_id, set()).discard(group_id)
        return True

    def forget_object(self, object_id: str) -> None:
        """Drop every membership held by, or in, a deleted directory object."""
        for group_id in list(self.member_of.pop(object_id, set())):
            ids = self.members.get(group_id)
            if ids is not None:
                ids.remove(object_id)
        for member_id in self.members.pop(object_id, OrderedIds()):
            self.member_of.get(member_id, set()).discard(object_id)

    # ------------------------------------------------------------------ read-only views

    def group_ids_of(self, member_id: str) -> list[str]:
        with self.lock:
            return sorted(self.member_of.get(member_id, set()))

    def member_ids(self, group_id: str) -> list[str]:
        with self.lock:
            return list(self.members.get(group_id, OrderedIds()))


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
