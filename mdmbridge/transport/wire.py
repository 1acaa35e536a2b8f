"""A body's bytes as they arrive, and how many came over the wire (undecoded).

The decompression-bomb rule and the streamed deadline both need the bytes *received*,
not the bytes decoded. urllib3's ``tell()`` counts them for a body with a Content-Length
but stays at 0 for a chunked one, so a chunked whole-fleet array (DuoSTATION streams
those) looked like "1 byte received, 200x inflated" and was refused. For a chunked body
the raw chunks are therefore read undecoded, counted, and decoded here; the encodings are
the ones the transport asks for (``Accept-Encoding: gzip, deflate``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import urllib3.exceptions
from urllib3 import BaseHTTPResponse as Response

IDENTITY = frozenset({"", "identity"})
DECODABLE = frozenset({"gzip", "x-gzip", "deflate"})


class WireStream:
    """Iterate the decoded body; ``wire`` is the bytes received so far."""

    def __init__(self, response: Response, chunk_bytes: int) -> None:
        self.response = response
        self.chunk_bytes = chunk_bytes
        self.wire = 0
        header = response.headers.get("Content-Encoding", "")
        self.encodings = [e.strip().lower() for e in header.split(",") if e.strip()]

    @property
    def encoded(self) -> bool:
        return any(e not in IDENTITY for e in self.encodings)

    def __iter__(self) -> Iterator[bytes]:
        if not getattr(self.response, "chunked", False):
            for chunk in self.response.stream(self.chunk_bytes, decode_content=True):
                self.wire = int(self.response.tell())
                yield chunk
            return
        decoders = [_Decoder(e) for e in reversed(self.encodings) if e not in IDENTITY]
        for raw in self.response.stream(self.chunk_bytes, decode_content=False):
            self.wire += len(raw)
            data = raw
            for decoder in decoders:
                data = decoder.feed(data)
            if data:
                yield data
        for position, decoder in enumerate(decoders):
            tail = decoder.flush()
            for later in decoders[position + 1 :]:
                tail = later.feed(tail)
            if tail:
                yield tail


class _Decoder:
    """gzip (every member) or deflate (zlib-wrapped, else raw, as urllib3 decodes it)."""

    def __init__(self, encoding: str) -> None:
        if encoding not in DECODABLE:
            raise urllib3.exceptions.DecodeError(f"unsupported Content-Encoding {encoding!r}")
        self.gzip = encoding != "deflate"
        self.first = True
        self.fed = False
        self.held = b""
        self._inflater = self._new()

    def _new(self) -> zlib._Decompress:
        return zlib.decompressobj(16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        try:
            return self._feed(data)
        except zlib.error as exc:
            raise urllib3.exceptions.DecodeError(str(exc)) from None

    def _feed(self, data: bytes) -> bytes:
        self.fed = self.fed or bool(data)
        if not self.gzip and self.first:
            self.held += data
            try:
                out = self._new().decompress(self.held)  # a probe: zlib-wrapped or raw?
            except zlib.error:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            else:
                del out
            self.first = False
            data, self.held = self.held, b""
        out = self._inflater.decompress(data)
        while self.gzip and self._inflater.eof and self._inflater.unused_data:
            rest = self._inflater.unused_data  # another gzip member follows
            self._inflater = self._new()
            out += self._inflater.decompress(rest)
        return out

    def flush(self) -> bytes:
        try:
            tail = self._inflater.flush()
        except zlib.error as exc:
            raise urllib3.exceptions.DecodeError(str(exc)) from None
        if self.gzip and self.fed and not self._inflater.eof:
            raise urllib3.exceptions.DecodeError("the gzip body ends before its end marker")
        return tail
