"""Bytes on the wire, counted for chunked bodies too (mdmbridge/transport/wire.py).

urllib3 counts received bytes only for a body with a Content-Length; a chunked whole-fleet
array larger than 8 MiB looked like "1 byte received" and was refused as a decompression
bomb. These run against a real loopback server sending real chunked framing."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator

import pytest

import mdmbridge
from mdmbridge.errors import MalformedResponse
from tests.fuzz_server import CHUNKED, Answer, ScriptedServer
from tests.support import DUO_PASSWORD

DEVICES = 30_000  # ~9 MiB of JSON: past the 8 MiB where the bomb rule starts to look


def _fleet() -> bytes:
    return json.dumps(
        [
            {"Id": f"{n:08d}-0000-4000-8000-000000000000", "Name": f"device {n}", "Pad": "x" * 260}
            for n in range(DEVICES)
        ]
    ).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def _client(server: ScriptedServer) -> mdmbridge.Client:
    return mdmbridge.connect(
        "duostation",
        tenant="wire",
        base_url=server.base_url,
        username="wire",
        password=DUO_PASSWORD,
        retries=0,
    )


def _answer(body: bytes, encoding: str | None) -> Answer:
    headers = [("Content-Type", "application/json")]
    if encoding is not None:
        headers.append(("Content-Encoding", encoding))
    return Answer(headers=tuple(headers), body=body, framing=CHUNKED, chunk_bytes=65536)


def _deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda b: b),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as RFC 9110 means it
        ("deflate", _deflate_raw),  # raw, as some servers send it
        ("gzip", lambda b: gzip.compress(b[: len(b) // 2]) + gzip.compress(b[len(b) // 2 :])),
    ],
    ids=["identity", "gzip", "deflate-zlib", "deflate-raw", "gzip-two-members"],
)
def test_a_large_chunked_fleet_arrives_whole(
    server: ScriptedServer, encoding: str | None, encode: Callable[[bytes], bytes]
) -> None:
    body = _fleet()
    assert len(body) > 8 * 1024 * 1024
    server.answer = _answer(encode(body), encoding)
    with _client(server) as client:
        devices = list(client.devices.list())
    assert len(devices) == DEVICES
    assert devices[-1].name == f"device {DEVICES - 1}"


def test_a_chunked_gzip_bomb_is_still_refused(server: ScriptedServer) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b"[")] + [packer.compress(b" " * 1_000_000) for _ in range(60)]
    bomb = b"".join([*parts, packer.compress(b"]"), packer.flush()])
    server.answer = _answer(bomb, "gzip")
    with _client(server) as client, pytest.raises(MalformedResponse, match="decompression bomb"):
        list(client.devices.list())


def test_a_chunked_body_in_an_unasked_encoding_is_one_clear_error(server: ScriptedServer) -> None:
    server.answer = _answer(b"[]", "br")
    with _client(server) as client, pytest.raises(MalformedResponse, match="'br'"):
        list(client.devices.list())


def test_a_cut_gzip_member_is_refused(server: ScriptedServer) -> None:
    server.answer = _answer(gzip.compress(b"[" + b"1," * 1000 + b"1]")[:-12], "gzip")
    with _client(server) as client, pytest.raises(MalformedResponse):
        list(client.devices.list())
