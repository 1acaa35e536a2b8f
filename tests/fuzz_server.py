"""A tiny scripted HTTP server on loopback, for fuzzing the client and for playing "another
origin" in the fault matrix.

Unlike the vendor simulators it knows no API: every request gets the current
:class:`Answer` (or what a callable makes of the request), written byte for byte, so a test
can send anything a broken server or proxy could: a wrong Content-Length, a body that is
not what its Content-Encoding says, headers in any order. It records every request it
receives (``requests``), which is how a test proves that nothing reached it.

Each answer closes the connection (``Connection: close``), so a body shorter than its
declared length ends at once in a cut-off read instead of a wait for bytes that never come.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# How the body is framed on the wire.
LENGTH = "length"  # a correct Content-Length
LONG_LENGTH = "long-length"  # a Content-Length larger than the body (a cut-off answer)
CHUNKED = "chunked"  # chunked transfer encoding, in chunks of ``chunk_bytes``
CLOSE = "close"  # no length at all: the body ends when the connection closes
FRAMINGS = (LENGTH, LONG_LENGTH, CHUNKED, CLOSE)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    body: bytes = b""
    framing: str = LENGTH
    chunk_bytes: int = 4096
    delay_per_chunk_s: float = 0.0  # > 0: a slow server, one chunk at a time


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[Received], Answer]


@dataclass
class _State:
    answer: Answer | Responder = field(default_factory=Answer)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = Received(self.command, self.path, dict(self.headers.items()), body)
        with state.lock:
            state.received.append(received)
            answer = state.answer
        if callable(answer):
            answer = answer(received)
        self.close_connection = True
        # The client may hang up first: normal when it refuses an answer early.
        with contextlib.suppress(ConnectionError, TimeoutError, OSError):
            self._write(answer)

    def _write(self, answer: Answer) -> None:
        head = [f"HTTP/1.1 {answer.status} Fuzz\r\n"]
        for name, value in answer.headers:
            head.append(f"{name}: {value}\r\n")
        if answer.framing == LENGTH:
            head.append(f"Content-Length: {len(answer.body)}\r\n")
        elif answer.framing == LONG_LENGTH:
            head.append(f"Content-Length: {len(answer.body) + 10}\r\n")
        elif answer.framing == CHUNKED:
            head.append("Transfer-Encoding: chunked\r\n")
        head.append("Connection: close\r\n\r\n")
        self.wfile.write("".join(head).encode("latin-1", errors="replace"))
        for piece in self._pieces(answer):
            if answer.delay_per_chunk_s:
                time.sleep(answer.delay_per_chunk_s)
            if answer.framing == CHUNKED:
                piece = b"%x\r\n%s\r\n" % (len(piece), piece)
            self.wfile.write(piece)
        if answer.framing == CHUNKED:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if answer.framing in (LONG_LENGTH, CLOSE):
            self.connection.shutdown(socket.SHUT_WR)

    @staticmethod
    def _pieces(answer: Answer) -> Iterator[bytes]:
        size = max(1, answer.chunk_bytes)
        for start in range(0, len(answer.body), size):
            yield answer.body[start : start + size]

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: _State

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a fuzzed exchange may end any way; the client's side is what is tested


class ScriptedServer:
    """``with ScriptedServer() as server: server.answer = Answer(...); ... server.base_url``."""

    def __init__(self) -> None:
        self._state = _State()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self._state
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def answer(self) -> Answer | Responder:
        with self._state.lock:
            return self._state.answer

    @answer.setter
    def answer(self, value: Answer | Responder) -> None:
        with self._state.lock:
            self._state.answer = value

    @property
    def received(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.received)

    def reset(self) -> None:
        with self._state.lock:
            self._state.received.clear()
            self._state.answer = Answer()

    def start(self) -> ScriptedServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"scripted:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
