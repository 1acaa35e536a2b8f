"""The items of a spooled JSON array (``array_batches``), decoded a megabyte at a time at C speed.

A vendor without paging (DuoSTATION) answers a whole fleet as one array; the transport
spools it to disk at socket speed (``Reader.spool_array``, which also refuses a body nested
too deep), and this reads it back. Parsing item by item with an event parser (ijson) costs
~3.7 µs a device; decoding a whole megabyte of items in one msgspec call costs under one,
and memory stays bounded by the chunk, not the fleet.

How a chunk is cut: the last ``},`` in it whose ``}`` closes a top-level item (see
:func:`_cut` for how that is known). The text up to it is a run of whole
items, decoded as one array; what follows waits for the next chunk. An item larger than
``max_item`` bytes, or a body with no usable cut, is refused rather than read into memory
whole. At the end of the body the rest is decoded as it stands, so any malformed JSON is
reported by the same parser, with the same words, as any other body
(:func:`~mdmbridge.transport.body.parse_json_bytes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from mdmbridge.transport.body import (
    FAST_DECODER,
    FAST_REFUSED,
    BodyError,
    DepthGuard,
    parse_json_bytes,
)

CHUNK_BYTES = 1 << 20
MAX_ITEM_BYTES = 64 << 20
_TRIES = 8  # candidate cuts tried in one buffer before reading more
_CUT = re.compile(rb"\}[ \t\r\n]*,")


def array_batches(
    spool: IO[bytes], *, chunk: int = CHUNK_BYTES, max_item: int = MAX_ITEM_BYTES
) -> Iterator[list[Any]]:
    """Every item of the JSON array in ``spool`` (positioned at its start), in order, a
    chunk's items at a time: one generator step per chunk, not per item. A ``BodyError``
    names what is wrong with the array; the items before a malformed part come first."""
    buffer = b""
    while not buffer:  # skip leading whitespace, however the chunks fall
        more = spool.read(chunk)
        if not more:
            break
        buffer = more.lstrip()
    if buffer[:1] != b"[":
        raise BodyError("not a JSON array")
    buffer = buffer[1:]
    at_end = False
    while True:
        if not at_end and len(buffer) < chunk:
            more = spool.read(chunk)
            at_end = not more
            buffer += more
        if at_end:
            items = parse_json_bytes(b"[" + buffer)
            if not isinstance(items, list):  # pragma: no cover - "[" makes it a list
                raise BodyError("not a JSON array")
            yield items
            return
        cut = _cut(buffer)
        if cut is not None:
            yield cut[0]
            buffer = buffer[cut[1] :]
        else:
            if len(buffer) > max_item:
                raise BodyError(
                    f"an item over {max_item >> 20} MiB, or the array is not valid JSON"
                )
            more = spool.read(chunk)  # no whole item yet: read on
            at_end = not more
            buffer += more


def _cut(buffer: bytes) -> tuple[list[Any], int] | None:
    """(the whole top-level items before the last usable ``},``, where the rest starts), or
    None. Each candidate is decoded at once: a decode that succeeds proves the cut was at
    the top level (a cut inside a string or a nested value cannot make a valid array), so
    the bracket count is paid only when a decode fails, to tell a cut in the wrong place
    (try an earlier one) from a malformed or msgspec-refused body (the stdlib decides)."""
    candidates = [m.span() for m in _CUT.finditer(buffer, max(0, len(buffer) - (1 << 16)))]
    if not candidates:
        candidates = [m.span() for m in _CUT.finditer(buffer)]
    for start, stop in reversed(candidates[-_TRIES:]):
        whole = b"[" + buffer[: start + 1] + b"]"
        try:
            return FAST_DECODER.decode(whole), stop
        except FAST_REFUSED:
            pass
        guard = DepthGuard(limit=1 << 30)  # depth was checked while spooling
        guard.feed(buffer[: start + 1])
        if guard.depth == 0 and not guard.in_string:
            return parse_json_bytes(whole), stop
    return None
