"""What the server sends when a fault fires: the answers that replace the vendor app's, the
changes made to the app's real answer, and the byte-by-byte drip.

Kept apart from ``server.py`` so the HTTP plumbing there stays about HTTP, and every fault's
wire behaviour can be read in one place. Which family a kind belongs to is decided in
``faults.py``; this module only says what each kind puts on the wire.
"""

from __future__ import annotations

import threading
from typing import Protocol

from mdmbridge.simulation.faults import Fault, FaultKind
from mdmbridge.simulation.messages import SimRequest, SimResponse, VendorApp

__all__ = ["PROXY_HTML", "alter_answer", "drip", "fault_answer"]

PROXY_HTML = (
    "<html><head><title>{status} Bad Gateway</title></head><body>"
    "<center><h1>{status} Bad Gateway</h1></center><hr><center>nginx</center>"
    "</body></html>"
)
ECHO_PREFIX = b"proxy error; request headers: Authorization: "


class _Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


def fault_answer(fault: Fault, request: SimRequest, app: VendorApp) -> SimResponse | None:
    """The answer a replacing fault sends instead of the app's, or None to let the app answer."""
    kind = fault.kind
    if kind is FaultKind.STATUS:
        response = app.error_response(fault.status, "simulated fault")
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response
    if kind is FaultKind.HTML:
        html = PROXY_HTML.format(status=fault.status).encode()
        return SimResponse(status=fault.status, body=html, content_type="text/html")
    if kind is FaultKind.NEST:
        # Two flat runs of brackets: no recursion, and 100,000 levels cost 200 KB.
        body = b"[" * fault.depth + b"]" * fault.depth
        return SimResponse(status=fault.status, body=body, content_type="application/json")
    if kind is FaultKind.BODY:
        return SimResponse(status=fault.status, body=fault.text, content_type="application/json")
    if kind is FaultKind.REDIRECT:
        # No Content-Type: a bare redirect, as load balancers send them.
        return SimResponse(
            status=fault.status, body=b"", content_type="", headers={"Location": fault.location}
        )
    if kind is FaultKind.ECHO_AUTH:
        # http.server decodes header bytes as latin-1, so encoding back gives the bytes sent.
        received = (request.headers.get("Authorization") or "").encode("latin-1", "replace")
        return SimResponse(
            status=fault.status, body=ECHO_PREFIX + received, content_type="text/plain"
        )
    return None


def alter_answer(fault: Fault, response: SimResponse) -> None:
    """Spoil the labels of the app's real answer (``charset``, ``bad_gzip``), body untouched."""
    if fault.kind is FaultKind.CHARSET:
        response.content_type = f"application/json; charset={fault.charset}"
    elif fault.kind is FaultKind.BAD_GZIP:
        response.headers["Content-Encoding"] = "gzip"


def drip(out: _Writable, data: bytes, delay_s: float, stopping: threading.Event) -> bool:
    """Send ``data`` one byte at a time, ``delay_s`` apart; True if every byte went out.

    Stops early, quietly, when the client hangs up or the server is stopping (checked
    between bytes, and the wait itself wakes on it), so a stopped simulator never leaves a
    thread dripping into a test's socket.
    """
    try:
        for index in range(len(data)):
            if stopping.is_set():
                return False
            out.write(data[index : index + 1])
            out.flush()
            if index + 1 < len(data) and stopping.wait(delay_s):
                return False
    except ConnectionError:  # BrokenPipe, ConnectionReset, ConnectionAborted
        return False
    return True
