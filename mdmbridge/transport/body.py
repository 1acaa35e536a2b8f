"""Reading a vendor's body safely: size, charset, byte-order mark, nesting depth, JSON.

Every way a body can hurt the client ends here in a :class:`BodyError` (the transport turns
it into ``MalformedResponse`` with its request context), never in a raw exception:

* **Nesting depth** is checked on the raw bytes as they arrive (:class:`DepthGuard`), before
  any parser builds anything: a 200 KB body of 100,000 nested arrays costs a streaming
  parser memory in the square of its depth, and the stdlib parser a RecursionError.
  ``MAX_JSON_DEPTH`` is 64: MDM records nest four or five levels (record, list, object,
  list); Microsoft Graph's deepest documented payloads stay under ten. Anything past 64 is
  not a record anyone sends, so it is refused whatever its size.
* **Charset**: JSON is UTF-8 (RFC 8259 §8.1). A declared charset Python knows is honoured;
  one it does not know (``charset=x-bogus``) is ignored and the body read as UTF-8: the
  header is wrong, the body usually is not. Bytes that are not valid in the charset are an
  error, never silently replaced, so a name is never stored mangled.
* A UTF-8 **byte-order mark** before the JSON is skipped (some .NET servers send one).
* **Numbers**: ``NaN``/``Infinity`` literals are not JSON and are refused; an integer
  literal beyond Python's digit limit is refused here too. ``1e400`` decodes to ``inf``
  and is left to the mapping layer, which refuses non-finite values per field.
"""

from __future__ import annotations

import codecs
import itertools
import json
import re
from typing import Any

import msgspec

MAX_JSON_DEPTH = 64
UTF8_BOM = codecs.BOM_UTF8

_KEEP = b'"[]{}'
_DELETE = bytes(b for b in range(256) if b not in _KEEP)
_DELTA = [0] * 256
_DELTA[ord("[")] = _DELTA[ord("{")] = 1
_DELTA[ord("]")] = _DELTA[ord("}")] = -1
_STRING = re.compile(rb'"[^"]*"')


class BodyError(Exception):
    """A body that cannot be read as the JSON it claims to be; ``str`` is the reason."""


class DepthGuard:
    """Tracks the bracket depth of a JSON byte stream fed in chunks, at C speed.

    Per chunk: escaped backslashes and quotes are removed (``\\\\`` then ``\\"``), every byte
    but ``"[]{}`` is deleted, strings are dropped (``""`` pairs, then the rare string that
    held a bracket), and what remains is only structure, whose running depth is summed.
    A string or an escape cut by a chunk boundary is carried into the next chunk. On
    invalid JSON the count may differ from a parser's, but only after the point where the
    parser fails anyway.
    """

    def __init__(self, limit: int = MAX_JSON_DEPTH) -> None:
        self.limit = limit
        self._depth = 0
        self._in_string = False
        self._escape = False

    @property
    def depth(self) -> int:
        """Brackets open after what was fed (outside strings)."""
        return self._depth

    @property
    def in_string(self) -> bool:
        """Whether what was fed ends inside a string (or an escape)."""
        return self._in_string or self._escape

    def feed(self, chunk: bytes) -> None:
        if self._escape and chunk:
            chunk = chunk[1:]
            self._escape = False
        if b"\\" in chunk:  # one memchr scan; most bodies hold no escape at all
            chunk = chunk.replace(b"\\\\", b"").replace(b'\\"', b"")
            if chunk.endswith(b"\\"):
                self._escape = True
                chunk = chunk[:-1]
        structure = chunk.translate(None, _DELETE)
        if self._in_string:
            structure = b'"' + structure
        self._in_string = False
        if b'"' in structure:
            structure = structure.replace(b'""', b"")
            if b'"' in structure:
                structure = _STRING.sub(b"", structure)
                quote = structure.find(b'"')
                if quote >= 0:  # a string still open at the end of this chunk
                    self._in_string = True
                    structure = structure[:quote]
        if not structure:
            return
        # Streamed, never a list: a body of a million brackets must not cost a million ints.
        steps = map(_DELTA.__getitem__, structure)
        if max(itertools.accumulate(steps, initial=self._depth)) > self.limit:
            raise BodyError(f"JSON nested deeper than {self.limit} levels")
        opened = structure.count(b"[") + structure.count(b"{")
        self._depth += opened - (len(structure) - opened)


def check_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    DepthGuard(limit).feed(body)


def known_charset(content_type: str) -> str | None:
    """The charset a Content-Type declares, if Python has a codec for it; else None."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip('"').strip("'")
            try:
                return codecs.lookup(name).name
            except (LookupError, ValueError):
                return None
    return None


def body_text(body: bytes, content_type: str, *, strict: bool) -> str:
    """The body as text. ``strict`` (success bodies): invalid bytes are a BodyError;
    otherwise (error bodies, read only for their message) they are replaced."""
    charset = known_charset(content_type) or "utf-8"
    if body.startswith(UTF8_BOM) and charset in ("utf-8", "ascii"):
        body = body[len(UTF8_BOM) :]
        charset = "utf-8"
    try:
        return body.decode(charset, errors="strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        bad = body[exc.start : exc.start + 1]
        raise BodyError(f"the body is not valid {charset} (byte {exc.start}: {bad!r})") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode_json(body: bytes, content_type: str) -> tuple[Any, str]:
    """A success body -> (data, text); data is None for an empty body. Every failure is a
    BodyError; depth is checked on the bytes before anything is parsed."""
    text = body_text(body, content_type, strict=True)
    if not text.strip():
        return None, text
    charset = known_charset(content_type) or "utf-8"
    ascii_compatible = codecs.lookup(charset).name not in _WIDE_CODECS
    check_depth(body if ascii_compatible else text.encode("utf-8", errors="surrogatepass"))
    return parse_json(text), text


_WIDE_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})


FAST_DECODER = msgspec.json.Decoder()  # what it refuses, the stdlib parser decides
FAST_REFUSED = (msgspec.DecodeError, msgspec.ValidationError, UnicodeError)


def parse_json_bytes(body: bytes) -> Any:
    """:func:`parse_json` of UTF-8 bytes, without making the text first when msgspec takes
    them (the spooled array's chunks: ``transport.array_items``)."""
    try:
        return FAST_DECODER.decode(body)
    except FAST_REFUSED:
        pass
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"not valid UTF-8 at byte {exc.start}") from None
    return _parse_stdlib(text)


def parse_json(text: str) -> Any:
    """JSON text -> data, every failure a BodyError (depth already checked by the caller).

    msgspec decodes first: a third less CPU than the stdlib parser on a page of devices
    (3.6 -> 2.4 µs a device, benchmarks/decode.py), and the same data for every document
    it accepts (tests/test_fast_path.py). What it
    refuses (``1e400``, which the stdlib reads as ``inf``; lone surrogates; integers past
    its range; anything malformed) is decided by the stdlib parser, so the result and the
    error text stay exactly those of :func:`json.loads`."""
    try:
        return FAST_DECODER.decode(text)
    except FAST_REFUSED:
        return _parse_stdlib(text)


def _parse_stdlib(text: str) -> Any:
    """What msgspec refused, decided by the stdlib parser (its data, its words)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BodyError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError, OverflowError) as exc:
        reason = str(exc).split(";")[0][:120]
        raise BodyError(f"not valid JSON: {reason}") from None
