"""How the simulated Graph answers: its JSON and no-content answers, the ``$`` options each
endpoint takes, and the one listing engine every collection uses (``$filter``,
``$select``, ``$top``, ``$orderby``, ``$count``, ``@odata.nextLink`` with an opaque
``$skiptoken``). A mixin of :class:`~.core.SimCore`, which holds the state it reads."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mdmbridge.simulation.faults import FaultKind
from mdmbridge.simulation.server import SimRequest, SimResponse

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
    query_fingerprint,
    sort_key,
)

Record = dict[str, Any]

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


class GraphEngine:
    """The answers and the listing engine; the state is :class:`~.core.SimCore`'s."""

    _skiptokens: SkipTokens
    _empty_pages: int
    list_requests: int

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
