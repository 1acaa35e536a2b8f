"""What a DuoSTATION route answers: an error (raised as :class:`Refused`), an empty 200, a
new id in the configured shape, or a JSON array.

Kept apart from the routes so every route answers the same way, and the ``duplicate``
fault reaches every listing through the one function that sends them.
"""

from __future__ import annotations

from typing import Any

from mdmbridge.simulation.faults import FaultKind
from mdmbridge.simulation.server import SimRequest, SimResponse, iter_json_array

from .table import SeededTable

ID_SHAPES = ("number", "string", "object")
STREAM_THRESHOLD = 2000  # arrays longer than this are streamed, not built in memory


class Refused(Exception):
    """An answer other than 200, raised anywhere below ``handle``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad(message: str) -> Refused:
    """A 400 with ``message``: the request itself is wrong."""
    return Refused(400, message)


def empty() -> SimResponse:
    """The vendor's answer to updates, deletes and commands: 200 with no body."""
    return SimResponse(status=200, body=b"")


def created(new_id: int, id_shape: str) -> SimResponse:
    """A create's answer: the new id as ``123``, ``"123"`` or ``{"Id": 123}`` (``id_shape``)."""
    if id_shape == "string":
        return SimResponse.json(str(new_id))
    if id_shape == "object":
        return SimResponse.json({"Id": new_id})
    return SimResponse.json(new_id)


def table_listing(request: SimRequest, table: SeededTable[Any]) -> SimResponse:
    """A whole table as a JSON array, encoded (and cached) chunk by chunk rather than built
    as a list: DuoSTATION does not page, so this is a whole fleet's answer. Small ones go
    out with a Content-Length, as :func:`listing` would send them, byte for byte."""
    if len(table) and any(rule.kind is FaultKind.DUPLICATE for rule in request.faults.offered):
        return listing(request, [dict(record) for record in table.records()])
    if len(table) > STREAM_THRESHOLD:
        return SimResponse(chunks=table.encoded_chunks())
    return SimResponse(body=b"".join(table.encoded_chunks()))


def listing(request: SimRequest, items: list[dict[str, Any]]) -> SimResponse:
    """A JSON array; large ones are streamed (``items`` must already be copies).

    Every list endpoint answers through here, so the ``duplicate`` fault applies to all
    of them: the first record is sent again right after itself (byte-identical).
    ``ignore_page`` never applies: DuoSTATION does not page.
    """
    if items and request.faults.take(FaultKind.DUPLICATE):
        items = [items[0], *items]
    if len(items) > STREAM_THRESHOLD:
        return SimResponse(chunks=iter_json_array(items))
    return SimResponse.json(items)
