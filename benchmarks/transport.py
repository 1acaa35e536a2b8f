"""The transport's CPU cost per request (issue 10): what one ezmdm page of 100 devices costs
the client, through our transport and through the HTTP stacks it could sit on.

    .venv/bin/python benchmarks/transport.py [--requests 400] [--runs 3] [--page-size 100]

The simulator runs in its own process, so the client's CPU clock (``time.process_time``,
every thread of the process, the deadline watchdog included) counts only the client. Each
variant fetches the same pages over one kept-alive connection, after a warm-up; each row
gives min and median of ``--runs`` runs, in µs of client CPU per request. The raw rows read
the body's bytes and stop there; the transport rows also decode the JSON, so the
``json decode only`` row is printed to subtract. Prints a table; asserts nothing beyond
every answer being a 200 with a page of the expected size.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable, Generator
from pathlib import Path

import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _sims import simulator  # type: ignore[import-not-found]

from mdmbridge.transport import SecretInPath, Transport
from mdmbridge.transport.body import decode_json

PAGES = 10  # the pages cycled through (all warmed up first, so the simulator has built them)
Fetch = Callable[[int], bytes | int]


def page_path(key: str) -> str:
    return f"/api/v1/{urllib.parse.quote(key, safe='')}/device"


def transport_variant(base: str, key: str, size: int) -> Generator[Fetch, None, None]:
    http = Transport(base_url=base, vendor="ezmdm", tenant="bench", auth=SecretInPath(key))
    path = page_path(key)

    def fetch(page: int) -> int:
        data = http.request("GET", path, params={"limit": size, "page": page}).data
        return len(data["data"])

    try:
        yield fetch
    finally:
        http.close()


def requests_plain(base: str, key: str, size: int) -> Generator[Fetch, None, None]:
    """What most code writes: a Session and ``session.get``."""
    session = requests.Session()
    url = base + page_path(key)

    def fetch(page: int) -> bytes:
        response = session.get(url, params={"limit": size, "page": page}, timeout=(5, 60))
        return response.content

    try:
        yield fetch
    finally:
        session.close()


def requests_send(base: str, key: str, size: int) -> Generator[Fetch, None, None]:
    """requests tuned: no environment (trust_env off), a request prepared by hand, and
    ``Session.send`` (hooks, cookie extraction and redirect resolution still run)."""
    session = requests.Session()
    session.trust_env = False
    url = base + page_path(key)
    headers = {"User-Agent": "bench", "Accept": "application/json"}

    def fetch(page: int) -> bytes:
        prepared = requests.Request(
            "GET", url, params={"limit": size, "page": page}, headers=headers
        ).prepare()
        response = session.send(prepared, timeout=(5, 60), allow_redirects=False, stream=True)
        return response.raw.read()

    try:
        yield fetch
    finally:
        session.close()


def requests_adapter(base: str, key: str, size: int) -> Generator[Fetch, None, None]:
    """requests tuned to the bone: one PreparedRequest copied and re-pointed per page, sent
    through the HTTPAdapter directly (no Session: no hooks, no cookie jar, no redirects)."""
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=8, max_retries=0)
    url = base + page_path(key)
    template = requests.Request(
        "GET", url, headers={"User-Agent": "bench", "Accept": "application/json"}
    ).prepare()

    def fetch(page: int) -> bytes:
        prepared = template.copy()
        prepared.url = f"{url}?limit={size}&page={page}"
        response = adapter.send(prepared, stream=True, timeout=(5, 60), verify=True)
        return response.raw.read()

    try:
        yield fetch
    finally:
        adapter.close()


def urllib3_poolmanager(base: str, key: str, size: int) -> Generator[Fetch, None, None]:
    manager = urllib3.PoolManager(maxsize=8, retries=False)
    url = base + page_path(key)
    timeout = urllib3.Timeout(connect=5, read=60)

    def fetch(page: int) -> bytes:
        response = manager.request(
            "GET",
            f"{url}?limit={size}&page={page}",
            headers={"User-Agent": "bench", "Accept": "application/json"},
            timeout=timeout,
            redirect=False,
            preload_content=False,
        )
        body = response.read()
        response.release_conn()
        return body

    try:
        yield fetch
    finally:
        manager.clear()


def urllib3_pool(base: str, key: str, size: int) -> Generator[Fetch, None, None]:
    parts = urllib.parse.urlsplit(base)
    pool = urllib3.HTTPConnectionPool(parts.hostname or "", parts.port, maxsize=8, retries=False)
    path = page_path(key)
    timeout = urllib3.Timeout(connect=5, read=60)

    def fetch(page: int) -> bytes:
        response = pool.urlopen(
            "GET",
            f"{path}?limit={size}&page={page}",
            headers={"User-Agent": "bench", "Accept": "application/json"},
            timeout=timeout,
            redirect=False,
            preload_content=False,
        )
        body = response.read()
        response.release_conn()
        return body

    try:
        yield fetch
    finally:
        pool.close()


def http_client(base: str, key: str, size: int) -> Generator[Fetch, None, None]:
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    path = page_path(key)

    def fetch(page: int) -> bytes:
        connection.request(
            "GET",
            f"{path}?limit={size}&page={page}",
            headers={"User-Agent": "bench", "Accept": "application/json"},
        )
        return connection.getresponse().read()

    try:
        yield fetch
    finally:
        connection.close()


VARIANTS: dict[str, Callable[[str, str, int], Generator[Fetch, None, None]]] = {
    "mdmbridge Transport.request (decodes JSON)": transport_variant,
    "requests Session.get": requests_plain,
    "requests tuned: Session.send(prepared)": requests_send,
    "requests tuned: HTTPAdapter.send": requests_adapter,
    "urllib3 PoolManager.request": urllib3_poolmanager,
    "urllib3 HTTPConnectionPool.urlopen": urllib3_pool,
    "http.client HTTPConnection": http_client,
}


def check(answer: bytes | int, size: int) -> None:
    count = answer if isinstance(answer, int) else len(json.loads(answer)["data"])
    assert count == size, f"a page held {count} items, not {size}"


def run(fetch: Fetch, requests_per_run: int, size: int) -> float:
    """µs of this process's CPU per request, over ``requests_per_run`` requests."""
    check(fetch(1), size)
    for page in range(1, PAGES + 1):  # warm-up: connection open, every page built once
        fetch(page)
    started = time.process_time()
    for n in range(requests_per_run):
        fetch(n % PAGES + 1)
    return (time.process_time() - started) / requests_per_run * 1e6


def decode_only(base: str, key: str, size: int, count: int) -> float:
    client = http_client(base, key, size)
    body = next(client)(1)
    client.close()
    assert isinstance(body, bytes)
    content_type = "application/json; charset=utf-8"
    started = time.process_time()
    for _ in range(count):
        decode_json(body, content_type)
    return (time.process_time() - started) / count * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--only", default="", help="comma-separated substrings of variants")
    args = parser.parse_args()
    size = args.page_size
    with simulator("ezmdm", devices=size * PAGES) as settings:
        base, key = settings["base_url"], settings["api_key"]
        print(
            f"ezmdm simulator (own process), pages of {size} devices, {args.requests} "
            f"requests a run, {args.runs} runs; client CPU µs per request"
        )
        print(f"{'variant':<46} {'min µs':>8} {'median µs':>10} {'µs/device':>10}")
        rows = [
            name
            for name in VARIANTS
            if not args.only or any(part in name for part in args.only.split(","))
        ]
        for name in rows:
            figures = []
            for _ in range(args.runs):
                variant = VARIANTS[name](base, key, size)
                fetch = next(variant)
                try:
                    figures.append(run(fetch, args.requests, size))
                finally:
                    variant.close()
            low, mid = min(figures), statistics.median(figures)
            print(f"{name:<46} {low:>8.0f} {mid:>10.0f} {mid / size:>10.2f}")
        figures = [decode_only(base, key, size, args.requests) for _ in range(args.runs)]
        low, mid = min(figures), statistics.median(figures)
        print(
            f"{'json decode only (decode_json of one page)':<46} {low:>8.0f} {mid:>10.0f}"
            f" {mid / size:>10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
