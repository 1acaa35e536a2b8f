"""What every answer of the simulated Graph is checked against: a :class:`Resource` (one
entity type, its properties and its error dialect) and :class:`GraphError`, the error
answer. The dialects are described in ``odata.py``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]

DIRECTORY = "directory"
INTUNE = "intune"

ADVANCED_HINT = (
    "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
    "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
)


class GraphError(Exception):
    """An error answer: ``{"error": {"code", "message", "innerError"}}`` with ``status``."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def intune_message(text: str, activity_id: str, url: str) -> str:
    """Intune's error ``message``: a JSON document as text, CRLF-indented, as observed."""
    inner = {
        "_version": 3,
        "Message": (
            f"{text} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000"
            f" - Activity ID: {activity_id} - Url: {url}"
        ),
        "CustomApiErrorPhrase": "",
        "RetryAfter": None,
        "ErrorSourceService": "",
        "HttpHeaders": "{}",
    }
    return json.dumps(inner, indent=2).replace("\n", "\r\n")


@dataclass(frozen=True)
class Resource:
    """What the simulator knows of one entity type, for query checks and errors."""

    name: str  # "user", "group", "managedDevice", "mobileApp", "directoryObject"
    label: str  # the directory's resource name in messages: "User", "Group"
    dialect: str
    properties: frozenset[str]
    # property -> operators usable without advanced query parameters
    default_filter: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # property -> operators usable only with ConsistencyLevel: eventual and $count=true
    advanced_filter: Mapping[str, frozenset[str]] = field(default_factory=dict)
    orderable: frozenset[str] = frozenset()

    @property
    def odata_type(self) -> str:
        return f"microsoft.graph.{self.name}"

    def bad_request(self, message: str) -> GraphError:
        code = "Request_BadRequest" if self.dialect == DIRECTORY else "BadRequest"
        return GraphError(400, code, message)

    def unsupported(self, message: str) -> GraphError:
        code = "Request_UnsupportedQuery" if self.dialect == DIRECTORY else "BadRequest"
        return GraphError(400, code, message)

    def unknown_property(self, name: str) -> GraphError:
        return self.bad_request(
            f"Could not find a property named '{name}' on type '{self.odata_type}'."
        )
