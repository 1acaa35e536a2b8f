"""One small threaded HTTP/1.1 server shared by every vendor simulator.

It is built on ``http.server`` rather than a WSGI server because some of the faults we must
reproduce, a dropped connection, a body cut off after its headers, an answer dripped one
byte at a time, need control of the socket that WSGI hides. What each fault sends is in
``fault_writer.py``; the request and response objects are in ``messages.py``.

Keep-alive is on (HTTP/1.1) so clients pool connections as they would against a real
vendor, and bodies may be streamed in chunks so a 200,000-device listing never has to exist
as one string.
"""

from __future__ import annotations

import collections
import io
import json
import logging
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mdmbridge.simulation.fault_writer import alter_answer, drip, fault_answer
from mdmbridge.simulation.faults import Fault, FaultKind, Faults
from mdmbridge.simulation.messages import BadRequest, SimRequest, SimResponse, VendorApp

__all__ = [
    "BadRequest",
    "RecordedRequest",
    "RunningSimulator",
    "SimRequest",
    "SimResponse",
    "SimServer",
    "VendorApp",
    "iter_json_array",
    "pick_credentials",
]

log = logging.getLogger("mdmbridge.simulation")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    status: int | None  # None when the connection was dropped


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK
    # adds ~40 ms to every keep-alive request, which would distort every benchmark.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request log below replaces stderr chatter

    def _dispatch(self) -> None:
        sim = self.server.sim
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = SimRequest(
            method=self.command.upper(),
            path=urllib.parse.unquote(split.path),
            raw_path=split.path,
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
        )
        gate, sim.gate = sim.gate, None
        if gate is not None:
            try:
                gate.wait()
            except threading.BrokenBarrierError:  # the others never came: not concurrent
                sim.record(request, 400)  # a 4xx: never retried, so the client sees it
                self._write(
                    SimResponse(400, b"gate broken: requests were not concurrent"), truncate=False
                )
                return
        if sim.faults.latency_s:
            time.sleep(sim.faults.latency_s)
        selection = sim.faults.select(request.method, request.path)
        for rule in selection.delays:
            time.sleep(rule.delay_s)
        request.faults = selection.shaping
        failure = selection.failure
        if failure is not None and failure.kind is FaultKind.DROP:
            sim.record(request, None)
            self.close_connection = True
            return
        response = self._respond_to(sim, request, failure)
        sim.record(request, response.status)
        if failure is not None and failure.kind is FaultKind.DRIP:
            self._drip(response, failure, sim.stopping)
            return
        truncate = failure is not None and failure.kind is FaultKind.TRUNCATE
        self._write(response, truncate=truncate)

    def _respond_to(
        self, sim: SimServer, request: SimRequest, failure: Fault | None
    ) -> SimResponse:
        if failure is not None:
            replaced = fault_answer(failure, request, sim.app)
            if replaced is not None:
                return replaced
        try:
            response = sim.app.handle(request)
        except BadRequest as exc:
            response = sim.app.error_response(400, str(exc))
        except Exception:  # a simulator bug: answer like a real server would, and say so
            log.exception("simulator error on %s %s", request.method, request.path)
            response = sim.app.error_response(500, "internal server error")
        if failure is not None:
            alter_answer(failure, response)
        return response

    def _drip(self, response: SimResponse, failure: Fault, stopping: threading.Event) -> None:
        """Render the whole answer as it would go out, then send it one byte at a time."""
        rendered = io.BytesIO()
        real, self.wfile = self.wfile, rendered
        try:
            self._write(response, truncate=False)
        finally:
            self.wfile = real
        if not drip(real, rendered.getvalue(), failure.delay_s, stopping):
            self.close_connection = True  # the client hung up, or the server is stopping

    def _write(self, response: SimResponse, *, truncate: bool) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.chunks is not None and not truncate:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in response.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = response.body if response.body is not None else b"".join(response.chunks or ())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if truncate:
            self.wfile.write(body[: max(1, len(body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    sim: SimServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hang up mid-answer (timeouts, abandoned streams): normal, not news."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        log.error("simulator connection error from %s", client_address, exc_info=True)


class SimServer:
    """A vendor simulator on a loopback port, in a background thread.

    ``with SimServer(app) as sim: ... sim.base_url ...``. ``sim.faults`` switches faults on
    and off while it runs; ``sim.count("PUT")`` counts what reached it (writes included), which
    is how tests prove a dry run wrote nothing.
    """

    def __init__(self, app: VendorApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.faults = Faults()
        self._server = _Server((host, port), _Handler)
        self._server.sim = self
        self._thread: threading.Thread | None = None
        # Set by stop(): long-running answers (drip) check it, so no thread outlives the server.
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        self.log: collections.deque[RecordedRequest] = collections.deque(maxlen=50_000)
        # A test's proof of concurrency, not a timing: each server's next request waits here
        # until every server sharing the barrier has one in flight (then the gate opens).
        self.gate: threading.Barrier | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimServer:
        if self._thread is None:
            self._thread = threading.Thread(
                # A short poll interval: stop() waits for it, and tests start hundreds of servers.
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sim:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, request: SimRequest, status: int | None) -> None:
        with self._lock:
            self._counts[request.method] += 1
            self.log.append(RecordedRequest(request.method, request.path, status))

    def count(self, *methods: str) -> int:
        """Requests received, optionally only those with the given methods."""
        with self._lock:
            if not methods:
                return sum(self._counts.values())
            return sum(self._counts[m.upper()] for m in methods)

    def writes(self) -> int:
        """Requests that could change state: anything but GET/HEAD."""
        with self._lock:
            return sum(n for m, n in self._counts.items() if m not in {"GET", "HEAD"})

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self.log.clear()

    def serve_until_interrupted(self) -> None:
        """Block the calling thread until Ctrl-C; for ``python -m`` and ``mdmbridge simulate``."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


def pick_credentials(
    vendor: str, given: Mapping[str, str] | None, defaults: dict[str, str]
) -> dict[str, str]:
    """The simulator's credentials: ``defaults`` overridden by ``given``, unknown keys refused."""
    from mdmbridge.errors import ConfigError

    given = dict(given or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(f"the {vendor} simulator takes {', '.join(defaults)}, not {unknown[0]}")
    return defaults | given


@dataclass
class RunningSimulator:
    """A started simulator plus the ``mdmbridge.connect`` settings that reach it."""

    server: SimServer
    settings: dict[str, Any]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def iter_json_array(items: Iterable[Any], *, batch: int = 500) -> Iterator[bytes]:
    """Serialise a JSON array compactly in chunks, so huge listings stream from the server."""
    yield b"["
    first = True
    buffer: list[str] = []
    for item in items:
        text = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        buffer.append(text if first else "," + text)
        first = False
        if len(buffer) >= batch:
            yield "".join(buffer).encode("utf-8")
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode("utf-8")
    yield b"]"
