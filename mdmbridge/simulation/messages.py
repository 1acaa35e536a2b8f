"""The request and response objects a vendor app sees, and the app's protocol.

They live apart from ``server.py`` so the fault writer (``fault_writer.py``) can build
answers without importing the server that imports it. ``server.py`` re-exports every name,
so ``from mdmbridge.simulation.server import SimRequest`` keeps working.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Protocol

from mdmbridge.simulation.faults import RequestFaults

__all__ = ["BadRequest", "SimRequest", "SimResponse", "VendorApp"]


class BadRequest(Exception):
    """Raised by request helpers when the client sent something unparseable."""


@dataclass
class SimRequest:
    method: str
    path: str  # percent-decoded path, without the query string
    raw_path: str  # as sent, for logging and exact-match tests
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    # Shaping faults (duplicate, ignore_page) offered to the app for this request; only the
    # app knows what a list or a page is, so it applies them (``faults.take(kind)``).
    faults: RequestFaults = field(default_factory=RequestFaults)

    def arg(self, name: str) -> str | None:
        """First value of a query parameter, matched case-insensitively."""
        lowered = name.lower()
        for key, values in self.query.items():
            if key.lower() == lowered and values:
                return values[0]
        return None

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"body is not valid JSON: {exc}") from exc

    def form(self) -> dict[str, str]:
        """Form-encoded body; the last value wins for repeated keys, as in most servers."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("form body is not UTF-8") from exc
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


@dataclass
class SimResponse:
    status: int = 200
    body: bytes | None = None
    chunks: Iterable[bytes] | None = None  # streamed with chunked transfer encoding
    content_type: str = "application/json; charset=utf-8"  # "" sends no Content-Type
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, *, compact: bool = True) -> SimResponse:
        separators = (",", ":") if compact else (", ", ": ")
        text = json.dumps(payload, ensure_ascii=False, separators=separators)
        return cls(status=status, body=text.encode("utf-8"))


class VendorApp(Protocol):
    """What a vendor simulator supplies: its routes and the shape of its error answers."""

    def handle(self, request: SimRequest) -> SimResponse: ...

    def error_response(self, status: int, message: str) -> SimResponse: ...
